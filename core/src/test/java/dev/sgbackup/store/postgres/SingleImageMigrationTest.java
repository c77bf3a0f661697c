package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The single image → Docker Compose migration (docs/plans.md, "Single image → Docker Compose"), database side.
 *
 * <p>Source: one cluster as {@code sourcegraph/server} runs it — databases {@code sourcegraph} and
 * {@code sourcegraph-codeintel}, everything owned by the superuser {@code postgres}. Target: a Compose instance —
 * {@code sg} on {@code pgsql} and {@code sg} on {@code codeintel-db}, migrated by (and owned by) the role
 * {@code sg}, which is not a superuser. (Both are databases of the one embedded cluster, so their names carry a
 * suffix; the role and ownership are what matter here.) The backup takes both databases (scope all: jdbc, and
 * pg_dump where this machine's pg_dump can dump the server; scope essential: the frontend's essential categories,
 * jdbc), the restore runs with replace connected as {@code sg}. Then: restored tables equal the source, foreign
 * keys hold, sequences are past their columns, nothing in the target is owned by {@code postgres}, and {@code sg}
 * can read, write and draw ids from everything.
 */
class SingleImageMigrationTest {
    static final TestPg.Server PG = TestPg.on(TestPg.DEFAULT_MAJOR);
    /** Backups live on disk for the class's run, not in the heap: the cached backups would otherwise stay in memory. */
    static final java.nio.file.Path SINK_DIR = TestPg.tempDir("sgbackup-single-image-sink");
    static final SgBackup SG = SgBackup.to(Sinks.local(SINK_DIR));

    @org.junit.jupiter.api.AfterAll
    static void removeSink() throws java.io.IOException {
        TestPg.deleteTree(SINK_DIR);
    }

    static final String ROLE = "sg";
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Map<String, String> COMPOSE_TEMPLATES = new ConcurrentHashMap<>();

    enum Scope { ALL, ESSENTIAL }

