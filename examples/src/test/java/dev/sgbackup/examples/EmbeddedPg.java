package dev.sgbackup.examples;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/** One embedded PostgreSQL server for the example tests of this JVM, started on first use. */
public final class EmbeddedPg {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static EmbeddedPostgres server;

    private EmbeddedPg() {
    }

    public static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                server = EmbeddedPostgres.builder().setServerConfig("fsync", "off").start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return server;
    }

    public static String url(String db) {
        return "jdbc:postgresql://localhost:" + server().getPort() + "/" + db + "?user=postgres";
    }

    /** A new database with {@code sql} run in it. */
    public static String database(String sql) throws SQLException {
        String name = "ex" + COUNTER.incrementAndGet();
        exec("postgres", "CREATE DATABASE " + name);
        exec(name, sql);
        return name;
    }

    /** A copy of database {@code template}, which must have no open connections. */
    public static String clone(String template) throws SQLException {
        String name = "ex" + COUNTER.incrementAndGet();
        exec("postgres", "CREATE DATABASE " + name + " TEMPLATE " + template);
        return name;
    }

    public static void exec(String db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(db)); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    public static long scalar(String db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(db)); Statement st = c.createStatement();
             var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
