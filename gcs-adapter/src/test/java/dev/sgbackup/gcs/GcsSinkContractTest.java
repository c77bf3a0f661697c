package dev.sgbackup.gcs;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkContractTest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The core's sink contract against the GCS fake, with bearer-token auth required, 1 MiB chunks and GCS's habit
 * of sometimes persisting less than a chunk turned on, so the contract runs through the paths real GCS takes.
 */
class GcsSinkContractTest extends SinkContractTest {
    @TempDir
    static Path tmp;
    FakeGcs fake;
    final AtomicInteger sinks = new AtomicInteger();

    @AfterEach
    void stopFake() throws IOException {
        if (fake != null) {
            fake.close();
            fake = null;
        }
    }

    @Override
    protected BackupSink newSink(int listPageSize) throws Exception {
        if (fake == null) {
            fake = new FakeGcs(java.nio.file.Files.createTempDirectory(tmp, "fake")).bucket("contract");
            fake.shortPersistEvery = 3;
            fake.requireAuth = true;
            fake.acceptToken("ya29.contract-token", java.time.Instant.now().plusSeconds(3600));
        }
        return GcsSink.builder("contract")
                .prefix("run-" + sinks.incrementAndGet())
                .endpoint(fake.server.url("/").toString())
                .credentials(GcsCredentials.token("ya29.contract-token"))
                .environment(Support.env(Map.of(), tmp))
                .chunkSize(1024 * 1024)
                .listPageSize(listPageSize)
                .retry(5, Duration.ofMillis(10), Duration.ofMillis(100))
                .build();
    }
}
