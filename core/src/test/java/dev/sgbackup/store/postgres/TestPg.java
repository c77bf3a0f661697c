package dev.sgbackup.store.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One embedded PostgreSQL server for every test class in the JVM (started on first use), fresh databases per
 * test, Sourcegraph's real schemas loaded once into template databases and cloned from there.
 */
final class TestPg {
    static final Path SQL = locateSql();
    /** The default server's major version: the same as the pg_dump that .ci/run installs (Debian 12: 15). */
    static final int DEFAULT_MAJOR = 15;
    /** Every major version the tests can start (16: Sourcegraph's bundled PostgreSQL since 5.10). */
    static final java.util.List<Integer> MAJORS = java.util.List.of(15, 16);
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Map<Integer, Server> SERVERS = new ConcurrentHashMap<>();

    private TestPg() {
    }

    /** The vendored schemas in this module's test resources (see sourcegraph-data/README.md for their sources). */
    private static Path locateSql() {
        var url = TestPg.class.getResource("/sourcegraph-data/sql");
        if (url == null) {
            throw new IllegalStateException("test resource /sourcegraph-data/sql is missing from the test class path");
        }
        try {
            return Path.of(url.toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The embedded server of PostgreSQL {@code major} (15 or 16), started on first use and shared by the JVM. */
    static Server on(int major) {
        return SERVERS.computeIfAbsent(major, Server::new);
    }

    /**
     * One embedded PostgreSQL server: fresh databases per test, Sourcegraph's schemas loaded once into template
     * databases and cloned from there.
     */
    static final class Server {
        private final int major;
        private final Map<String, String> templates = new ConcurrentHashMap<>();
        private volatile EmbeddedPostgres pg;

        private Server(int major) {
            if (!MAJORS.contains(major)) {
                throw new IllegalArgumentException("no embedded PostgreSQL " + major + "; have " + MAJORS);
            }
            this.major = major;
        }

        int major() {
            return major;
        }

        synchronized EmbeddedPostgres server() {
            if (pg == null) {
                try {
                    EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                            .setServerConfig("max_connections", "120")
                            .setServerConfig("fsync", "off")
                            .setServerConfig("synchronous_commit", "off")
                            .setServerConfig("full_page_writes", "off");
                    if (major != DEFAULT_MAJOR) {
                        b.setPgBinaryResolver((system, hardware) -> binaries(major, system, hardware));
                    }
                    pg = b.start();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return pg;
        }

        int port() {
            return server().getPort();
        }

        String url(String db) {
            return "jdbc:postgresql://localhost:" + port() + "/" + db + "?user=postgres";
        }

        Connection connect(String db) throws SQLException {
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            p.setProperty("stringtype", "unspecified");
            return DriverManager.getConnection("jdbc:postgresql://localhost:" + port() + "/" + db, p);
        }

        void exec(String db, String... sql) throws SQLException {
            try (Connection c = connect(db); Statement st = c.createStatement()) {
                for (String s : sql) {
                    st.execute(s);
                }
            }
        }

        /** A new empty database. */
        String emptyDb() throws SQLException {
            String name = "t" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
            exec("postgres", "CREATE DATABASE " + name);
            return name;
        }

        /** A new database with {@code sql} run in it, in order. */
        String db(String... sql) throws SQLException {
            String name = emptyDb();
            exec(name, sql);
            return name;
        }

        /** A new database with a Sourcegraph schema, e.g. {@code sourcegraph-frontend-5.11.sql}, as a fresh migrated instance. */
        String schemaDb(String sqlFile) throws SQLException {
            String tpl = templates.computeIfAbsent(sqlFile, f -> {
                try {
                    String t = "tpl_" + f.replaceAll("[^a-z0-9]", "_");
                    exec("postgres", "DROP DATABASE IF EXISTS " + t, "CREATE DATABASE " + t);
                    load(t, SQL.resolve(f));
                    return t;
                } catch (SQLException | IOException e) {
                    throw new IllegalStateException("cannot load " + f + ": " + e.getMessage(), e);
                }
            });
            return cloneDb(tpl);
        }

        /** A copy of database {@code template} (which must have no open connections). */
        String cloneDb(String template) throws SQLException {
            String name = "t" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
            synchronized (this) { // CREATE DATABASE ... TEMPLATE needs the template unused
                exec("postgres", "CREATE DATABASE " + name + " TEMPLATE " + template);
            }
            return name;
        }

        /** Makes {@code role} log in with a password over TCP (the embedded server trusts everyone else). */
        synchronized void requirePassword(String role, String password) throws SQLException, IOException {
            exec("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role + "') THEN"
                    + " CREATE ROLE " + role + " LOGIN; END IF; END $$",
                    "ALTER ROLE " + role + " PASSWORD '" + password + "'");
            String hbaFile;
            try (Connection c = connect("postgres"); Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SHOW hba_file")) {
                rs.next();
                hbaFile = rs.getString(1);
            }
            Path hba = Path.of(hbaFile);
            String text = Files.readString(hba);
            String line = "host all " + role + " 127.0.0.1/32 scram-sha-256\nhost all " + role + " ::1/128 scram-sha-256\n";
            if (!text.contains(line)) {
                Files.writeString(hba, line + text);
                exec("postgres", "SELECT pg_reload_conf()");
                try {
                    Thread.sleep(300); // the postmaster reloads asynchronously
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** Runs an SQL file as one simple-protocol script, with app.current_tenant set as Sourcegraph 5.9+ needs. */
        void load(String db, Path file) throws SQLException, IOException {
            // CREATE INDEX CONCURRENTLY cannot run in a multi-statement script; it makes no difference here
            String sql = Files.readString(file, StandardCharsets.UTF_8).replaceAll("(?i)\\bCONCURRENTLY\\b", "");
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            p.setProperty("preferQueryMode", "simple");
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + port() + "/" + db, p);
                 Statement st = c.createStatement()) {
                st.execute("SET app.current_tenant = '1'");
                st.execute(sql);
            }
        }

        @Override
        public String toString() {
            return "PostgreSQL " + major;
        }
    }

    /**
     * The binaries archive of another major version, from the jar core's build copies aside (property
     * {@code sgbackup.test.pg16}, set by the pom; the jar itself comes from Maven Central).
     */
    private static java.io.InputStream binaries(int major, String system, String hardware) throws IOException {
        String jar = System.getProperty("sgbackup.test.pg" + major);
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IOException("the PostgreSQL " + major + " binaries jar is missing (" + jar + "); run the tests through"
                    + " Maven (mvn -pl core test), which copies it to core/target/pg-binaries");
        }
        java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar);
        java.util.zip.ZipEntry e = zip.getEntry("postgres-" + system.toLowerCase(java.util.Locale.ROOT) + "-" + hardware + ".txz");
        if (e == null) {
            zip.close();
            throw new IOException(jar + " has no binaries for " + system + "-" + hardware);
        }
        return new java.io.FilterInputStream(zip.getInputStream(e)) {
            @Override
            public void close() throws IOException {
                try {
                    super.close();
                } finally {
                    zip.close();
                }
            }
        };
    }

    // The default server (PostgreSQL 15), as static shortcuts.

    static EmbeddedPostgres server() {
        return on(DEFAULT_MAJOR).server();
    }

    static int port() {
        return on(DEFAULT_MAJOR).port();
    }

    static String url(String db) {
        return on(DEFAULT_MAJOR).url(db);
    }

    static Connection connect(String db) throws SQLException {
        return on(DEFAULT_MAJOR).connect(db);
    }

    static void exec(String db, String... sql) throws SQLException {
        on(DEFAULT_MAJOR).exec(db, sql);
    }

    static String emptyDb() throws SQLException {
        return on(DEFAULT_MAJOR).emptyDb();
    }

    static String db(String... sql) throws SQLException {
        return on(DEFAULT_MAJOR).db(sql);
    }

    static String schemaDb(String sqlFile) throws SQLException {
        return on(DEFAULT_MAJOR).schemaDb(sqlFile);
    }

    static void requirePassword(String role, String password) throws SQLException, IOException {
        on(DEFAULT_MAJOR).requirePassword(role, password);
    }

    static String cloneDb(String template) throws SQLException {
        return on(DEFAULT_MAJOR).cloneDb(template);
    }

    static void load(String db, Path file) throws SQLException, IOException {
        on(DEFAULT_MAJOR).load(db, file);
    }

    /** A new temporary directory (for a test class's sink); unchecked, for static initialisers. */
    static Path tempDir(String prefix) {
        try {
            return java.nio.file.Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Deletes {@code root} and everything under it. */
    static void deleteTree(Path root) throws IOException {
        try (var paths = java.nio.file.Files.walk(root)) {
            for (Path f : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(f);
            }
        }
    }
}
