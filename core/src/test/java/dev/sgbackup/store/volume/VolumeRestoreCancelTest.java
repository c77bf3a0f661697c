package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A restore interrupted half-way (Ctrl-C in the CLI) leaves the target exactly as it was. */
class VolumeRestoreCancelTest {
    @TempDir
    Path tmp;

    @Test
    void interruptedRestoreLeavesTheTargetAsItWas() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("big.img").toFile(), "rw")) {
            f.setLength(3L << 29); // sparse: large to restore, free to create
        }
        SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).compression(Compression.gzip(1)).build();
        String id = sg.backup(VolumeStore.of("v", src)).backupId();

        Path target = Files.createDirectories(tmp.resolve("target"));
        Files.writeString(target.resolve("keep.txt"), "old contents");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                sg.restore(id, new RestoreOptions(true, false), VolumeStore.of("v", target));
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        // wait until the restore is writing its staging directory, then interrupt it
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline && !staging(target)) {
            Thread.sleep(10);
        }
        assertThat(staging(target)).as("the restore started staging").isTrue();
        t.interrupt();
        t.join(120_000);
        assertThat(t.isAlive()).isFalse();
        assertThatThrownBy(() -> {
            throw failure.get();
        }).isInstanceOf(CancelledException.class);
        try (Stream<Path> s = Files.list(target)) {
            List<String> names = s.map(p -> p.getFileName().toString()).toList();
            assertThat(names).containsExactly("keep.txt");
        }
        assertThat(Files.readString(target.resolve("keep.txt"))).isEqualTo("old contents");
    }

    private static boolean staging(Path target) throws Exception {
        try (Stream<Path> s = Files.list(target)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(".sgbackup-"));
        }
    }
}
