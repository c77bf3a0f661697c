package dev.sgbackup.examples.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database dedup benchmark at smoke size on an embedded server, with a split size that cuts event_logs into
 * key-range parts: every scenario runs, every ratio line is printed and the last key-order backup restores exactly.
 * The ratios themselves mean little at this size (the first backup is a few MiB, a chunk is 1 MiB on average).
 */
class PostgresDedupBenchmarkSmokeTest {
    @TempDir
    Path work;

    @Test
    void smokeRun() throws Exception {
        EmbeddedPostgres pg = dev.sgbackup.examples.EmbeddedPg.server();
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            PostgresDedupBenchmark.main(new String[] {"--url", "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres",
                    "--rows", "20000", "--split-bytes", "1048576", "--copy-runs", "1", "--check-restore", "--work", work.toString()});
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertThat(out).contains("restore of the last key-order backup: content checked")
                .containsPattern("ratio db_dedup_append_1pct_key_order [0-9.]+ target 0.05 (PASS|FAIL)")
                .contains("ratio db_dedup_harder_update_1pct_delete_2pct_vacuum_physical_order")
                .contains("ratio db_dedup_aged_heap_retention_2pct_vacuum_append_1pct_key_order")
                .contains("ratio db_copy_key_order_time_vs_physical")
                .contains("ratio db_dedup_first_backup_time_vs_full_zstd_key_order");
    }
}
