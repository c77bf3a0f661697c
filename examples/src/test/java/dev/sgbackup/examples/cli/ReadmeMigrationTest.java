package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sgbackup.examples.EmbeddedPg;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The README's migration, run through the CLI exactly as the README writes it, from a filled Sourcegraph 5.11
 * instance into a new one: a freshly migrated instance (seed rows only) and one that already started and synced
 * (other repository ids), with either PostgreSQL strategy. Checked the way a user would: every table the backup
 * holds equals the source, repositories keep their names under every restored repository id, every foreign key
 * of the new instance holds, and every restored repository will be cloned and indexed.
 */
class ReadmeMigrationTest {
    static final String PASSPHRASE = "correct horse battery staple";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static CliTest.Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main main = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false);
        main.env = Map.of("SGBACKUP_PASSPHRASE", PASSPHRASE)::get;
        int code = main.run(args);
        return new CliTest.Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "{0} strategy into a {1} instance")
    @CsvSource({"auto, fresh", "auto, synced", "pg_dump, fresh", "pg_dump, synced"})
    void essentialBackupRestoresIntoANewInstance(String mode, String target) throws Exception {
        String frontend = instanceDb("sourcegraph-frontend-5.11.sql", "journey/source-frontend-5.11.sql");
        String insights = instanceDb("sourcegraph-codeinsights-5.11.sql", "journey/source-codeinsights-5.11.sql");
        Path prometheus = Files.createDirectories(tmp.resolve("prometheus-v2/_data/wal"));
        Files.writeString(prometheus.resolve("00000001"), "metrics\n".repeat(1000));
        String sink = tmp.resolve("backups").toUri().toString();

        // README: sgbackup backup --scope essential ... --to ... --encrypt (config store left out: no Sourcegraph API here)
        List<String> backup = new ArrayList<>(List.of("backup", "--scope", "essential",
                "--postgres", "frontend=" + EmbeddedPg.url(frontend),
                "--postgres", "codeinsights=" + EmbeddedPg.url(insights),
                "--volume", "prometheus=" + prometheus.getParent(),
                "--to", sink, "--encrypt"));
        if (!mode.equals("auto")) {
            backup.addAll(List.of("--postgres-mode", mode));
        }
        CliTest.Run b = cli(backup.toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.last();

        String newFrontend = instanceDb("sourcegraph-frontend-5.11.sql",
                target.equals("synced") ? "journey/synced-frontend-5.11.sql" : null);
        String newInsights = instanceDb("sourcegraph-codeinsights-5.11.sql", null);
        // README: sgbackup restore --from ... --backup ID --postgres frontend=... --phase db --replace
        CliTest.Run r = cli("restore", "--from", sink, "--backup", id, "--postgres", "frontend=" + EmbeddedPg.url(newFrontend),
                "--postgres", "codeinsights=" + EmbeddedPg.url(newInsights), "--phase", "db", "--replace");
        assertThat(r.code()).as(r.err()).isZero();

        JsonNode manifest = JSON.readTree(cli("show", "--from", sink, "--backup", id, "--json").out());
        for (String[] db : new String[][] {{"frontend", frontend, newFrontend}, {"codeinsights", insights, newInsights}}) {
            List<String> tables = restoredTables(manifest, db[0], db[1]);
            assertThat(tables).as(db[0] + " tables in the backup").isNotEmpty();
            for (String t : tables) {
                assertThat(contentHash(db[2], t)).as(db[0] + " " + t + " equals the source").isEqualTo(contentHash(db[1], t));
            }
            assertThat(foreignKeyOrphans(db[2])).as(db[0] + ": the new instance's foreign keys hold").isEmpty();
            assertThat(sequencesBehindTheirColumns(db[2])).as(db[0] + ": sequences are past their columns").isEmpty();
        }
        List<String> frontendTables = restoredTables(manifest, "frontend", frontend);
        assertThat(frontendTables).as("essential keeps batch changes and what identifies their repositories")
                .contains("public.changesets", "public.repo", "public.external_service_repos", "public.repo_kvps");
        assertThat(repoNamesByReference(newFrontend, frontendTables)).as("every restored repository id names the same repository")
                .isEqualTo(repoNamesByReference(frontend, frontendTables)).isNotEmpty();
        assertThat(scalar(newFrontend, "SELECT count(*) FROM repo r WHERE r.deleted_at IS NULL AND"
                + " (SELECT count(*) FROM gitserver_repos g WHERE g.repo_id = r.id) <> 1")).as("repos without one gitserver row").isZero();
        assertThat(scalar(newFrontend, "SELECT count(*) FROM repo r WHERE r.deleted_at IS NULL AND"
                + " (SELECT count(*) FROM zoekt_repos z WHERE z.repo_id = r.id) <> 1")).as("repos without one zoekt row").isZero();
        assertThat(scalar(newFrontend, "SELECT coalesce(sum(total), 0) FROM repo_statistics"))
                .as("repo_statistics counts the live repositories")
                .isEqualTo(scalar(newFrontend, "SELECT count(*) FROM repo WHERE deleted_at IS NULL AND blocked IS NULL"));
        assertThat(scalar(newFrontend, "SELECT count(*) FROM repo")).isEqualTo(30);
        assertThat(scalar(newFrontend, "SELECT count(*) FROM users WHERE username = 'admin'"))
                .as("the new instance's own accounts are replaced by the old instance's").isZero();

        // README: the volumes phase (services stopped), into an empty directory
        Path newPrometheus = tmp.resolve("new-prometheus");
        CliTest.Run v = cli("restore", "--from", sink, "--backup", id, "--volume", "prometheus=" + newPrometheus, "--phase", "volumes");
        assertThat(v.code()).as(v.err()).isZero();
        assertThat(Files.readString(newPrometheus.resolve("wal/00000001"))).isEqualTo("metrics\n".repeat(1000));
    }

    @org.junit.jupiter.api.Test
    void dryRunSaysWhatAReplaceClearsAndARefusalIsOneLineWithExitCode3() throws Exception {
        // both instances run a Sourcegraph version with a table the catalog does not list, known by its name prefix
        String unseenTable = "CREATE TABLE repo_sync_cursors (repo_id integer NOT NULL REFERENCES repo(id), cursor text);"
                + " INSERT INTO repo_sync_cursors SELECT id, 'c' || id FROM repo";
        String frontend = instanceDb("sourcegraph-frontend-5.11.sql", "journey/source-frontend-5.11.sql");
        run(frontend, unseenTable);
        String sink = tmp.resolve("backups").toUri().toString();
        CliTest.Run b = cli("backup", "--scope", "essential", "--postgres", "frontend=" + EmbeddedPg.url(frontend), "--to", sink,
                "--encrypt");
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.last();

        // the plan says first what a replace empties and clears, as JSON, and changes nothing
        String synced = instanceDb("sourcegraph-frontend-5.11.sql", "journey/synced-frontend-5.11.sql");
        run(synced, unseenTable);
        String before = contentHash(synced, "public.user_repo_permissions") + contentHash(synced, "public.users");
        CliTest.Run dry = cli("restore", "--from", sink, "--backup", id, "--postgres", "frontend=" + EmbeddedPg.url(synced),
                "--phase", "db", "--replace", "--dry-run", "--json");
        assertThat(dry.code()).as(dry.err()).isZero();
        JsonNode plan = JSON.readTree(dry.out());
        assertThat(plan.path("refusals")).isEmpty();
        List<String> cleared = new ArrayList<>();
        List<String> emptied = new ArrayList<>();
        for (JsonNode e : plan.path("empties")) {
            (e.path("action").asText().equals("clear") ? cleared : emptied).add(e.path("table").asText());
            assertThat(e.path("because").asText()).as(e.toString()).isNotBlank();
        }
        assertThat(cleared).as("recreatable rows that would point at replaced repositories and users")
                .contains("public.user_repo_permissions", "public.gitserver_repos", "public.zoekt_repos")
                .doesNotContain("public.users", "public.repo");
        assertThat(emptied).as("restored tables that have rows now").contains("public.users", "public.repo", "public.roles");
        assertThat(plan.path("empties").findParents("table")).filteredOn(e -> e.path("table").asText().equals("public.repo_sync_cursors"))
                .singleElement().satisfies(e -> assertThat(e.path("because").asText()).contains("name prefix 'repo_'"));
        assertThat(contentHash(synced, "public.user_repo_permissions") + contentHash(synced, "public.users"))
                .as("a dry run changes nothing").isEqualTo(before);

        // non-recreatable rows outside the backup that would dangle: refused, on one line, exit 3, nothing changed
        run(synced, "INSERT INTO aggregated_user_statistics (user_id, user_last_active_at, user_events_count)"
                + " SELECT id, now(), 7 FROM users WHERE username = 'admin'");
        Path report = tmp.resolve("report.json");
        CliTest.Run refused = cli("restore", "--from", sink, "--backup", id, "--postgres", "frontend=" + EmbeddedPg.url(synced),
                "--phase", "db", "--replace", "--report", report.toString());
        assertThat(refused.code()).as(refused.err()).isEqualTo(3);
        List<String> refusedLines = refused.err().lines().filter(l -> l.startsWith("refused:")).toList();
        assertThat(refusedLines).singleElement().asString().contains("aggregated_user_statistics").hasSizeLessThan(1000);
        JsonNode findings = JSON.readTree(report.toFile()).path("findings");
        assertThat(findings.findValuesAsText("brief")).anyMatch(x -> x.contains("aggregated_user_statistics → users"));
        assertThat(contentHash(synced, "public.user_repo_permissions") + contentHash(synced, "public.users"))
                .as("a refused restore changes nothing").isEqualTo(before);
    }

    private static final Map<String, String> TEMPLATES = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A new database with Sourcegraph's schema (as its migrations leave it, seed rows included) and then {@code fill},
     * cloned from a template made once per pair.
     */
    static String instanceDb(String schema, String fill) throws SQLException {
        String tpl = TEMPLATES.computeIfAbsent(schema + "+" + fill, k -> {
            try {
                String db = EmbeddedPg.database("SELECT 1");
                run(db, resource("/sourcegraph-data/sql/" + schema).replaceAll("(?i)\\bCONCURRENTLY\\b", ""));
                if (fill != null) {
                    run(db, resource("/" + fill));
                }
                return db;
            } catch (SQLException | IOException e) {
                throw new IllegalStateException("cannot prepare " + k + ": " + e.getMessage(), e);
            }
        });
        synchronized (TEMPLATES) { // CREATE DATABASE ... TEMPLATE needs the template unused
            return EmbeddedPg.clone(tpl);
        }
    }

    static String resource(String name) throws IOException {
        try (InputStream in = ReadmeMigrationTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Connection connect(String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("preferQueryMode", "simple");
        Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + EmbeddedPg.server().getPort() + "/" + db, p);
        try (Statement st = c.createStatement()) {
            st.execute("SET app.current_tenant = '1'");
        }
        return c;
    }

    static void run(String db, String sql) throws SQLException {
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static long scalar(String db, String sql) throws SQLException {
        return Long.parseLong(strings(db, sql).get(0));
    }

    /** One connection per database for the checks (hundreds of queries; a connection each would dominate the test). */
    private static final Map<String, Connection> CHECKS = new java.util.concurrent.ConcurrentHashMap<>();

    @org.junit.jupiter.api.AfterAll
    static void closeCheckConnections() throws SQLException {
        for (Connection c : CHECKS.values()) {
            c.close();
        }
        CHECKS.clear();
    }

    static List<String> strings(String db, String sql) throws SQLException {
        Connection c = CHECKS.get(db);
        if (c == null) {
            c = connect(db);
            CHECKS.put(db, c);
        }
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** The tables a backup holds for {@code store}: one artifact per table (jdbc) or the whole database (pg_dump). */
    static List<String> restoredTables(JsonNode manifest, String store, String sourceDb) throws SQLException {
        for (JsonNode s : manifest.path("stores")) {
            if (!s.path("name").asText().equals(store)) {
                continue;
            }
            List<String> out = new ArrayList<>();
            for (JsonNode a : s.path("artifacts")) {
                String t = a.path("attributes").path("table").asText(a.path("name").asText(""));
                if (!t.isEmpty() && !out.contains(t)) {
                    out.add(t);
                }
            }
            if (s.path("properties").path("strategy").asText().equals("pg_dump")) { // one archive: the whole database
                out.clear();
                out.addAll(strings(sourceDb, "SELECT schemaname || '.' || tablename FROM pg_tables"
                        + " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"));
            }
            return out;
        }
        throw new AssertionError("the backup has no store " + store + ": " + manifest);
    }

    /** An order-independent hash of a table's rows (as text). */
    static String contentHash(String db, String table) throws SQLException {
        return strings(db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"
                + " FROM " + table + " t").get(0);
    }

    /** Every foreign key of the database checked by an anti-join: the constraints the application relies on. */
    static List<String> foreignKeyOrphans(String db) throws SQLException {
        List<String> checks = strings(db, """
                SELECT format('SELECT %L || '': '' || count(*) FROM %s c WHERE (%s) IS NOT NULL AND NOT EXISTS
                  (SELECT 1 FROM %s p WHERE (%s) = (%s)) HAVING count(*) > 0',
                  con.conname, con.conrelid::regclass, cols.c, con.confrelid::regclass, cols.p, cols.cc)
                FROM pg_constraint con
                CROSS JOIN LATERAL (
                  SELECT string_agg('c.' || quote_ident(a.attname), ', ' ORDER BY k.ord) AS c,
                         string_agg('c.' || quote_ident(a.attname), ', ' ORDER BY k.ord) AS cc,
                         string_agg('p.' || quote_ident(pa.attname), ', ' ORDER BY k.ord) AS p
                  FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(ck, pk, ord)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.ck
                  JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pk) cols
                WHERE con.contype = 'f'""");
        List<String> orphans = new ArrayList<>();
        for (String q : checks) {
            orphans.addAll(strings(db, q.replace("WHERE (c.", "WHERE ROW(c.").replace(") IS NOT NULL", ") IS NOT NULL")));
        }
        return orphans;
    }

    /** Sequences owned by a column whose next value would collide with a row. */
    static List<String> sequencesBehindTheirColumns(String db) throws SQLException {
        List<String> checks = strings(db, """
                SELECT format('SELECT %L FROM %s WHERE (SELECT max(%I) FROM %s) >= (SELECT CASE WHEN is_called
                  THEN last_value + 1 ELSE last_value END FROM %s)', s.oid::regclass, s.oid::regclass, a.attname,
                  d.refobjid::regclass, s.oid::regclass)
                FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE s.relkind = 'S'""");
        List<String> behind = new ArrayList<>();
        for (String q : checks) {
            behind.addAll(strings(db, q));
        }
        return behind;
    }

    /**
     * For every table with a repository id column (with or without a foreign key), the repository names its rows
     * point at, in row order: equal in source and target only if ids kept their meaning.
     */
    static Map<String, String> repoNamesByReference(String db, List<String> restored) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        for (String tc : strings(db, """
                SELECT c.table_schema || '.' || c.table_name || ' ' || c.column_name FROM information_schema.columns c
                JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.column_name IN ('repo_id', 'repository_id') AND t.table_type = 'BASE TABLE'
                  AND c.table_schema = 'public' AND c.data_type IN ('integer', 'bigint') ORDER BY 1""")) {
            String[] p = tc.split(" ");
            if (!restored.contains(p[0])) {
                continue;
            }
            String names = strings(db, "SELECT count(*) || ':' || coalesce(md5(string_agg(coalesce(r.name::text, '?'), ','"
                    + " ORDER BY t::text)), '') FROM " + p[0] + " t LEFT JOIN repo r ON r.id = t." + p[1]).get(0);
            if (!names.startsWith("0:")) {
                out.put(tc, names);
            }
        }
        return out;
    }
}