    static Stream<Arguments> journeys() {
        List<Arguments> out = new ArrayList<>();
        for (String v : MigrationMatrixTest.VERSIONS) {
            out.add(Arguments.of(v, Scope.ALL, PostgresStore.Mode.JDBC));
            if (PgTool.unusable(PgTool.find("pg_dump", null), PG.major(), "pg_dump") == null) {
                out.add(Arguments.of(v, Scope.ALL, PostgresStore.Mode.PG_DUMP));
            }
            out.add(Arguments.of(v, Scope.ESSENTIAL, PostgresStore.Mode.JDBC));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "Sourcegraph {0}, scope {1}, {2}")
    @MethodSource("journeys")
    void singleImageBackupRestoresIntoComposeAsRoleSg(String version, Scope scope, PostgresStore.Mode mode) throws Exception {
        TestPg.Server pg = PG;
        int n = COUNTER.incrementAndGet();
        String v = version.replace(".", "");
        // the single image: databases sourcegraph and sourcegraph-codeintel, owned by postgres
        String srcFrontend = copy(pg, MigrationMatrixTest.source(pg, version), "sourcegraph-" + v + "-" + n, "postgres");
        String srcCodeintel = copy(pg, JdbcRoundTripTest.filled(codeintelFile(version)), "sourcegraph-codeintel-" + v + "-" + n,
                "postgres");
        assertThat(owners(pg, srcFrontend)).containsOnly("postgres");
        Map<String, String> wantFrontend = DbContent.tables(pg, srcFrontend);
        Map<String, String> wantCodeintel = DbContent.tables(pg, srcCodeintel);

        List<PostgresStore> sources = new ArrayList<>();
        PostgresStore.Builder fb = PostgresStore.builder("frontend", pg.url(srcFrontend)).mode(mode);
        if (scope == Scope.ESSENTIAL) {
            fb.categories(Category.parseAll(Instance.essentialCategories(false)));
        }
        sources.add(fb.build());
        if (scope == Scope.ALL) { // essential leaves the code-intel database out (re-upload precise indexes)
            sources.add(PostgresStore.builder("codeintel", pg.url(srcCodeintel)).mode(mode).build());
        }
        RunResult b = SG.backup(sources.toArray(PostgresStore[]::new));
        assertThat(b.ok()).as(b.toString()).isTrue();
        String id = b.backupId();

        // the Compose instance: sg on pgsql, sg on codeintel-db, migrated by the non-superuser role sg
        String dstFrontend = compose(pg, frontendFile(version), "sg_pgsql_" + v + "_" + n);
        String dstCodeintel = compose(pg, codeintelFile(version), "sg_codeintel_db_" + v + "_" + n);
        List<PostgresStore> targets = new ArrayList<>(List.of(asSg("frontend", pg, dstFrontend)));
        if (scope == Scope.ALL) {
            targets.add(asSg("codeintel", pg, dstCodeintel));
        }
        RestoreOptions replace = new RestoreOptions(true, false);
        for (PostgresStore t : targets) {
            CheckReport r = new CheckReport();
            t.checkRestore(SG.show(id).store(t.name()).orElseThrow(), replace, r);
            assertThat(r.errors()).as(t.name() + ": " + r).isEmpty();
        }
        RunResult rr = SG.restore(id, replace, targets.toArray(PostgresStore[]::new));
        assertThat(rr.ok()).as(rr.toString()).isTrue();
        if (mode == PostgresStore.Mode.PG_DUMP && version.equals("5.11")) {
            // pg_stat_statements belongs to postgres in the target (only a superuser creates it): left as it is
            assertThat(rr.warnings()).anyMatch(w -> w.contains("pg_stat_statements") && w.contains("leaves them as they are"));
        }

        check(pg, id, "frontend", wantFrontend, dstFrontend);
        if (scope == Scope.ALL) {
            check(pg, id, "codeintel", wantCodeintel, dstCodeintel);
        }
        // the instance works as sg afterwards: a new user (sequence, triggers) and a new repository
        try (Connection c = connectAs(pg, ROLE, dstFrontend); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("SET app.current_tenant = '1'");
            st.execute("INSERT INTO users (username) VALUES ('after-the-migration')");
            st.execute("INSERT INTO repo (name) VALUES ('github.com/after/the-migration')");
            c.rollback();
        }
    }

    /** What the user checks after the restore, for one database. */
    private static void check(TestPg.Server pg, String id, String store, Map<String, String> source, String dst)
            throws Exception {
        StoreBackup b = SG.show(id).store(store).orElseThrow();
        Set<String> restored = b.properties().get("strategy").equals("jdbc")
                ? new TreeSet<>(JdbcRestore.tables(b).keySet()) : new TreeSet<>(source.keySet());
        Map<String, String> after = DbContent.tables(pg, dst);
        Map<String, String> want = new TreeMap<>();
        Map<String, String> got = new TreeMap<>();
        for (String t : restored) {
            want.put(t, source.get(t));
            got.put(t, after.get(t));
        }
        assertThat(got).as(store + ": restored tables equal the source").isEqualTo(want);
        assertThat(MigrationMatrixTest.foreignKeyViolations(pg, dst)).as(store + ": foreign keys").isEmpty();
        assertThat(MigrationMatrixTest.sequencesBehind(pg, dst)).as(store + ": sequences behind their columns").isEmpty();
        assertThat(owners(pg, dst)).as(store + ": owners of the target's objects").containsOnly(ROLE);
        assertThat(unusable(pg, dst)).as(store + ": what sg cannot use").isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------

    static String frontendFile(String version) {
        return "sourcegraph-frontend-" + version + ".sql";
    }

    static String codeintelFile(String version) {
        return "sourcegraph-codeintel-" + version + ".sql";
    }

    /** A copy of {@code template} named {@code name} (quoted: the single image's names have dashes), owned by {@code owner}. */
    static String copy(TestPg.Server pg, String template, String name, String owner) throws SQLException {
        synchronized (pg) {
            pg.exec("postgres", "DROP DATABASE IF EXISTS " + PgSchema.quote(name),
                    "CREATE DATABASE " + PgSchema.quote(name) + " OWNER " + owner + " TEMPLATE " + PgSchema.quote(template));
        }
        return name;
    }

    /**
     * A Compose database freshly migrated by role {@code sg} (not a superuser): the schema loaded connected as sg,
     * so sg owns every table, sequence, function and type, and the trusted extensions; an extension only a
     * superuser may create (pg_stat_statements) is created beforehand by {@code postgres}, as a DBA would.
     */
    static String compose(TestPg.Server pg, String sqlFile, String name) throws Exception {
        String tpl;
        synchronized (COMPOSE_TEMPLATES) {
            tpl = COMPOSE_TEMPLATES.get(sqlFile);
            if (tpl == null) {
                tpl = "tpl_compose_" + sqlFile.replaceAll("[^a-z0-9]", "_");
                pg.exec("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + ROLE + "') THEN"
                                + " CREATE ROLE " + ROLE + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$",
                        "DROP DATABASE IF EXISTS " + tpl, "CREATE DATABASE " + tpl + " OWNER " + ROLE);
                String sql = Files.readString(TestPg.SQL.resolve(sqlFile), StandardCharsets.UTF_8)
                        .replaceAll("(?i)\\bCONCURRENTLY\\b", "");
                if (sql.contains("pg_stat_statements")) {
                    pg.exec(tpl, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
                    sql = sql.replaceAll("(?m)^COMMENT ON EXTENSION pg_stat_statements .*$", "");
                }
                Properties p = new Properties();
                p.setProperty("user", ROLE);
                p.setProperty("preferQueryMode", "simple");
                try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + pg.port() + "/" + tpl, p);
                     Statement st = c.createStatement()) {
                    st.execute("SET app.current_tenant = '1'");
                    st.execute(sql);
                }
                COMPOSE_TEMPLATES.put(sqlFile, tpl);
            }
        }
        return copy(pg, tpl, name, ROLE);
    }

    static PostgresStore asSg(String store, TestPg.Server pg, String db) {
        return PostgresStore.builder(store, "jdbc:postgresql://localhost:" + pg.port() + "/" + db + "?user=" + ROLE).build();
    }

    static Connection connectAs(TestPg.Server pg, String role, String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", role);
        p.setProperty("stringtype", "unspecified");
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + pg.port() + "/" + db, p);
    }

