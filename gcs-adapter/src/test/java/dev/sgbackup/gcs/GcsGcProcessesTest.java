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
        onFakeBucket((sink, uri, env) -> GcProcessesTest.runWorkersAndCheck(sink, uri, env));
    }

    /**
     * Backup processes killed (SIGKILL) inside a backup, and a prune process killed mid-sweep, then checked and
     * recovered: {@link GcProcessesTest#killBackupsAndCheck}, {@link GcProcessesTest#killPrunesAndCheck}.
     */
    @Test
    void backupAndPruneProcessesKilledMidWayLeaveTheBucketConsistent() throws Exception {
        onFakeBucket((sink, uri, env) -> {
            GcProcessesTest.killBackupsAndCheck(sink, uri, env, -20);
            GcProcessesTest.killPrunesAndCheck(sink, uri, env, "index changed");
        });
    }

    private interface OnBucket {
        void run(GcsSink sink, String uri, Map<String, String> workerEnv) throws Exception;
    }

    /**
     * Runs {@code test} on bucket "backups" of a new fake: given as a sink in this JVM, and as the URI and environment a
     * worker opens it by.
     */
    private void onFakeBucket(OnBucket test) throws Exception {
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            GcsSink sink = GcsSink.builder("backups").prefix("sg").emulatorHost(fake.hostPort())
                    .environment(Support.env(Map.of(), tmp)).retry(5, Duration.ofMillis(5), Duration.ofMillis(50)).build();
            test.run(sink, "gs://backups/sg", Map.of("STORAGE_EMULATOR_HOST", fake.hostPort()));
        }
    }
}
