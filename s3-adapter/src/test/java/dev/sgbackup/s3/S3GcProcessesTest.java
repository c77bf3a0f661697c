package dev.sgbackup.s3;

import dev.sgbackup.GcProcessesTest;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two deduplicated backups and a prune in three JVMs on one bucket of a real S3 server (S3Proxy): the lease protocol
 * and conditional creates as two machines would meet them. The workers open the sink by URI, as the CLI does, with
 * the credentials in their environment; this JVM then verifies and restores every backup they committed.
 */
class S3GcProcessesTest {
    @Test
    void twoBackupsAndAPruneInSeparateProcessesOnOneBucket() throws Exception {
        onNewBucket((sink, uri) -> GcProcessesTest.runWorkersAndCheck(sink, uri, credentials()));
    }

    /**
     * Backup processes killed (SIGKILL) inside a backup, and a prune process killed mid-sweep, then checked and
     * recovered: {@link GcProcessesTest#killBackupsAndCheck}, {@link GcProcessesTest#killPrunesAndCheck}.
     */
    @Test
    void backupAndPruneProcessesKilledMidWayLeaveTheBucketConsistent() throws Exception {
        onNewBucket((sink, uri) -> {
            GcProcessesTest.killBackupsAndCheck(sink, uri, credentials(), -1, -20); // fixed moments: the local test
            GcProcessesTest.killPrunesAndCheck(sink, uri, credentials(), "index changed");
        });
    }

    private interface OnBucket {
        void run(S3Sink sink, String uri) throws Exception;
    }

    /** Runs {@code test} on a new bucket, given as a sink in this JVM and as the URI a worker opens it by. */
    private static void onNewBucket(OnBucket test) throws Exception {
        S3ProxyServer server = S3ProxyServer.get();
        String bucket = server.newBucket();
        String uri = "s3://" + bucket + "/sg?region=us-east-1&endpoint=" + URLEncoder.encode(server.endpoint, StandardCharsets.UTF_8);
        try (S3Sink sink = server.sinkBuilder(bucket).prefix("sg").build()) {
            test.run(sink, uri);
        }
    }

    private static Map<String, String> credentials() {
        return Map.of("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY,
                "AWS_EC2_METADATA_DISABLED", "true");
    }
}
