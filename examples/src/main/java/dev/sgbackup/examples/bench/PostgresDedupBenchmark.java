package dev.sgbackup.examples.bench;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PostgresStore;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * Deduplicated backups of a Sourcegraph 5.11 frontend database (issue #14's database targets), in primary-key order
 * (the default for dedup backups) and in physical order ({@code PostgresStore.Builder.dedupKeyOrder(false)}), each
 * into its own local sink:
 *
 * <ol>
 *     <li>a first dedup backup of each, timed against a full zstd JDBC backup of the same database (orientation);</li>
 *     <li>{@code append}: 1% more event_logs rows, then a second backup: bytes it added to the sink / the first
 *     backup's stored bytes, target ≤ 0.05 (key order);</li>
 *     <li>{@code harder}: 1% of event_logs rows updated, scattered over the table (every row whose
 *     {@code hashtext(id)} is 0 mod 100), the oldest 2% deleted (retention), {@code VACUUM}, a third backup
 *     (no target: both orders are printed);</li>
 *     <li>{@code after-vacuum append}: 1% more rows again, which physical order now finds in the space VACUUM freed
 *     all over the heap, a fourth backup (no target);</li>
 *     <li>{@code recent-rows update}: the newest 1% of rows updated, {@code VACUUM}, a fifth backup (no target);</li>
 *     <li>{@code rewrite}: {@code CLUSTER event_logs USING event_logs_user_id_name}, a table rewrite into an order
 *     unrelated to the key, as an old heap has after years of updates and VACUUM (no target);</li>
 *     <li>{@code aged heap}: on that heap, the oldest 2% deleted (now all over the heap), {@code VACUUM}, 1% more rows
 *     (no target).</li>
 * </ol>
 * It also times a plain COPY of event_logs to nowhere in physical and in key order (median of {@code --copy-runs}).
 * Byte ratios come from one run per scenario: they do not depend on timing.
 *
 * <pre>
 * java -cp sgbackup.jar dev.sgbackup.examples.bench.PostgresDedupBenchmark \
 *     --url jdbc:postgresql://localhost:5432/postgres?user=postgres [--full] [--rows N] [--work DIR]
 *     [--split-bytes N] [--copy-runs N] [--check-restore]
 * </pre>
 * Default: a smoke size (20 000 event_logs rows); {@code --full}: 3 000 000 rows (≥ 1.5 GiB). {@code --check-restore}
 * restores the last key-order backup into a freshly migrated database and compares every table's content.
 */
public final class PostgresDedupBenchmark {
    private final PostgresBenchmark pg;
    private final Path work;
    private final Path schema;
    private final long splitBytes;
    private String lastKeyBackup;

    private PostgresDedupBenchmark(PostgresBenchmark pg, Path work, Path schema, long splitBytes) {
        this.pg = pg;
        this.work = work;
        this.schema = schema;
        this.splitBytes = splitBytes;
    }

    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("SGBACKUP_BENCH_URL", "jdbc:postgresql://localhost:5432/postgres");
        long rows = 20_000;
        long split = 256L << 20;
        int copyRuns = 3;
        boolean checkRestore = false;
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "sgbackup-pg-dedup-bench");
        Path schema = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--url" -> url = args[++i];
                case "--full" -> rows = 3_000_000;
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--schema" -> schema = Path.of(args[++i]);
                case "--split-bytes" -> split = Long.parseLong(args[++i]);
                case "--copy-runs" -> copyRuns = Integer.parseInt(args[++i]);
                case "--check-restore" -> checkRestore = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: --url JDBC_URL"
                        + " [--full] [--rows N] [--work DIR] [--schema FILE] [--split-bytes N] [--copy-runs N] [--check-restore]");
            }
        }
        if (schema == null) {
            schema = PostgresBenchmark.locateSchema();
        }
        new PostgresDedupBenchmark(new PostgresBenchmark(url, work), work, schema, split).run(rows, copyRuns, checkRestore);
    }

    private static final String DB = "bench_src";

    private void run(long rows, int copyRuns, boolean checkRestore) throws Exception {
        PostgresBenchmark.deleteTree(work);
        Files.createDirectories(work);
        System.out.printf("PostgreSQL dedup benchmark: %,d event_logs rows, split bytes %,d, work dir %s%n", rows, splitBytes, work);
        System.out.println("load average at start: " + loadAverage());
        pg.createDb(DB, schema);
        long t0 = System.nanoTime();
        pg.generate(rows); // fills bench_src
        long dbSize = pg.scalar(DB, "SELECT pg_database_size(current_database())");
        long heap = pg.scalar(DB, "SELECT pg_relation_size('event_logs')");
        System.out.printf("generated in %.1f s: database %s, event_logs heap %s%n", secs(t0), PostgresBenchmark.mib(dbSize),
                PostgresBenchmark.mib(heap));

        copyTimes(copyRuns);

        Path fullSink = work.resolve("sink-full");
        Path keySink = work.resolve("sink-dedup-key");
        Path physSink = work.resolve("sink-dedup-physical");
        SgBackup full = SgBackup.builder().sink(Sinks.local(fullSink)).compression("zstd").parallelism(2).build();
        SgBackup key = SgBackup.builder().sink(Sinks.local(keySink)).dedup(true).parallelism(2).build();
        SgBackup phys = SgBackup.builder().sink(Sinks.local(physSink)).dedup(true).parallelism(2).build();

        pg.checkpoint();
        double tFull = time(() -> check(full.backup(store(true))));
        pg.checkpoint();
        double tKey = time(() -> check(key.backup(store(true))));
        pg.checkpoint();
        double tPhys = time(() -> check(phys.backup(store(false))));
        long key1 = PostgresBenchmark.treeSize(keySink);
        long phys1 = PostgresBenchmark.treeSize(physSink);
        System.out.printf("first backups (one run each): full zstd JDBC %.1f s %s; dedup key order %.1f s %s; dedup physical"
                        + " order %.1f s %s%n", tFull, PostgresBenchmark.mib(PostgresBenchmark.treeSize(fullSink)), tKey,
                PostgresBenchmark.mib(key1), tPhys, PostgresBenchmark.mib(phys1));

        long users = Math.max(100, rows / 1000);
        long repos = Math.max(100, rows / 100);
        long step = Math.max(1, rows / 100);

        // (a) 1% more rows
        long max = pg.scalar(DB, "SELECT max(id) FROM event_logs");
        pg.exec(DB, PostgresBenchmark.insertEvents(max + 1, max + step, users, repos), "VACUUM (ANALYZE) event_logs");
        long[] append = backupBoth(key, phys, key1, phys1, "append");

        // (b) the harder case: 1% updated in place, scattered; the oldest 2% deleted; VACUUM
        long min = pg.scalar(DB, "SELECT min(id) FROM event_logs");
        pg.exec(DB, "UPDATE event_logs SET argument = argument || '{\"edited\": true}'::jsonb, version = '5.11.6272'"
                        + " WHERE abs(hashtext(id::text)) % 100 = 0",
                "DELETE FROM event_logs WHERE id < " + (min + 2 * step),
                "VACUUM (ANALYZE) event_logs");
        long[] harder = backupBoth(key, phys, key1, phys1, "harder");

        // (c) 1% more rows after that VACUUM: physical order finds them in the freed space
        max = pg.scalar(DB, "SELECT max(id) FROM event_logs");
        pg.exec(DB, PostgresBenchmark.insertEvents(max + 1, max + step, users, repos), "VACUUM (ANALYZE) event_logs");
        long[] after = backupBoth(key, phys, key1, phys1, "after-vacuum append");

        // (d) 1% of the rows updated, all among the newest (recent events edited): physical order puts the new
        // versions in space VACUUM freed elsewhere, key order keeps them where their keys are
        max = pg.scalar(DB, "SELECT max(id) FROM event_logs");
        pg.exec(DB, "UPDATE event_logs SET argument = argument || '{\"edited\": true}'::jsonb, version = '5.11.6272'"
                        + " WHERE id > " + (max - step),
                "VACUUM (ANALYZE) event_logs");
        long[] recent = backupBoth(key, phys, key1, phys1, "recent-rows update");

        // (e) a table rewrite (CLUSTER, VACUUM FULL, pg_repack) into an order unrelated to the key, as years of
        // updates and VACUUM leave a heap: the key-order stream does not change at all
        pg.exec(DB, "CLUSTER event_logs USING event_logs_user_id_name", "ANALYZE event_logs");
        long[] rewrite = backupBoth(key, phys, key1, phys1, "rewrite (CLUSTER by user)");

        // (f) on that heap, retention deletes the oldest 2% (now all over the heap), VACUUM, 1% more rows: they fill
        // the freed space all over the heap in physical order, and go to the end in key order
        min = pg.scalar(DB, "SELECT min(id) FROM event_logs");
        max = pg.scalar(DB, "SELECT max(id) FROM event_logs");
        pg.exec(DB, "DELETE FROM event_logs WHERE id < " + (min + 2 * step), "VACUUM (ANALYZE) event_logs",
                PostgresBenchmark.insertEvents(max + 1, max + step, users, repos), "VACUUM (ANALYZE) event_logs");
        long[] aged = backupBoth(key, phys, key1, phys1, "aged heap: retention 2%, VACUUM, append 1%");

        if (checkRestore) {
            Map<String, String> expected = pg.content(DB);
            pg.createDb("bench_dedup_restore", schema);
            String last = lastKeyBackup;
            check(key.restore(last, new RestoreOptions(true, false),
                    PostgresStore.builder("frontend", pg.url("bench_dedup_restore")).mode(PostgresStore.Mode.JDBC).build()));
            Map<String, String> actual = pg.content("bench_dedup_restore");
            if (!expected.equals(actual)) {
                throw new IllegalStateException("restore of the last key-order backup differs from the source");
            }
            System.out.println("restore of the last key-order backup: content checked (" + expected.size() + " tables)");
        }

        System.out.println();
        System.out.println("load average at end: " + loadAverage());
        System.out.println("byte ratios: one run per scenario (bytes added to the sink / first backup's stored bytes)");
        ratio("db_dedup_append_1pct_key_order", (double) append[0] / key1, "0.05");
        ratio("db_dedup_append_1pct_physical_order", (double) append[1] / phys1, "none");
        ratio("db_dedup_harder_update_1pct_delete_2pct_vacuum_key_order", (double) harder[0] / key1, "none");
        ratio("db_dedup_harder_update_1pct_delete_2pct_vacuum_physical_order", (double) harder[1] / phys1, "none");
        ratio("db_dedup_append_1pct_after_vacuum_key_order", (double) after[0] / key1, "none");
        ratio("db_dedup_append_1pct_after_vacuum_physical_order", (double) after[1] / phys1, "none");
        ratio("db_dedup_update_1pct_newest_key_order", (double) recent[0] / key1, "none");
        ratio("db_dedup_update_1pct_newest_physical_order", (double) recent[1] / phys1, "none");
        ratio("db_dedup_table_rewrite_cluster_key_order", (double) rewrite[0] / key1, "none");
        ratio("db_dedup_table_rewrite_cluster_physical_order", (double) rewrite[1] / phys1, "none");
        ratio("db_dedup_aged_heap_retention_2pct_vacuum_append_1pct_key_order", (double) aged[0] / key1, "none");
        ratio("db_dedup_aged_heap_retention_2pct_vacuum_append_1pct_physical_order", (double) aged[1] / phys1, "none");
        ratio("db_dedup_first_backup_time_vs_full_zstd_key_order", tKey / tFull, "none");
        ratio("db_dedup_first_backup_time_vs_full_zstd_physical_order", tPhys / tFull, "none");
    }

    private PostgresStore store(boolean keyOrder) {
        return PostgresStore.builder("frontend", pg.url(DB)).mode(PostgresStore.Mode.JDBC).splitBytes(splitBytes)
                .dedupKeyOrder(keyOrder).build();
    }

    /** Backs up to both sinks; returns the bytes each sink grew by. */
    private long[] backupBoth(SgBackup key, SgBackup phys, long key1, long phys1, String what) throws Exception {
        Path keySink = work.resolve("sink-dedup-key");
        Path physSink = work.resolve("sink-dedup-physical");
        long k0 = PostgresBenchmark.treeSize(keySink);
        long p0 = PostgresBenchmark.treeSize(physSink);
        double tk = time(() -> lastKeyBackup = check(key.backup(store(true))).backupId());
        double tp = time(() -> check(phys.backup(store(false))));
        long dk = PostgresBenchmark.treeSize(keySink) - k0;
        long dp = PostgresBenchmark.treeSize(physSink) - p0;
        System.out.printf("%s: key order added %s (%.2f%% of the first) in %.1f s; physical order added %s (%.2f%%) in %.1f s%n",
                what, PostgresBenchmark.mib(dk), 100.0 * dk / key1, tk, PostgresBenchmark.mib(dp), 100.0 * dp / phys1, tp);
        return new long[] {dk, dp};
    }


    /** COPY of event_logs to nowhere, physical vs key order, alternating; prints the medians. */
    private void copyTimes(int runs) throws Exception {
        if (runs < 1) {
            return;
        }
        List<Double> physical = new ArrayList<>();
        List<Double> ordered = new ArrayList<>();
        long[] bytes = new long[2];
        try (Connection c = pg.connect(DB, false)) {
            PGConnection p = c.unwrap(PGConnection.class);
            for (int i = 0; i < runs; i++) {
                physical.add(time(() -> bytes[0] = copy(p, "COPY event_logs TO STDOUT")));
                ordered.add(time(() -> bytes[1] = copy(p, "COPY (SELECT * FROM event_logs ORDER BY id) TO STDOUT")));
            }
        }
        double mp = median(physical);
        double mo = median(ordered);
        System.out.printf("COPY event_logs to nowhere (%s), median of %d: physical order %.2f s, ORDER BY id %.2f s (runs %s / %s)%n",
                PostgresBenchmark.mib(bytes[0]), runs, mp, mo, physical, ordered);
        ratio("db_copy_key_order_time_vs_physical", mo / mp, "none");
    }

    private static long copy(PGConnection p, String sql) throws Exception {
        long[] n = new long[1];
        p.getCopyAPI().copyOut(sql, new OutputStream() {
            @Override
            public void write(int b) {
                n[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                n[0] += len;
            }
        });
        return n[0];
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static void ratio(String name, double value, String target) {
        if ("none".equals(target)) {
            System.out.printf("ratio %s %.4f target none%n", name, value);
        } else {
            double t = Double.parseDouble(target);
            System.out.printf("ratio %s %.4f target %s %s%n", name, value, target, value <= t ? "PASS" : "FAIL");
        }
    }

    private static RunResult check(RunResult r) {
        if (!r.ok()) {
            throw new IllegalStateException("run failed: " + r);
        }
        return r;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private static double time(PostgresBenchmark.Step s) throws Exception {
        long t = System.nanoTime();
        s.run();
        return secs(t);
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
