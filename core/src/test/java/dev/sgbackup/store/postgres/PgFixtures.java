package dev.sgbackup.store.postgres;

import java.util.Map;

/** Public entry to the embedded PostgreSQL harness for tests in other packages (end-to-end tests of plans). */
public final class PgFixtures {
    private PgFixtures() {
    }

    /** A database with the schema of {@code sqlFile} and generated rows (cloned from a per-JVM template). */
    public static String filled(String sqlFile) throws Exception {
        return JdbcRoundTripTest.filled(sqlFile);
    }

    /** A freshly migrated database (schema and seed rows only), like a new instance's. */
    public static String migrated(String sqlFile) throws Exception {
        return TestPg.schemaDb(sqlFile);
    }

    public static String url(String db) {
        return TestPg.url(db);
    }

    /** Every table's row count and ordered content hash. */
    public static Map<String, String> tables(String db) throws Exception {
        return DbContent.tables(db);
    }

    public static Map<String, String> sequences(String db) throws Exception {
        return DbContent.sequences(db);
    }

    public static Map<String, String> sequencesAfterRestore(String db) throws Exception {
        return DbContent.sequencesAfterRestore(db);
    }
}
