package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore reads the chunks a backup stored back to back in one pack (a directory's small files) with one ranged read
 * per run, not one per chunk; a damaged chunk inside such a run is still named, with its pack, and the restore leaves
 * its target as it was.
 */
class DedupRestoreRunsTest {
    @TempDir
    Path tmp;

    @Test
    void smallFilesComeBackInFewReadsAndADamagedOneIsNamed() throws Exception {
        Path src = tmp.resolve("src");
        Random random = new Random(5);
        for (int d = 0; d < 3; d++) {
            Files.createDirectories(src.resolve("d" + d));
            for (int f = 0; f < 100; f++) {
                byte[] b = new byte[500 + random.nextInt(3000)];
                random.nextBytes(b); // incompressible: each file is its own chunk of known size
                Files.write(src.resolve("d" + d + "/f" + f), b);
            }
        }
        Path sinkDir = tmp.resolve("sink");
        DedupVerifyTest.CountingSink sink = new DedupVerifyTest.CountingSink(Sinks.local(sinkDir));
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).build();
        RunResult backup = sg.backup(Stores.directory("data", src));
        assertThat(backup.ok()).as(backup.toString()).isTrue();

        sink.reset();
        Path target = tmp.resolve("restored");
        RunResult restore = sg.restore(backup.backupId(), RestoreOptions.defaults(), Stores.directory("data", target));
        assertThat(restore.ok()).as(restore.toString()).isTrue();
        for (int d = 0; d < 3; d++) {
            for (int f = 0; f < 100; f++) {
                String rel = "d" + d + "/f" + f;
                assertThat(Files.readAllBytes(target.resolve(rel))).as(rel).isEqualTo(Files.readAllBytes(src.resolve(rel)));
            }
        }
        // 300 file chunks and the content table's chunks (read by the pre-check and by the stream), which lie between
        // the directories' files in the pack: runs of back-to-back chunks are one read each (21 when written), where
        // one read per chunk made more than 300
        assertThat(sink.rangedPackReads).as("ranged pack reads for 300 small files").hasSizeBetween(2, 40);

        // one byte flipped in the middle of the pack, inside a run of small files' chunks
        Path pack;
        try (Stream<Path> s = Files.walk(sinkDir.resolve("dedup/packs"))) {
            pack = s.filter(Files::isRegularFile).max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(pack);
        bytes[bytes.length / 2] ^= 1;
        Files.write(pack, bytes);
        Path second = tmp.resolve("second");
        assertThatThrownBy(() -> sg.restore(backup.backupId(), RestoreOptions.defaults(), Stores.directory("data", second)))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("in pack " + pack.getFileName())
                .hasMessageMatching("(?s).*chunk [0-9a-f]{64} in pack .*");
        assertThat(!Files.exists(second) || isEmpty(second)).as("the failed restore left its target as it was").isTrue();
    }

    private static boolean isEmpty(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
