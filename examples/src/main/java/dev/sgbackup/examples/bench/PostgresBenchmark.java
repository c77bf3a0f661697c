package dev.sgbackup.examples.bench;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PostgresStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Times pg_dump/pg_restore against sgbackup's two PostgreSQL strategies on a Sourcegraph-shaped frontend
 * database (5.11 schema, millions of event_logs rows at full size), checks every restore's content and prints
 * the ratios with output sizes and codecs.
 *
 * <pre>
 * java -cp sgbackup-cli.jar dev.sgbackup.examples.bench.PostgresBenchmark \
 *     --url jdbc:postgresql://localhost:5432/postgres?user=postgres [--full] [--rows N] [--schema FILE] [--work DIR]
 * </pre>
 * The URL names a server and a role that may create databases; pg_dump, pg_restore of the server's major
 * must be on the PATH. Default: a smoke size (20 000 event_logs rows); {@code --full}: 3 000 000 rows (≥ 1.5 GiB).
 */
public final class PostgresBenchmark {
    private static final Pattern URL = Pattern.compile("jdbc:postgresql://([^:/?]+)(?::(\\d+))?/([^?]*)(?:\\?(.*))?");

    private final String host;
    private final String port;
    private final String user;
    private final Path work;
    private final Map<String, String> results = new LinkedHashMap<>();

