package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sourcegraph's real schemas, filled with generated rows, backed up over JDBC and restored into a migrated database. */
class JdbcRoundTripTest {

    private static final Map<String, String> FILLED = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A database with {@code sqlFile}'s schema and generated rows in (nearly) every table. Generated once per
     * JVM into a template database, cloned for each caller.
     */
    static String filled(String sqlFile) throws Exception {
        String tpl;
        synchronized (FILLED) {
            tpl = FILLED.get(sqlFile);
            if (tpl == null) {
                tpl = TestPg.schemaDb(sqlFile);
                RowGenerator.Result r;
                try (Connection c = TestPg.connect(tpl)) {
                    r = new RowGenerator(c, 6).fill();
                }
                System.out.printf("%s: %d of %d tables filled; skipped: %s%n", sqlFile,
                        r.rows().values().stream().filter(n -> n > 0).count(), r.rows().size(), r.skipped());
                assertThat(r.filledShare())
                        .as("share of tables with generated rows in %s; skipped: %s", sqlFile, r.skipped())
                        .isGreaterThanOrEqualTo(0.8);
                FILLED.put(sqlFile, tpl);
            }
        }
        return TestPg.cloneDb(tpl);
    }

    @org.junit.jupiter.api.Test
    void generatedRowsHaveTheHardValues() throws Exception {
        String db = filled("sourcegraph-frontend-5.11.sql");
        Map<String, String> kinds = new java.util.LinkedHashMap<>();
        kinds.put("large text", "length(%s::text) > 50000");
        kinds.put("non-ASCII text", "%s::text ~ '[^\\x01-\\x7e]'");
        kinds.put("bytea", "%s IS NOT NULL AND length(%<s::bytea) > 4");
        kinds.put("array", "cardinality(%s) > 1");
        kinds.put("jsonb", "jsonb_typeof(%s::jsonb) = 'object' AND %<s::jsonb <> '{}'::jsonb");
        kinds.put("NULL", "%s IS NULL");
        Map<String, String> typeOf = Map.of("large text", "text", "non-ASCII text", "text", "bytea", "bytea",
                "array", "ARRAY", "jsonb", "jsonb", "NULL", "any");
        try (Connection c = TestPg.connect(db); java.sql.Statement st = c.createStatement()) {
            for (var k : kinds.entrySet()) {
                String type = typeOf.get(k.getKey());
                boolean found = false;
                try (java.sql.ResultSet cols = c.createStatement().executeQuery("SELECT quote_ident(table_name), quote_ident(column_name)"
                        + " FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN (SELECT table_name"
                        + " FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')"
                        + ("any".equals(type) ? " AND is_nullable = 'YES'" : " AND data_type = '" + type + "'"))) {
                    while (!found && cols.next()) {
                        String cond = String.format(k.getValue(), cols.getString(2));
                        try (java.sql.ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM " + cols.getString(1)
                                + " WHERE " + cond + ")")) {
                            rs.next();
                            found = rs.getBoolean(1);
                        }
                    }
                }
                assertThat(found).as("some generated row has a %s value", k.getKey()).isTrue();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sourcegraph-frontend-5.11.sql", "sourcegraph-frontend-3.21.sql",
            "sourcegraph-codeintel-5.11.sql", "sourcegraph-codeinsights-5.11.sql", "sourcegraph-codeintel-3.21.sql"})
    void roundTripEveryTableAndSequence(String sqlFile) throws Exception {
        String src = filled(sqlFile);
        Map<String, String> before = DbContent.tables(src);
        Map<String, String> seqBefore = DbContent.sequencesAfterRestore(src);

        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.JDBC).build().backup(out);
        assertThat(out.properties).containsKeys("schema.fingerprint", "sequences", "server.version", "sourcegraph.version");
        assertThat(out.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(out.artifacts).hasSize(before.size());
        assertThat(out.artifacts).allSatisfy(a -> assertThat(a.attributes()).containsKeys("columns", "format"));
        assertThat(PgSchema.JSON.readTree(out.properties.get("rows")).size()).isEqualTo(before.size());

        String dst = TestPg.schemaDb(sqlFile); // a freshly migrated instance: seed rows in some tables
        java.util.Set<String> structure = DbContent.structure(dst);
        PostgresStore target = PostgresStore.builder("frontend", TestPg.url(dst)).build();
        boolean seeded = DbContent.tables(dst).values().stream().anyMatch(v -> !v.startsWith("0 rows"));
        if (seeded) {
            assertThatThrownBy(() -> target.restore(out.input("frontend", RestoreOptions.defaults())))
                    .isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("not empty").hasMessageContaining("replace");
        }
        target.restore(out.input("frontend", new RestoreOptions(true, false)));

        assertThat(DbContent.tables(dst)).isEqualTo(before);
        assertThat(DbContent.sequences(dst)).isEqualTo(seqBefore);
        assertThat(DbContent.structure(dst)).as("indexes, constraints and triggers after the restore").isEqualTo(structure);
    }
}