    /**
     * The owners of the database's own objects (schema public, relations, functions, types; extension members and
     * the extensions a superuser had to create left out): "kind name → owner" for those not owned by
     * {@code ROLE}, or just the set of owners.
     */
    static Set<String> owners(TestPg.Server pg, String db) throws SQLException {
        Set<String> out = new TreeSet<>();
        String notExt = " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = x.oid AND d.deptype = 'e')";
        try (Connection c = pg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT pg_get_userbyid(x.relowner), x.oid::regclass::text FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace"
                             + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')" + notExt
                             + " UNION SELECT pg_get_userbyid(x.proowner), x.oid::regprocedure::text FROM pg_proc x JOIN pg_namespace n ON n.oid = x.pronamespace"
                             + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')" + notExt
                             + " UNION SELECT pg_get_userbyid(x.typowner), x.oid::regtype::text FROM pg_type x JOIN pg_namespace n ON n.oid = x.typnamespace"
                             + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')" + notExt
                             // a relation's row type goes with the relation, an array type with its element type
                             + " AND x.typrelid = 0 AND x.typcategory <> 'A'"
                             + " UNION SELECT pg_get_userbyid(x.nspowner), 'schema public' FROM pg_namespace x WHERE x.nspname = 'public'"
                             + " UNION SELECT pg_get_userbyid(x.datdba), 'database' FROM pg_database x WHERE x.datname = current_database()")) {
            while (rs.next()) { // pg_database_owner (PostgreSQL 15's owner of public) stands for the database's owner
                if (!rs.getString(1).equals("pg_database_owner")) {
                    out.add(rs.getString(1));
                    if (!rs.getString(1).equals(ROLE) && out.size() < 30) {
                        System.out.println(db + ": " + rs.getString(2) + " owned by " + rs.getString(1));
                    }
                }
            }
        }
        return out;
    }

    /** Tables sg cannot SELECT/INSERT/UPDATE/DELETE, sequences it cannot draw from (nextval, as sg). */
    static List<String> unusable(TestPg.Server pg, String db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = connectAs(pg, ROLE, db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (PgSchema.Table t : s.tables.values()) {
                try (ResultSet rs = st.executeQuery("SELECT has_table_privilege(current_user, "
                        + PgSchema.quoteLiteral(t.sql()) + ", 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        out.add("table " + t.qualified());
                    }
                }
            }
            for (PgSchema.Sequence q : s.sequences) {
                try {
                    st.executeQuery("SELECT nextval(" + PgSchema.quoteLiteral(q.sql()) + "::regclass)").close();
                } catch (SQLException e) {
                    out.add("sequence " + q.qualified() + ": " + e.getMessage());
                }
            }
        }
        return out;
    }
}
