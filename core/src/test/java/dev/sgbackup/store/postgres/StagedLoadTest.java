package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import java.io.FilterInputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Large tables loaded on parallel connections into private copies and swapped in by the restore's transaction:
 * the result equals an in-transaction load down to grants, policies and comments; any failure leaves the target
 * and no staging schema behind.
 */
class StagedLoadTest {
    static final RestoreOptions REPLACE = new RestoreOptions(true, false);

    /** A table that can be staged, with everything the swap must carry over, and two that cannot. */
    static final String SCHEMA = "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stage_owner') THEN"
            + " CREATE ROLE stage_owner; END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stage_reader') THEN"
            + " CREATE ROLE stage_reader; END IF; END $$;"
            + "CREATE TABLE logs (id bigserial PRIMARY KEY, name text NOT NULL CHECK (name <> ''), tenant int NOT NULL DEFAULT 1,"
            + " payload jsonb, upper_name text GENERATED ALWAYS AS (upper(name)) STORED,"
            + " CONSTRAINT logs_name_tenant UNIQUE (name, tenant)) WITH (fillfactor = 90);"
            + "CREATE INDEX logs_lower_name ON logs (lower(name) text_pattern_ops) WHERE tenant > 0;"
            + "COMMENT ON TABLE logs IS 'events, kept';"
            + "COMMENT ON COLUMN logs.name IS 'what happened';"
            + "COMMENT ON INDEX logs_lower_name IS 'search by name';"
            + "COMMENT ON CONSTRAINT logs_name_tenant ON logs IS 'one per tenant';"
            + "ALTER TABLE logs REPLICA IDENTITY FULL;"
            + "ALTER TABLE logs ENABLE ROW LEVEL SECURITY; ALTER TABLE logs FORCE ROW LEVEL SECURITY;"
            + "CREATE POLICY logs_tenant ON logs AS RESTRICTIVE FOR SELECT TO stage_reader USING (tenant = 1 AND name NOT LIKE 'x%');"
            + "ALTER TABLE logs OWNER TO stage_owner;"
            + "GRANT SELECT, INSERT ON logs TO stage_reader; GRANT SELECT ON logs TO PUBLIC;"
            + "CREATE TABLE viewed (id int PRIMARY KEY, v text);"
            + "CREATE VIEW viewed_v AS SELECT id FROM viewed;"
            + "CREATE TABLE parent (id int PRIMARY KEY);"
            + "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));";
    static final String DATA = "INSERT INTO logs (name, tenant, payload) SELECT 'event ' || g, 1 + g % 3,"
            + " jsonb_build_object('n', g, 'text', repeat('ü', g % 50)) FROM generate_series(1, 20000) g;"
            + "INSERT INTO viewed SELECT g, 'v' || g FROM generate_series(1, 20000) g;"
            + "INSERT INTO parent SELECT g FROM generate_series(1, 20000) g;"
            + "INSERT INTO child SELECT g, g FROM generate_series(1, 20000) g;";

    static String source() throws Exception {
        return TestPg.db(SCHEMA, DATA);
    }

    static MemoryStoreIo backup(String db) throws Exception {
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        // small parts, so the staged table also loads on two connections at once
        PostgresStore.builder("db", TestPg.url(db)).mode(PostgresStore.Mode.JDBC).splitBytes(8192 * 16).build().backup(out);
        return out;
    }

    static PostgresStore staging(String db) {
        return PostgresStore.builder("db", TestPg.url(db)).stageFromBytes(1).build();
    }

    static String target() throws Exception {
        return TestPg.db(SCHEMA, "INSERT INTO logs (name) VALUES ('seed'); INSERT INTO viewed VALUES (1, 'seed')");
    }