    PostgresBenchmark(String url, Path work) {
        Matcher m = URL.matcher(url);
        if (!m.matches()) {
            throw new IllegalArgumentException("--url must look like jdbc:postgresql://HOST:PORT/DB?user=USER");
        }
        host = m.group(1);
        port = m.group(2) == null ? "5432" : m.group(2);
        String u = System.getProperty("user.name");
        if (m.group(4) != null) {
            for (String kv : m.group(4).split("&")) {
                if (kv.startsWith("user=")) {
                    u = kv.substring(5);
                }
            }
        }
        user = u;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("SGBACKUP_BENCH_URL", "jdbc:postgresql://localhost:5432/postgres");
        long rows = 20_000;
        Path schema = null;
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "sgbackup-pg-bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--url" -> url = args[++i];
                case "--full" -> rows = 3_000_000;
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--schema" -> schema = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: --url JDBC_URL [--full] [--rows N] [--schema FILE] [--work DIR]");
            }
        }
        if (schema == null) {
            schema = locateSchema();
        }
        new PostgresBenchmark(url, work).run(schema, rows);
    }

    /**
     * Sourcegraph 5.11's frontend schema, bundled in this jar (from core's vendored test data; its source is in
     * core/src/test/resources/sourcegraph-data/README.md), copied to a temporary file.
     */
    static Path locateSchema() throws IOException {
        try (var in = PostgresBenchmark.class.getResourceAsStream("/sourcegraph-data/sql/sourcegraph-frontend-5.11.sql")) {
            if (in == null) {
                throw new IllegalStateException("sourcegraph-frontend-5.11.sql is not bundled in this jar; pass --schema FILE");
            }
            Path f = Files.createTempFile("sourcegraph-frontend-5.11", ".sql");
            f.toFile().deleteOnExit();
            Files.copy(in, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return f;
        }
    }

    String url(String db) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + db + "?user=" + user;
    }

    Connection connect(String db, boolean simple) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (System.getenv("PGPASSWORD") != null) {
            p.setProperty("password", System.getenv("PGPASSWORD"));
        }
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + db, p);
    }

    void exec(String db, String... sql) throws SQLException {
        try (Connection c = connect(db, true); Statement st = c.createStatement()) {
            st.execute("SET app.current_tenant = '1'");
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    void checkpoint() {
        try {
            exec("postgres", "CHECKPOINT");
        } catch (SQLException e) {
            System.out.println("note: CHECKPOINT refused (" + e.getMessage().strip() + "); timings include earlier writes");
        }
    }

    void createDb(String name, Path schema) throws SQLException, IOException {
        exec("postgres", "DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name);
        if (schema != null) {
            exec(name, Files.readString(schema, StandardCharsets.UTF_8).replaceAll("(?i)\\bCONCURRENTLY\\b", ""));
        }
    }

    void run(Path schema, long rows) throws Exception {
        deleteTree(work);
        Files.createDirectories(work);
        System.out.printf("PostgreSQL benchmark: %,d event_logs rows, schema %s, work dir %s%n", rows, schema.getFileName(), work);
        createDb("bench_src", schema);
        long t = System.nanoTime();
        generate(rows);
        long dbSize = scalar("bench_src", "SELECT pg_database_size(current_database())");
        System.out.printf("generated in %.1f s: database size %s%n", secs(t), mib(dbSize));

        Path fc = work.resolve("dump.fc");
        double pgDumpFc = time(() -> tool(List.of("pg_dump", "-Fc", "-f", fc.toString(), "bench_src")));
        Path fd = work.resolve("dump.fd");
        double pgDumpFd = time(() -> tool(List.of("pg_dump", "-Fd", "-j", "2", "-f", fd.toString(), "bench_src")));

        Path sinkJdbc = work.resolve("sink-jdbc");
        SgBackup jdbcSg = SgBackup.builder().sink(Sinks.local(sinkJdbc)).compression("zstd").parallelism(2).build();
        RunResult[] r = new RunResult[1];
        double backupCpu0 = cpuSeconds();
        double sgJdbc = time(() -> r[0] = jdbcSg.backup(PostgresStore.builder("frontend", url("bench_src"))
                .mode(PostgresStore.Mode.JDBC).build()));
        double backupCpu = cpuSeconds() - backupCpu0;
        String jdbcId = r[0].backupId();
        long jdbcStored = r[0].storedBytes();
        // the same backup with zstd's fastest level: on COPY text it is also the smaller one
        Path sinkFast = work.resolve("sink-jdbc-zstd1");
        SgBackup fastSg = SgBackup.builder().sink(Sinks.local(sinkFast)).compression("zstd:1").parallelism(2).build();
        double sgJdbcFast = time(() -> r[0] = fastSg.backup(PostgresStore.builder("frontend", url("bench_src"))
                .mode(PostgresStore.Mode.JDBC).build()));
        long fastStored = r[0].storedBytes();

        Path sinkDump = work.resolve("sink-pgdump");
        SgBackup dumpSg = SgBackup.builder().sink(Sinks.local(sinkDump)).compression("none").build();
        double sgDump = time(() -> r[0] = dumpSg.backup(PostgresStore.builder("frontend", url("bench_src"))
                .mode(PostgresStore.Mode.PG_DUMP).build()));
        long dumpStored = r[0].storedBytes();

        Map<String, String> expected = content("bench_src");
        createDb("bench_pgrestore", null);
        checkpoint(); // each timed restore starts with no dirty buffers left by earlier steps
        double pgRestore = time(() -> tool(List.of("pg_restore", "-j", "2", "--no-owner", "--exit-on-error",
                "-d", "bench_pgrestore", fc.toString())));
        check("pg_restore -j 2", expected, content("bench_pgrestore"));
        // its fresh tables would otherwise be vacuumed and analyzed by autovacuum during the next timed step
        exec("postgres", "DROP DATABASE bench_pgrestore");

        createDb("bench_jdbc", schema); // a migrated instance: seed rows, so replace
        checkpoint();
        double cpu0 = cpuSeconds();
        double sgRestore = time(() -> jdbcSg.restore(jdbcId, new RestoreOptions(true, false),
                PostgresStore.builder("frontend", url("bench_jdbc")).build()));
        double restoreCpu = cpuSeconds() - cpu0;
        check("sgbackup JDBC restore", expected, content("bench_jdbc"));

        long rss = peakRssKib();
        System.out.println();
        System.out.printf("%-34s %9s %12s %s%n", "step", "seconds", "output", "codec");
        row("pg_dump -Fc", pgDumpFc, Files.size(fc), "pg_dump default (zlib)");
        row("pg_dump -Fd -j 2", pgDumpFd, treeSize(fd), "pg_dump default (zlib)");
        row("sgbackup JDBC backup", sgJdbc, jdbcStored, "COPY text + zstd:3 (default)");
        row("sgbackup JDBC backup, zstd:1", sgJdbcFast, fastStored, "COPY text + zstd:1 (--compression zstd:1)");
        row("sgbackup pg_dump-mode backup", sgDump, dumpStored, "pg_dump -Fc, no extra codec");
        row("pg_restore -j 2 (empty DB)", pgRestore, -1, "");
        row("sgbackup JDBC restore (migrated)", sgRestore, -1, "");
        System.out.println();
        System.out.printf("JDBC backup / pg_dump -Fc       = %.2f (target <= 0.5), size ratio %.2f (target <= 1.0)%n",
                sgJdbc / pgDumpFc, (double) jdbcStored / Files.size(fc));
        System.out.printf("JDBC backup / pg_dump -Fd -j 2  = %.2f (target <= 1.0)%n", sgJdbc / pgDumpFd);
        System.out.printf("with zstd:1: / pg_dump -Fc      = %.2f, / -Fd -j 2 = %.2f, size ratio %.2f%n",
                sgJdbcFast / pgDumpFc, sgJdbcFast / pgDumpFd, (double) fastStored / Files.size(fc));
        System.out.printf("JDBC restore / pg_restore -j 2  = %.2f (target <= 1.0)%n", sgRestore / pgRestore);
        System.out.printf("client CPU: JDBC backup %.1f s, JDBC restore %.1f s (codec, hashing, COPY framing)%n",
                backupCpu, restoreCpu);
        System.out.printf("client peak RSS (VmHWM)         = %,d KiB; database %s%n", rss, mib(dbSize));
        System.out.println("content of both restores: every table's row count and row hash equal the source");
    }

    void generate(long rows) throws SQLException {
        long users = Math.max(100, rows / 1000);
        long repos = Math.max(100, rows / 100);
        exec("bench_src",
                "INSERT INTO users (username, display_name, avatar_url, passwd) SELECT 'user' || g, 'User Ünïcode ' || g,"
                        + " 'https://avatars.example.com/u/' || g, md5(g::text) FROM generate_series(1, " + users + ") g",
                "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'GitHub',"
                        + " '{\"url\": \"https://github.com\", \"token\": \"REDACTED\", \"repos\": []}')",
                // repo's triggers also fill gitserver_repos and zoekt_repos, as in a real instance
                "INSERT INTO repo (name, description, external_id, external_service_type, external_service_id, uri, metadata, stars)"
                        + " SELECT 'github.com/org' || (g % 97) || '/repo' || g, 'A repository with a description ' || repeat('d', g % 200),"
                        + " 'MDEwOlJlcG9zaXRvcnk' || g, 'github', 'https://github.com/', 'github.com/org/repo' || g,"
                        + " jsonb_build_object('id', g, 'topics', jsonb_build_array('go', 'java'), 'isFork', false), g % 5000"
                        + " FROM generate_series(1, " + repos + ") g",
                insertEvents(1, rows, users, repos),
                "INSERT INTO security_event_logs (name, url, user_id, anonymous_user_id, source, argument, version, \"timestamp\")"
                        + " SELECT 'AccessTokenCreated', '', 1 + g % " + users + ", '', 'BACKEND', '{}'::jsonb, '5.11.6271',"
                        + " now() FROM generate_series(1, " + Math.max(10, rows / 20) + ") g",
                // a settled database, as in production: hint bits and the visibility map set, so the first tool to
                // read a table does not pay for writing them
                "VACUUM (ANALYZE)");
        checkpoint();
    }

    Map<String, String> content(String db) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        List<String> tables = new ArrayList<>();
        try (Connection c = connect(db, false); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                    + " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            for (String t : tables) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), coalesce(sum(hashtext(x::text)::bigint), 0) FROM " + t + " x")) {
                    rs.next();
                    out.put(t, rs.getLong(1) + "/" + rs.getLong(2));
                }
            }
        }
        return out;
    }

    private static void check(String what, Map<String, String> expected, Map<String, String> actual) {
        if (!expected.equals(actual)) {
            Map<String, String> diff = new TreeMap<>();
            expected.forEach((k, v) -> {
                if (!v.equals(actual.get(k))) {
                    diff.put(k, v + " vs " + actual.get(k));
                }
            });
            throw new IllegalStateException(what + ": restored content differs: " + diff);
        }
        System.out.println(what + ": content checked (" + expected.size() + " tables)");
    }

    long scalar(String db, String sql) throws SQLException {
        try (Connection c = connect(db, false); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void tool(List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGHOST", host);
        pb.environment().put("PGPORT", port);
        pb.environment().put("PGUSER", user);
        pb.environment().put("PGOPTIONS", "-c app.current_tenant=1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    interface Step {
        void run() throws Exception;
    }

    private double time(Step s) throws Exception {
        long t = System.nanoTime();
        s.run();
        return secs(t);
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private void row(String step, double secs, long bytes, String codec) {
        System.out.printf("%-34s %9.2f %12s %s%n", step, secs, bytes < 0 ? "" : mib(bytes), codec);
        results.put(step, String.valueOf(secs));
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    static long treeSize(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static double cpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    private static long peakRssKib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return -1;
    }

    /** event_logs rows {@code from..to}, shaped like a Sourcegraph 5.11 instance's (the generator's and the dedup benchmark's appends). */
    static String insertEvents(long from, long to, long users, long repos) {
        return "INSERT INTO event_logs (id, name, url, user_id, anonymous_user_id, source, argument, version, \"timestamp\","
                + " feature_flags, cohort_id, public_argument, first_source_url, last_source_url, referrer, device_id,"
                + " insert_id, client)"
                + " SELECT g, (ARRAY['SearchResultsQueried','ViewBlob','ViewRepository','CodeIntelHover','SignIn'])[1 + g % 5],"
                + " 'https://sourcegraph.example.com/github.com/org' || (g % 97) || '/repo' || (g % " + repos + ") || '/-/blob/src/main/file' || (g % 1000) || '.go',"
                + " 1 + g % " + users + ", CASE WHEN g % 7 = 0 THEN 'anon-' || md5(g::text) ELSE '' END, 'WEB',"
                + " jsonb_build_object('query', 'repo:^github\\.com/org' || (g % 97) || ' lang:go func' || (g % 5000), 'mode', 'standard', 'results', g % 300),"
                + " '5.11.6271', timestamptz '2024-01-01' + (g || ' seconds')::interval,"
                + " jsonb_build_object('search-ranking', g % 2 = 0, 'cody', true), date '2024-01-01' + (g % 300),"
                + " '{}'::jsonb, 'https://sourcegraph.example.com/search', 'https://sourcegraph.example.com/search?q=' || (g % 1000),"
                + " 'https://google.com/', md5((g % 50000)::text), md5(g::text), 'web'"
                + " FROM generate_series(" + from + ", " + to + ") g";
    }
}
