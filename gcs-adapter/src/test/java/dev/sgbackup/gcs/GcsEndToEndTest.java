package dev.sgbackup.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.gcs.FakeGcs.Fault;
import dev.sgbackup.gcs.FakeGcs.Kind;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.volume.VolumeStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine backs up, lists, verifies and restores a volume through a GcsSink on the fake, with faults on the way. */
class GcsEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void backupVerifyRestoreThroughTheFake() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src/repos/github.com/acme"));
        Files.writeString(src.resolve("README.md"), "hello\n");
        Files.write(src.resolve("pack.bin"), Support.data(3 * 1024 * 1024 + 7, 99)); // incompressible: several chunks
        Files.createDirectories(src.resolve("empty-dir"));
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            fake.shortPersistEvery = 2;
            fake.script(Kind.CHUNK, Fault.PARTIAL_THEN_DISCONNECT, 1, 0);
            fake.fail(Kind.CHUNK, 1, 503);
            GcsSink sink = GcsSink.builder("backups").prefix("sourcegraph/test").emulatorHost(fake.hostPort())
                    .environment(Support.env(Map.of(), tmp)).chunkSize(FakeGcs.Q)
                    .retry(5, Duration.ofMillis(5), Duration.ofMillis(50)).build();
            SgBackup sg = SgBackup.to(sink);
            RunResult backup = sg.backup(VolumeStore.of("repos", tmp.resolve("src")));
            assertThat(backup.ok()).as(backup.toString()).isTrue();
            assertThat(sg.list()).hasSize(1);
            assertThat(fake.count(Kind.STATUS)).as("the broken chunks were resumed").isGreaterThanOrEqualTo(2);

            VerifyReport report = sg.verify(backup.backupId());
            assertThat(report.ok()).as(report.toString()).isTrue();

            Path dst = tmp.resolve("dst");
            RunResult restore = sg.restore(backup.backupId(), RestoreOptions.defaults(), VolumeStore.of("repos", dst));
            assertThat(restore.ok()).as(restore.toString()).isTrue();
            assertThat(tree(dst)).isEqualTo(tree(tmp.resolve("src")));
        }
    }

    @Test
    void dedupBackupsRoundTripThroughTheFake() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src/repos"));
        Files.write(src.resolve("pack.bin"), Support.data(5 * 1024 * 1024, 7));
        Files.writeString(src.resolve("README.md"), "hello\n");
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            GcsSink sink = GcsSink.builder("backups").prefix("sourcegraph/dedup").emulatorHost(fake.hostPort())
                    .environment(Support.env(Map.of(), tmp)).retry(5, Duration.ofMillis(5), Duration.ofMillis(50)).build();
            SgBackup sg = SgBackup.builder().sink(sink).dedup(true).build();
            RunResult first = sg.backup(VolumeStore.of("repos", tmp.resolve("src")));
            Files.writeString(src.resolve("README.md"), "hello again\n");
            RunResult second = sg.backup(VolumeStore.of("repos", tmp.resolve("src")));
            assertThat(sink.stat("dedup/config")).isPresent();
            var m = sg.show(second.backupId());
            assertThat(m.artifacts().stream().mapToLong(a -> a.chunks().newBytes()).sum()).isLessThan(m.size() / 2);
            assertThat(sg.verify(first.backupId()).ok()).isTrue();
            assertThat(sg.verify(second.backupId()).ok()).isTrue();

            Path dst = tmp.resolve("dst");
            RunResult restore = sg.restore(second.backupId(), RestoreOptions.defaults(), VolumeStore.of("repos", dst));
            assertThat(restore.ok()).as(restore.toString()).isTrue();
            assertThat(tree(dst)).isEqualTo(tree(tmp.resolve("src")));
        }
    }

    static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                m.put(rel, Files.isDirectory(p) ? "dir" : Integer.toHexString(java.util.Arrays.hashCode(Files.readAllBytes(p))));
            }
        }
        return m;
    }
}