    @Test
    void stagedTableCarriesEverythingOverAndTablesTiedToOthersLoadInTheTransaction() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        assertThat(out.artifacts.stream().filter(a -> "public.logs".equals(a.attributes().get("table")))).hasSizeGreaterThan(1);
        String dst = target();
        Set<String> structure = DbContent.structure(dst);
        Map<String, Long> oids = oids(dst);
        staging(dst).restore(out.input("db", REPLACE));

        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.sequences(dst)).isEqualTo(DbContent.sequencesAfterRestore(src));
        assertThat(DbContent.structure(dst)).isEqualTo(structure);
        Map<String, Long> after = oids(dst);
        assertThat(after.get("logs")).as("logs was staged: a new table").isNotEqualTo(oids.get("logs"));
        assertThat(after.get("viewed")).as("a view uses viewed").isEqualTo(oids.get("viewed"));
        assertThat(after.get("parent")).as("a foreign key ties parent").isEqualTo(oids.get("parent"));
        assertThat(after.get("child")).as("a foreign key ties child").isEqualTo(oids.get("child"));
        assertThat(stagingSchemas(dst)).isEmpty();
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT reltuples FROM pg_class WHERE oid = 'public.logs'::regclass")) {
            rs.next();
            assertThat(rs.getLong(1)).as("analyzed").isEqualTo(20000);
        }
        TestPg.exec(dst, "INSERT INTO logs (name) VALUES ('after')"); // the sequence goes on after the restored ids
    }

    @Test
    void sourcegraphsEventLogsIsStagedAndTheDatabaseIsAsAnInTransactionLoadLeavesIt() throws Exception {
        String src = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        TestPg.exec(src, "SET app.current_tenant = '1'; INSERT INTO event_logs (name, url, user_id, anonymous_user_id, source,"
                + " argument, version, \"timestamp\") SELECT 'ViewBlob', 'https://sg/' || g, 1, '', 'WEB', '{}', '5.11', now()"
                + " FROM generate_series(1, 5000) g");
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.JDBC).build().backup(out);
        String dst = TestPg.schemaDb("sourcegraph-frontend-5.11.sql");
        Set<String> structure = DbContent.structure(dst);
        long before = oids(dst).get("event_logs");
        PostgresStore.builder("frontend", TestPg.url(dst)).stageFromBytes(256 * 1024).build()
                .restore(out.input("frontend", REPLACE));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.sequences(dst)).isEqualTo(DbContent.sequencesAfterRestore(src));
        assertThat(DbContent.structure(dst)).isEqualTo(structure);
        assertThat(oids(dst).get("event_logs")).as("event_logs was staged").isNotEqualTo(before);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    /** Tables that must load in the transaction, each for one reason, and one that may be staged. */
    static final String TIED = "CREATE TABLE other (id int PRIMARY KEY);"
            + "CREATE TABLE t_ok (id int PRIMARY KEY, v text);"
            + "CREATE TABLE t_array (id int PRIMARY KEY, v text); CREATE TABLE uses_array (h t_array[]);"
            + "CREATE TABLE t_not_valid (id int PRIMARY KEY, v text); ALTER TABLE t_not_valid ADD CHECK (id > 0) NOT VALID;"
            + "CREATE TABLE t_attoptions (id int PRIMARY KEY, v text); ALTER TABLE t_attoptions ALTER v SET (n_distinct = 100);"
            + "CREATE TABLE t_index_stats (id int PRIMARY KEY, v text); CREATE INDEX t_index_stats_lower ON t_index_stats (lower(v));"
            + " ALTER INDEX t_index_stats_lower ALTER COLUMN 1 SET STATISTICS 500;"
            + "CREATE TABLE t_policy_other (id int PRIMARY KEY, v text); ALTER TABLE t_policy_other ENABLE ROW LEVEL SECURITY;"
            + " CREATE POLICY p ON t_policy_other USING (id IN (SELECT id FROM other));"
            + "CREATE TABLE t_policy_self (id int PRIMARY KEY, v text); ALTER TABLE t_policy_self ENABLE ROW LEVEL SECURITY;"
            + " CREATE POLICY p ON t_policy_self USING (id IN (SELECT s.id FROM t_policy_self s WHERE s.v <> ''));"
            + "CREATE TYPE pair AS (a int, b text); CREATE TABLE t_typed OF pair (PRIMARY KEY (a));"
            + "CREATE SCHEMA second; CREATE TABLE second.t_ok (id int PRIMARY KEY, v text);";

    @Test
    void tablesTiedToOthersOrWithWhatACopyCannotCarryLoadInTheTransaction() throws Exception {
        String fill = "INSERT INTO other SELECT g FROM generate_series(1, 5000) g;"
                + "INSERT INTO t_typed SELECT g, 'v' || g FROM generate_series(1, 5000) g;";
        for (String t : List.of("t_ok", "t_array", "t_not_valid", "t_attoptions", "t_index_stats", "t_policy_other",
                "t_policy_self", "second.t_ok")) {
            fill += "INSERT INTO " + t + " SELECT g, 'v' || g FROM generate_series(1, 5000) g;";
        }
        String src = TestPg.db(TIED, fill);
        MemoryStoreIo out = backup(src);
        String dst = TestPg.emptyDb();
        // default privileges of the restoring role must not leak onto the copies
        TestPg.exec(dst, SCHEMA.substring(0, SCHEMA.indexOf("CREATE TABLE logs")), TIED,
                "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO stage_reader");
        Set<String> structure = DbContent.structure(dst);
        Map<String, Long> oids = oids(dst);
        long secondOid = oid(dst, "second.t_ok");
        staging(dst).restore(out.input("db", REPLACE));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.structure(dst)).isEqualTo(structure);
        Map<String, Long> after = oids(dst);
        assertThat(after.get("t_ok")).as("t_ok was staged").isNotEqualTo(oids.get("t_ok"));
        for (String t : List.of("t_array", "t_not_valid", "t_attoptions", "t_index_stats", "t_policy_other",
                "t_policy_self", "t_typed", "other")) {
            assertThat(after.get(t)).as(t + " loaded in the transaction").isEqualTo(oids.get(t));
        }
        // same name in another schema: only one of the two can have the staging schema's name
        assertThat(oid(dst, "second.t_ok")).isEqualTo(secondOid);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    @Test
    void aBackupOfOnlyStagedTablesRestores() throws Exception {
        String src = TestPg.db("CREATE TABLE only_logs (id bigserial PRIMARY KEY, v text);"
                + "INSERT INTO only_logs (v) SELECT 'v' || g FROM generate_series(1, 20000) g");
        MemoryStoreIo out = backup(src);
        String dst = TestPg.db("CREATE TABLE only_logs (id bigserial PRIMARY KEY, v text); INSERT INTO only_logs (v) VALUES ('seed')");
        long before = oid(dst, "public.only_logs");
        staging(dst).restore(out.input("db", REPLACE));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.sequences(dst)).isEqualTo(DbContent.sequencesAfterRestore(src));
        assertThat(oid(dst, "public.only_logs")).isNotEqualTo(before);
    }

    @Test
    void intoAnEmptyTargetWithoutReplaceTheCopyReplacesTheEmptyTable() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        String dst = TestPg.db(SCHEMA);
        Set<String> structure = DbContent.structure(dst);
        long before = oid(dst, "public.logs");
        staging(dst).restore(out.input("db", RestoreOptions.defaults()));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.structure(dst)).isEqualTo(structure);
        assertThat(oid(dst, "public.logs")).isNotEqualTo(before);
    }

    static long oid(String db, String table) throws Exception {
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT '" + table + "'::regclass::oid::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void damagedStagedArtifactRollsBackAndDropsTheCopies() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target();
        Map<String, String> before = DbContent.tables(dst);
        Map<String, Long> oids = oids(dst);
        ArtifactInfo part = out.artifacts.stream().filter(a -> "public.logs".equals(a.attributes().get("table")))
                .findFirst().orElseThrow();
        out.damage(part.name(), part.size() / 2);
        assertThatThrownBy(() -> staging(dst).restore(out.input("db", REPLACE)))
                .isInstanceOf(IntegrityException.class).hasMessageContaining(part.name()).hasMessageContaining("rolled back");
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        assertThat(oids(dst)).isEqualTo(oids);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    @Test
    void failureAfterTheSwapRollsItBack() throws Exception {
        String src = source();
        // an orphan the anti-join finds only after the load, while logs is already staged
        TestPg.exec(src, "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey; INSERT INTO child VALUES (0, 99999999)");
        MemoryStoreIo out = backup(src);
        String dst = target();
        Map<String, String> before = DbContent.tables(dst);
        Map<String, Long> oids = oids(dst);
        Set<String> structure = DbContent.structure(dst);
        // the fingerprint has no foreign key to compare, the target has it: the load succeeds, the check fails
        assertThatThrownBy(() -> staging(dst).restore(out.input("db", REPLACE)))
                .isInstanceOf(StoreException.class).hasMessageContaining("public.child").hasMessageContaining("rolled back");
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        assertThat(oids(dst)).isEqualTo(oids);
        assertThat(DbContent.structure(dst)).isEqualTo(structure);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    @Test
    void stagingConnectionKilledMidLoadLeavesTheTargetAndNoCopies() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target();
        Map<String, String> before = DbContent.tables(dst);
        Map<String, Long> oids = oids(dst);
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch killed = new CountDownLatch(1);
        RestoreInput base = out.input("db", REPLACE);
        RestoreInput slow = new WrappedInput(base, 2,
                (a, in) -> "public.logs".equals(a.attributes().get("table")) ? WrappedInput.held(in, reading, killed) : in);
        Thread killer = new Thread(() -> {
            try {
                reading.await(20, TimeUnit.SECONDS);
                // only the connections copying into the staging schema, not the restore's transaction
                for (int i = 0; i < 100; i++) {
                    try (Connection c = TestPg.connect("postgres"); Statement st = c.createStatement();
                         ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                 + " WHERE datname = '" + dst + "' AND query LIKE 'COPY \"sgbackup\\_stage\\_%'")) {
                        rs.next();
                        if (rs.getInt(1) > 0) {
                            break;
                        }
                    }
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            } finally {
                killed.countDown();
            }
        });
        killer.start();
        assertThatThrownBy(() -> staging(dst).restore(slow))
                .isInstanceOf(StoreException.class).hasMessageContaining("failed at loading the staged tables")
                .hasMessageContaining("target is unchanged");
        killer.join();
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        assertThat(oids(dst)).isEqualTo(oids);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    @Test
    @org.junit.jupiter.api.Timeout(120) // a restore waiting for its stuck loaders would never return
    void transactionFailingWhileCopiesStillLoadStopsTheLoadersAndDropsTheCopies() throws Exception {
        MemoryStoreIo out = backup(source());
        ArtifactInfo viewed = out.artifacts.stream().filter(a -> a.name().startsWith("public.viewed")).findFirst().orElseThrow();
        out.damage(viewed.name(), viewed.size() / 2);
        String dst = target();
        Map<String, String> before = DbContent.tables(dst);
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        CountDownLatch loading = new CountDownLatch(1);
        RestoreInput base = out.input("db", REPLACE);
        RestoreInput stuck = new WrappedInput(base, 2, (a, in) -> {
            if (a.name().equals(viewed.name())) {
                try { // the transaction reaches the damage only once a staged load is under way
                    loading.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
            if (!"public.logs".equals(a.attributes().get("table"))) {
                return in;
            }
            return new FilterInputStream(in) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    loading.countDown();
                    try {
                        never.await(); // until the restore gives up on it
                    } catch (InterruptedException e) {
                        stopped.countDown();
                        throw new java.io.InterruptedIOException("stopped");
                    }
                    return super.read(b, off, len);
                }
            };
        });
        assertThatThrownBy(() -> staging(dst).restore(stuck))
                .isInstanceOf(IntegrityException.class).hasMessageContaining(viewed.name()).hasMessageContaining("rolled back");
        // the restore returned although the staged loads never got their bytes: they were stopped
        assertThat(stopped.await(10, TimeUnit.SECONDS)).as("a staged load was interrupted").isTrue();
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        assertThat(stagingSchemas(dst)).isEmpty();
    }

    @Test
    void schemasLeftByAKilledRestoreAreDroppedUnlessARestoreHoldsThem() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target();
        TestPg.exec(dst, "CREATE SCHEMA sgbackup_stage_000000000001; CREATE TABLE sgbackup_stage_000000000001.logs (id int);"
                + "CREATE SCHEMA sgbackup_stage_000000000002");
        try (Connection holder = TestPg.connect(dst); Statement st = holder.createStatement()) {
            st.execute("SELECT pg_advisory_lock(hashtext('sgbackup_stage_000000000002'))");
            MemoryStoreIo.Input input = out.input("db", REPLACE);
            staging(dst).restore(input);
            assertThat(stagingSchemas(dst)).containsExactly("sgbackup_stage_000000000002");
            assertThat(out.warnings).anyMatch(w -> w.contains("dropped sgbackup_stage_000000000001"));
        }
        assertThat(DbContent.tables(dst)).containsKey("public.logs");
        assertThat(DbContent.tables(dst).keySet()).noneMatch(t -> t.startsWith("sgbackup_stage"));
    }

    @Test
    void withoutParallelismEverythingLoadsInTheTransaction() throws Exception {
        String src = source();
        MemoryStoreIo out = new MemoryStoreIo("postgres", 1);
        PostgresStore.builder("db", TestPg.url(src)).mode(PostgresStore.Mode.JDBC).build().backup(out);
        String dst = target();
        long before = oids(dst).get("logs");
        staging(dst).restore(out.input("db", REPLACE));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(oids(dst).get("logs")).isEqualTo(before);
    }

    static Map<String, Long> oids(String db) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT relname, oid::bigint FROM pg_class WHERE relkind = 'r'"
                     + " AND relnamespace = 'public'::regnamespace")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    static List<String> stagingSchemas(String db) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sgbackup%' ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
