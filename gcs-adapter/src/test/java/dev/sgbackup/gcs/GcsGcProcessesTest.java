package dev.sgbackup.gcs;

import dev.sgbackup.GcProcessesTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two deduplicated backups and a prune in three JVMs on one bucket of the GCS fake (conditional creates with
 * {@code ifGenerationMatch=0}, as GCS documents them): the workers open {@code gs://} by URI with
 * {@code STORAGE_EMULATOR_HOST} pointing at the fake in this JVM, which then verifies and restores every backup they
 * committed.
 */
class GcsGcProcessesTest {
    @TempDir
    Path tmp;

    @Test
    void twoBackupsAndAPruneInSeparateProcessesOnOneBucket() throws Exception {
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            GcsSink sink = GcsSink.builder("backups").prefix("sg").emulatorHost(fake.hostPort())
                    .environment(Support.env(Map.of(), tmp)).retry(5, Duration.ofMillis(5), Duration.ofMillis(50)).build();
            GcProcessesTest.runWorkersAndCheck(sink, "gs://backups/sg", Map.of("STORAGE_EMULATOR_HOST", fake.hostPort()));
        }
    }

    /**
     * Backup processes killed (SIGKILL) inside a backup, and a prune process killed mid-sweep, then checked and
     * recovered: {@link GcProcessesTest#killBackupsAndCheck}, {@link GcProcessesTest#killPrunesAndCheck}.
     */
    @Test
    void backupAndPruneProcessesKilledMidWayLeaveTheBucketConsistent() throws Exception {
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            GcsSink sink = GcsSink.builder("backups").prefix("sg").emulatorHost(fake.hostPort())
                    .environment(Support.env(Map.of(), tmp)).retry(5, Duration.ofMillis(5), Duration.ofMillis(50)).build();
            GcProcessesTest.killBackupsAndCheck(sink, "gs://backups/sg", Map.of("STORAGE_EMULATOR_HOST", fake.hostPort()), -20);
            GcProcessesTest.killPrunesAndCheck(sink, "gs://backups/sg", Map.of("STORAGE_EMULATOR_HOST", fake.hostPort()), "index changed");
        }
    }
}
