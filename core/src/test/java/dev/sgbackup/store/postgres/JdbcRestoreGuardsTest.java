package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every guard of the JDBC restore, each with the failure it prevents; the target stays as it was. */
class JdbcRestoreGuardsTest {
    static final String SCHEMA = "CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);"
            + "CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent(id), v text);"
            + "CREATE INDEX child_v_idx ON child (v);"
            + "CREATE TABLE audit (id serial PRIMARY KEY, msg text);"
            + "CREATE FUNCTION audit_f() RETURNS trigger AS $$ BEGIN INSERT INTO audit (msg) VALUES ('child ' || NEW.id);"
            + " RETURN NEW; END $$ LANGUAGE plpgsql;"
            + "CREATE TRIGGER child_audit AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION audit_f();";
    static final String DATA = "INSERT INTO parent (name) SELECT 'p' || g FROM generate_series(1, 3) g;"
            + "INSERT INTO child (parent_id, v) SELECT 1 + g % 3, repeat('v', g) FROM generate_series(1, 2000) g;";

    static String source() throws Exception {
        return TestPg.db(SCHEMA, DATA);
    }

    static MemoryStoreIo backup(String db) throws Exception {
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("db", TestPg.url(db)).mode(PostgresStore.Mode.JDBC).build().backup(out);
        return out;
    }

    static String target(String schema) throws Exception {
        return TestPg.db(schema);
    }

