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
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Map<String, String> TEMPLATES = new ConcurrentHashMap<>();
    private static volatile EmbeddedPostgres server;

    private TestPg() {
    }

    private static Path locateSql() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/sourcegraph-data/sql");
            if (Files.isDirectory(c)) {
                return c;
            }
            Path d = p.resolve("../shared/sourcegraph-data/sql").normalize();
            if (Files.isDirectory(d)) {
                return d;
            }
        }
        return Path.of("/work/shared/sourcegraph-data/sql");
    }

    static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                server = EmbeddedPostgres.builder()
                        .setServerConfig("max_connections", "120")
                        .setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .setServerConfig("full_page_writes", "off")
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return server;
    }

    static int port() {
        return server().getPort();
    }

    static String url(String db) {
        return "jdbc:postgresql://localhost:" + port() + "/" + db + "?user=postgres";
    }

    static Connection connect(String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("stringtype", "unspecified");
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + port() + "/" + db, p);
    }

    static void exec(String db, String... sql) throws SQLException {
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    /** A new empty database. */
    static String emptyDb() throws SQLException {
        String name = "t" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
        exec("postgres", "CREATE DATABASE " + name);
        return name;
    }

    /** A new database with {@code sql} run in it, in order. */
    static String db(String... sql) throws SQLException {
        String name = emptyDb();
        exec(name, sql);
        return name;
    }

    /** A new database with a Sourcegraph schema, e.g. {@code sourcegraph-frontend-5.11.sql}, as a fresh migrated instance. */
    static String schemaDb(String sqlFile) throws SQLException {
        String tpl = TEMPLATES.computeIfAbsent(sqlFile, f -> {
            try {
                String t = "tpl_" + f.replaceAll("[^a-z0-9]", "_");
                exec("postgres", "DROP DATABASE IF EXISTS " + t, "CREATE DATABASE " + t);
                load(t, SQL.resolve(f));
                return t;
            } catch (SQLException | IOException e) {
                throw new IllegalStateException("cannot load " + f + ": " + e.getMessage(), e);
            }
        });
        String name = "t" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
        synchronized (TestPg.class) { // CREATE DATABASE ... TEMPLATE needs the template unused
            exec("postgres", "CREATE DATABASE " + name + " TEMPLATE " + tpl);
        }
        return name;
    }

    /** Makes {@code role} log in with a password over TCP (the embedded server trusts everyone else). */
    static synchronized void requirePassword(String role, String password) throws SQLException, IOException {
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

    /** A copy of database {@code template} (which must have no open connections). */
    static String cloneDb(String template) throws SQLException {
        String name = "t" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
        synchronized (TestPg.class) {
            exec("postgres", "CREATE DATABASE " + name + " TEMPLATE " + template);
        }
        return name;
    }

    /** Runs an SQL file as one simple-protocol script, with app.current_tenant set as Sourcegraph 5.9+ needs. */
    static void load(String db, Path file) throws SQLException, IOException {
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
}