    @Test
    void triggersDoNotFireAndIndexesAreRebuilt() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        String dst = target(SCHEMA);
        PostgresStore.builder("db", TestPg.url(dst)).build().restore(out.input("db", RestoreOptions.defaults()));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.rows(dst, "audit")).isEqualTo(2000); // restored rows only, no trigger duplicates
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_indexes WHERE indexname = 'child_v_idx'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT reltuples FROM pg_class WHERE oid = 'public.child'::regclass")) {
            rs.next();
            assertThat(rs.getLong(1)).as("ANALYZE ran on the restored table").isEqualTo(2000);
        }
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement()) {
            st.execute("INSERT INTO parent (name) VALUES ('next')"); // the sequence continues after restored ids
        }
    }

    @Test
    void largeTablesGetExpressionAndOpclassIndexesRebuiltAndKeepIndexesOthersNeed() throws Exception {
        String schema = "CREATE TABLE big (id int PRIMARY KEY, code text NOT NULL, v text);"
                + "CREATE INDEX big_lower_v ON big (lower(v));"                     // depends on a function
                + "CREATE INDEX big_v_pattern ON big (v text_pattern_ops);"          // depends on an operator class
                + "CREATE UNIQUE INDEX big_code_key ON big (code);"                  // a foreign key needs it
                + "CREATE INDEX big_clustered ON big (v); ALTER TABLE big CLUSTER ON big_clustered;"
                + "CREATE TABLE ref (id int PRIMARY KEY, code text REFERENCES big (code));";
        String src = TestPg.db(schema, "INSERT INTO big SELECT g, 'c' || g, 'Value ' || g FROM generate_series(1, 12000) g;"
                + "INSERT INTO ref SELECT g, 'c' || g FROM generate_series(1, 10) g;");
        MemoryStoreIo out = backup(src);
        String dst = target(schema);
        TestPg.exec(dst, "INSERT INTO big VALUES (1, 'seed', 'x')");
        Map<String, Long> before = indexOids(dst);
        PostgresStore.builder("db", TestPg.url(dst)).build().restore(out.input("db", new RestoreOptions(true, false)));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        assertThat(DbContent.structure(dst)).isEqualTo(DbContent.structure(src));
        Map<String, Long> after = indexOids(dst);
        assertThat(after.keySet()).isEqualTo(before.keySet());
        // rebuilt after the load (a new index), or kept because something needs it
        assertThat(after.get("big_lower_v")).isNotEqualTo(before.get("big_lower_v"));
        assertThat(after.get("big_v_pattern")).isNotEqualTo(before.get("big_v_pattern"));
        assertThat(after.get("big_code_key")).as("referenced by a foreign key").isEqualTo(before.get("big_code_key"));
        assertThat(after.get("big_clustered")).as("the CLUSTER index").isEqualTo(before.get("big_clustered"));
    }

    static Map<String, Long> indexOids(String db) throws Exception {
        Map<String, Long> out = new java.util.TreeMap<>();
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT indexrelid::regclass::text, indexrelid::bigint FROM pg_index"
                     + " WHERE indrelid = 'public.big'::regclass")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    @Test
    void ownerWithoutReplicaRightsDisablesTriggersInstead() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        String dst = TestPg.db("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'owner1') THEN"
                + " CREATE ROLE owner1 LOGIN; END IF; END $$", "GRANT CREATE ON SCHEMA public TO owner1",
                "SET ROLE owner1", SCHEMA);
        String url = "jdbc:postgresql://localhost:" + TestPg.port() + "/" + dst + "?user=owner1";
        PostgresStore.builder("db", url).build().restore(out.input("db", RestoreOptions.defaults()));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT tgenabled FROM pg_trigger WHERE tgname = 'child_audit'")) {
            rs.next();
            assertThat(rs.getString(1)).as("trigger enabled again").isEqualTo("O");
        }
    }

    @Test
    void duplicateKeysInTheBackupFailWhenThePrimaryKeyIsRebuiltAndRollBack() throws Exception {
        String src = TestPg.emptyDb();
        // enough rows that the key is dropped for the load and rebuilt after it
        TestPg.exec(src, "CREATE TABLE parent (id int NOT NULL, name text NOT NULL);"
                + "INSERT INTO parent SELECT g, 'p' FROM generate_series(1, 10000) g; INSERT INTO parent VALUES (1, 'b');");
        MemoryStoreIo out = backup(src);
        // the fingerprint has no primary key; give the target the same shape, then add the key by hand
        String dst = target("CREATE TABLE parent (id int NOT NULL, name text NOT NULL)");
        StoreBackupEdit.withPrimaryKey(out, "public.parent", "id");
        TestPg.exec(dst, "ALTER TABLE parent ADD CONSTRAINT parent_pkey PRIMARY KEY (id)");
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(dst)).build()
                .restore(out.input("db", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class).hasMessageContaining("recreating indexes")
                .hasMessageContaining("parent_pkey").hasMessageContaining("rolled back");
        assertThat(DbContent.rows(dst, "parent")).isZero();
        assertThat(DbContent.structure(dst)).contains("parent parent_pkey PRIMARY KEY (id) true");
    }

    @Test
    void duplicateKeysInASmallTableFailDuringTheLoadAndRollBack() throws Exception {
        String src = TestPg.db("CREATE TABLE parent (id int NOT NULL, name text NOT NULL);"
                + "INSERT INTO parent VALUES (1, 'a'), (1, 'b');");
        MemoryStoreIo out = backup(src);
        String dst = target("CREATE TABLE parent (id int NOT NULL, name text NOT NULL)");
        StoreBackupEdit.withPrimaryKey(out, "public.parent", "id");
        TestPg.exec(dst, "ALTER TABLE parent ADD CONSTRAINT parent_pkey PRIMARY KEY (id)");
        // a table this small keeps its key during the load, which catches the duplicate row
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(dst)).build()
                .restore(out.input("db", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class).hasMessageContaining("failed at public.parent")
                .hasMessageContaining("parent_pkey").hasMessageContaining("rolled back");
        assertThat(DbContent.rows(dst, "parent")).isZero();
        assertThat(DbContent.structure(dst)).contains("parent parent_pkey PRIMARY KEY (id) true");
    }

    @Test
    void schemaMismatchIsRefusedListingTheDifferences() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target(SCHEMA.replace("v text", "v varchar(10), extra int").replace("name text", "name bigint"));
        Map<String, String> before = DbContent.tables(dst);
        PostgresStore store = PostgresStore.builder("db", TestPg.url(dst)).build();
        assertThatThrownBy(() -> store.restore(out.input("db", new RestoreOptions(true, false))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("differs from the backup")
                .hasMessageContaining("public.child.v is character varying(10) in the target, text in the backup")
                .hasMessageContaining("public.child.extra exists only in the target")
                .hasMessageContaining("public.parent.name is bigint in the target, text in the backup");
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        // column order alone is no mismatch
        String reordered = target("CREATE TABLE parent (name text NOT NULL, id serial PRIMARY KEY);"
                + SCHEMA.substring(SCHEMA.indexOf("CREATE TABLE child")));
        CheckReport r = new CheckReport();
        PostgresStore.builder("db", TestPg.url(reordered)).build().checkRestore(out.storeBackup("db"), RestoreOptions.defaults(), r);
        assertThat(r.ok()).as(r.toString()).isTrue();
    }

    @Test
    void nonEmptyTargetNeedsReplace() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        String dst = target(SCHEMA);
        TestPg.exec(dst, "INSERT INTO parent (name) VALUES ('seed')");
        PostgresStore store = PostgresStore.builder("db", TestPg.url(dst)).build();
        assertThatThrownBy(() -> store.restore(out.input("db", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("is not empty")
                .hasMessageContaining("public.parent").hasMessageContaining("replace");
        assertThat(DbContent.rows(dst, "parent")).isEqualTo(1);
        store.restore(out.input("db", new RestoreOptions(true, false)));
        assertThat(DbContent.tables(dst)).isEqualTo(DbContent.tables(src));
    }

    @Test
    void damagedArtifactRollsBack() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target(SCHEMA);
        TestPg.exec(dst, "INSERT INTO parent (name) VALUES ('keep')");
        Map<String, String> before = DbContent.tables(dst);
        ArtifactInfo child = out.artifacts.stream().filter(a -> a.name().equals("public.child")).findFirst().orElseThrow();
        out.damage(child.name(), 100);
        PostgresStore store = PostgresStore.builder("db", TestPg.url(dst)).build();
        assertThatThrownBy(() -> store.restore(out.input("db", new RestoreOptions(true, false))))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("public.child")
                .hasMessageContaining("rolled back");
        assertThat(DbContent.tables(dst)).isEqualTo(before);
    }

    @Test
    void orphansFoundByTheAntiJoinRollBack() throws Exception {
        String src = TestPg.db("CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);"
                + "CREATE TABLE child (id serial PRIMARY KEY, parent_id int, v text);"
                + "INSERT INTO parent (name) VALUES ('a'); INSERT INTO child (parent_id, v) VALUES (1, 'ok'), (99, 'orphan');"
                + "ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent(id) NOT VALID;");
        MemoryStoreIo out = backup(src);
        String dst = target("CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);"
                + "CREATE TABLE child (id serial PRIMARY KEY, parent_id int CONSTRAINT child_parent_fk REFERENCES parent(id), v text);");
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(dst)).build()
                .restore(out.input("db", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class).hasMessageContaining("1 rows of public.child")
                .hasMessageContaining("rolled back");
        assertThat(DbContent.rows(dst, "child")).isZero();
    }

    @Test
    void rowLevelSecurityWithoutBypassIsRefusedBeforeWriting() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target(SCHEMA);
        TestPg.exec(dst, "ALTER TABLE child ENABLE ROW LEVEL SECURITY",
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lowpriv') THEN"
                        + " CREATE ROLE lowpriv LOGIN; END IF; END $$",
                "GRANT SELECT, INSERT, TRUNCATE ON ALL TABLES IN SCHEMA public TO lowpriv",
                "GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO lowpriv");
        String url = "jdbc:postgresql://localhost:" + TestPg.port() + "/" + dst + "?user=lowpriv";
        assertThatThrownBy(() -> PostgresStore.builder("db", url).build().restore(out.input("db", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("public.child has row-level security").hasMessageContaining("BYPASSRLS")
                .hasMessageContaining("may neither SET session_replication_role nor disable the triggers");
        assertThat(DbContent.rows(dst, "parent")).isZero();
    }

    @Test
    void backupAsARoleSubjectToRowLevelSecurityIsRefusedNamingTheTable() throws Exception {
        String src = source();
        TestPg.exec(src, "ALTER TABLE child ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY only_some ON child USING (id < 10)",
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN"
                        + " CREATE ROLE reader LOGIN; END IF; END $$",
                "GRANT SELECT ON parent, child TO reader");
        String url = "jdbc:postgresql://localhost:" + TestPg.port() + "/" + src + "?user=reader";
        PostgresStore store = PostgresStore.builder("db", url).mode(PostgresStore.Mode.JDBC).build();
        CheckReport r = new CheckReport();
        store.checkBackup(r);
        assertThat(r.toString()).contains("public.child has row-level security").contains("BYPASSRLS")
                .contains("no permission to read table public.audit");
        // and the backup itself never silently copies the filtered rows
        assertThatThrownBy(() -> store.backup(new MemoryStoreIo("postgres", 1))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("public.child has row-level security")
                .hasMessageContaining("no permission to read sequence public.audit_id_seq");
    }

    @Test
    void unselectedTableWithRowsReferencingASelectedOneIsRefusedAnEmptyOneIsNot() throws Exception {
        String src = source();
        MemoryStoreIo out = backup(src);
        // keep only parent's artifact: child (not restored, unknown to the catalog) references parent
        StoreBackup full = out.storeBackup("db");
        StoreBackup onlyParent = new StoreBackup("db", "postgres", "db", full.properties(),
                full.artifacts().stream().filter(a -> a.name().equals("public.parent")).toList(), List.of());
        String dst = target(SCHEMA);
        TestPg.exec(dst, "INSERT INTO parent (name) VALUES ('x')", "INSERT INTO child (parent_id, v) VALUES (1, 'keep')");
        Map<String, String> before = DbContent.tables(dst);
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(dst)).build()
                .restore(out.input(onlyParent, new RestoreOptions(true, false))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("table public.child (unknown category) has 1 rows and references public.parent (restored)")
                .hasMessageContaining("CASCADE");
        assertThat(DbContent.tables(dst)).isEqualTo(before);
        // an empty referencing table loses nothing: it joins the TRUNCATE and the restore goes through
        TestPg.exec(dst, "DELETE FROM child");
        PostgresStore.builder("db", TestPg.url(dst)).build().restore(out.input(onlyParent, new RestoreOptions(true, false)));
        assertThat(DbContent.tables(dst).get("public.parent")).isEqualTo(DbContent.tables(src).get("public.parent"));
        assertThat(DbContent.rows(dst, "child")).isZero();
    }

    @Test
    void connectionKilledMidRestoreLeavesTheTargetIntact() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target(SCHEMA);
        TestPg.exec(dst, "INSERT INTO parent (name) VALUES ('keep')");
        Map<String, String> before = DbContent.tables(dst);
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch killed = new CountDownLatch(1);
        RestoreInput base = out.input("db", new RestoreOptions(true, false));
        RestoreInput slow = new WrappedInput(base, 1,
                (a, in) -> a.name().equals("public.child") ? WrappedInput.held(in, reading, killed) : in);
        Thread killer = new Thread(() -> {
            try {
                reading.await(20, TimeUnit.SECONDS);
                TestPg.exec("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dst
                        + "' AND application_name = 'sgbackup'");
            } catch (Exception e) {
                throw new RuntimeException(e);
            } finally {
                killed.countDown();
            }
        });
        killer.start();
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(dst)).build().restore(slow))
                .isInstanceOf(StoreException.class).hasMessageContaining("failed at public.child")
                .hasMessageContaining("target is unchanged");
        killer.join();
        assertThat(DbContent.tables(dst)).isEqualTo(before);
    }

    @Test
    void dryRunWritesNothing() throws Exception {
        MemoryStoreIo out = backup(source());
        String dst = target(SCHEMA);
        PostgresStore.builder("db", TestPg.url(dst)).build().restore(out.input("db", new RestoreOptions(false, true)));
        assertThat(DbContent.rows(dst, "child")).isZero();
        assertThat(Set.copyOf(out.artifacts.stream().map(ArtifactInfo::name).toList()))
                .containsExactlyInAnyOrder("public.parent", "public.child", "public.audit");
    }
}
