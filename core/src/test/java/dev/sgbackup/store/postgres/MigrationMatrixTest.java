package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The migration journey for the frontend database: a backup of a Sourcegraph frontend (whole, or the essential
 * categories) restored with replace into a new instance, either freshly migrated (seed rows only) or one that
 * already started and synced (its own users, repositories in another order, clone state, permissions).
 *
 * <p>Schemas 3.21 and 5.11 × selection {whole, essential} × strategy {jdbc, pg_dump (whole only)} × target
 * {fresh, synced}, on each PostgreSQL major of {@link #MAJORS}. After each restore: every table the backup holds
 * equals the source, sequences are past their columns, every foreign key of the target holds, every restored row
 * with a repository id names the same repository (by name) as in the source, and every repository has its
 * gitserver and zoekt row with statistics that match.
 */
class MigrationMatrixTest {
    /** PostgreSQL majors the matrix runs on (TestPg.on(major)); a major is one entry here. */
    static final List<Integer> MAJORS = List.of(15, 16);
    static final List<String> VERSIONS = List.of("3.21", "5.11");

    enum Selection { WHOLE, ESSENTIAL }

    enum Target { FRESH, SYNCED }

    /** The tests that are not a matrix run on the default server. */
    static final TestPg.Server PG = TestPg.on(TestPg.DEFAULT_MAJOR);

    /** Backups live on disk for the class's run, not in the heap: the cached backups would otherwise stay in memory. */
    static final java.nio.file.Path SINK_DIR = TestPg.tempDir("sgbackup-matrix-sink");
    static final SgBackup SG = SgBackup.to(Sinks.local(SINK_DIR));

    @org.junit.jupiter.api.AfterAll
    static void removeSink() throws java.io.IOException {
        TestPg.deleteTree(SINK_DIR);
    }

    private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();
    private static final Map<String, Map<String, String>> SOURCE_CONTENT = new ConcurrentHashMap<>();
    private static final Map<String, String> BACKUPS = new ConcurrentHashMap<>();

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (int major : MAJORS) {
            for (String v : VERSIONS) {
                for (Selection sel : Selection.values()) {
                    for (PostgresStore.Mode mode : List.of(PostgresStore.Mode.JDBC, PostgresStore.Mode.PG_DUMP)) {
                        if (mode == PostgresStore.Mode.PG_DUMP && (sel == Selection.ESSENTIAL
                                || PgTool.unusable(PgTool.find("pg_dump", null), major, "pg_dump") != null)) {
                            // a selection always goes over JDBC (essentialSelection...GoesOverJdbcEvenInPgDumpMode);
                            // and the machine's pg_dump (.ci/run: 15) cannot dump a newer server
                            continue;
                        }
                        for (Target t : Target.values()) {
                            out.add(Arguments.of(major, v, sel, mode, t));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    static String file(String version) {
        return "sourcegraph-frontend-" + version + ".sql";
    }

    // ---------------------------------------------------------------------------------------------------------
    // the source: generated rows in every table, made consistent the way a running instance keeps it

    /** A source database (a clone of a per-JVM template): generated rows, repository ids that point at repositories. */
    static synchronized String source(TestPg.Server pg, String version) throws Exception {
        String key = pg.major() + "/" + version;
        String tpl = SOURCES.get(key);
        if (tpl == null) {
            if (pg.major() == TestPg.DEFAULT_MAJOR) {
                tpl = JdbcRoundTripTest.filled(file(version)); // the template other suites fill too
            } else {
                tpl = pg.schemaDb(file(version));
                try (Connection c = pg.connect(tpl)) {
                    assertThat(new RowGenerator(c, 6).fill().filledShare()).isGreaterThanOrEqualTo(0.8);
                }
            }
            try (Connection c = pg.connect(tpl); Statement st = c.createStatement()) {
                st.execute("SET app.current_tenant = '1'");
                st.execute("SET session_replication_role = replica"); // as generated: no trigger adds rows
                // a few live repositories (generated ones are mostly soft-deleted or blocked)
                // names as code hosts give them (generated text has backslashes, which no repository name has)
                st.execute("UPDATE repo SET name = 'github.com/source/repo-' || id");
                st.execute("UPDATE repo SET deleted_at = NULL WHERE id IN (SELECT id FROM repo ORDER BY id LIMIT 3)");
                if (hasColumn(st, "repo", "blocked")) {
                    st.execute("UPDATE repo SET blocked = NULL WHERE id IN (SELECT id FROM repo ORDER BY id LIMIT 3)");
                }
                // repository ids without a foreign key (lsif_uploads, lsif_configuration_policies...) name real repositories
                PgSchema s = PgSchema.read(c);
                c.setAutoCommit(true);
                for (PgSchema.Table t : s.tables.values()) {
                    for (String col : RepoIdentity.idColumns(s, t.qualified())) {
                        String cn = PgSchema.quote(col.substring(col.lastIndexOf('.') + 1));
                        boolean fk = s.foreignKeys.stream().anyMatch(f -> f.table().equals(t.qualified())
                                && f.columns().contains(col.substring(col.lastIndexOf('.') + 1)));
                        if (fk) {
                            continue;
                        }
                        try {
                            st.execute("UPDATE " + t.sql() + " x SET " + cn + " = r.id FROM (SELECT id, row_number() OVER"
                                    + " (ORDER BY id) - 1 AS n, count(*) OVER () AS k FROM repo) r WHERE x." + cn
                                    + " IS NOT NULL AND r.n = abs(x." + cn + "::bigint) % r.k");
                        } catch (SQLException e) {
                            // a unique key on the column: a few rows keep their (dangling) ids
                        }
                    }
                }
                // what the triggers would have kept (5.x): a gitserver and zoekt row per repository, statistics
                if (s.tables.containsKey("public.gitserver_repos")) {
                    st.execute("INSERT INTO gitserver_repos (repo_id, shard_id) SELECT id, '' FROM repo r WHERE NOT EXISTS"
                            + " (SELECT 1 FROM gitserver_repos g WHERE g.repo_id = r.id)");
                    st.execute("INSERT INTO zoekt_repos (repo_id) SELECT id FROM repo r WHERE NOT EXISTS"
                            + " (SELECT 1 FROM zoekt_repos z WHERE z.repo_id = r.id)");
                    st.execute("DELETE FROM repo_statistics");
                    st.execute("INSERT INTO repo_statistics (total, soft_deleted, not_cloned, cloning, cloned, failed_fetch,"
                            + " corrupted) " + REPO_STATISTICS);
                    st.execute("DELETE FROM gitserver_repos_statistics");
                    st.execute("INSERT INTO gitserver_repos_statistics (shard_id, total, not_cloned, cloning, cloned,"
                            + " failed_fetch, corrupted) " + GITSERVER_STATISTICS);
                }
                // a running instance's sequences are past their columns (generated rows set some ids explicitly)
                for (PgSchema.Sequence q : s.sequences) {
                    if (q.ownerTable() != null) {
                        st.execute("SELECT setval(" + PgSchema.quoteLiteral(q.sql()) + "::regclass, m) FROM (SELECT max("
                                + PgSchema.quote(q.ownerColumn()) + ")::bigint AS m FROM " + s.tables.get(q.ownerTable()).sql()
                                + ") x WHERE m > (SELECT last_value FROM " + q.sql() + ")");
                    }
                }
                st.execute("SET session_replication_role = origin");
            }
            SOURCES.put(key, tpl);
            assertThat(invariantViolations(pg, tpl)).as("source invariants").isEmpty();
            SOURCE_CONTENT.put(key, DbContent.tables(pg, tpl));
        }
        return tpl;
    }

    /** repo_statistics as its columns are documented (deleted = soft-deleted, both only for unblocked repos). */
    static final String REPO_STATISTICS = "SELECT count(*) FILTER (WHERE r.deleted_at IS NULL),"
            + " count(*) FILTER (WHERE r.deleted_at IS NOT NULL),"
            + " count(*) FILTER (WHERE r.deleted_at IS NULL AND g.clone_status = 'not_cloned'),"
            + " count(*) FILTER (WHERE r.deleted_at IS NULL AND g.clone_status = 'cloning'),"
            + " count(*) FILTER (WHERE r.deleted_at IS NULL AND g.clone_status = 'cloned'),"
            + " count(*) FILTER (WHERE r.deleted_at IS NULL AND g.last_error IS NOT NULL),"
            + " count(*) FILTER (WHERE r.deleted_at IS NULL AND g.corrupted_at IS NOT NULL)"
            + " FROM repo r LEFT JOIN gitserver_repos g ON g.repo_id = r.id WHERE r.blocked IS NULL";
    /** gitserver_repos_statistics per shard, as its insert trigger counts them. */
    static final String GITSERVER_STATISTICS = "SELECT shard_id, count(*), count(*) FILTER (WHERE clone_status = 'not_cloned'),"
            + " count(*) FILTER (WHERE clone_status = 'cloning'), count(*) FILTER (WHERE clone_status = 'cloned'),"
            + " count(*) FILTER (WHERE last_error IS NOT NULL), count(*) FILTER (WHERE corrupted_at IS NOT NULL)"
            + " FROM gitserver_repos GROUP BY shard_id";

    static boolean hasColumn(Statement st, String table, String column) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'"
                + " AND table_name = '" + table + "' AND column_name = '" + column + "'")) {
            return rs.next();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // targets

    /** A new instance that already started and synced: its own users, repositories, clone state, permissions. */
    static String synced(TestPg.Server pg, String version) throws Exception {
        String db = pg.schemaDb(file(version));
        List<String> sql = new ArrayList<>(List.of(
                "SET app.current_tenant = '1'",
                "INSERT INTO users (username) SELECT 'target-user-' || g FROM generate_series(1, 3) g",
                "INSERT INTO orgs (name) VALUES ('target-org')",
                "INSERT INTO org_members (org_id, user_id) SELECT o.id, u.id FROM orgs o, users u",
                "INSERT INTO user_external_accounts (user_id, service_type, service_id, account_id, client_id)"
                        + " SELECT id, 'github', 'https://github.com/', 'acct-' || id, 'client' FROM users",
                "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'Target GitHub',"
                        + " '{\"url\": \"https://github.com\"}')",
                // other names, another order: the target's ids collide with the source's for other repositories
                "INSERT INTO repo (name) SELECT 'github.com/target/repo-' || g FROM generate_series(9, 1, -1) g",
                "INSERT INTO external_service_repos (external_service_id, repo_id, clone_url) SELECT"
                        + " (SELECT min(id) FROM external_services), id, 'https://' || name FROM repo",
                "INSERT INTO repo_permissions (repo_id, permission, updated_at) SELECT id, 'read', now() FROM repo",
                "INSERT INTO user_permissions (user_id, permission, object_type, updated_at)"
                        + " SELECT id, 'read', 'repos', now() FROM users"));
        if (version.equals("5.11")) {
            sql.addAll(List.of(
                    "UPDATE gitserver_repos SET clone_status = 'cloned', shard_id = 'gitserver-0'",
                    "UPDATE zoekt_repos SET index_status = 'indexed'",
                    "INSERT INTO user_repo_permissions (user_id, repo_id, user_external_account_id)"
                            + " SELECT a.user_id, r.id, a.id FROM user_external_accounts a, repo r",
                    "INSERT INTO permission_sync_jobs (reason, user_id) SELECT 'REASON_USER_ADDED', id FROM users",
                    "INSERT INTO permission_sync_jobs (reason, repository_id) SELECT 'REASON_REPO_ADDED', id FROM repo"));
        }
        pg.exec(db, sql.toArray(String[]::new));
        assertThat(invariantViolations(pg, db)).as("synced target invariants").isEmpty();
        return db;
    }

    static String target(TestPg.Server pg, String version, Target t) throws Exception {
        return t == Target.FRESH ? pg.schemaDb(file(version)) : synced(pg, version);
    }

    // ---------------------------------------------------------------------------------------------------------
    // backups, once per version, selection and strategy

    static PostgresStore store(TestPg.Server pg, String db, Selection sel, PostgresStore.Mode mode) {
        PostgresStore.Builder b = PostgresStore.builder("frontend", pg.url(db)).mode(mode);
        if (sel == Selection.ESSENTIAL) {
            b.categories(Category.parseAll(Instance.essentialCategories(false))); // what scope essential takes
        }
        return b.build();
    }

    static synchronized String backup(TestPg.Server pg, String version, Selection sel, PostgresStore.Mode mode)
            throws Exception {
        String key = pg.major() + "/" + version + "/" + sel + "/" + mode;
        String id = BACKUPS.get(key);
        if (id == null) {
            String src = pg.cloneDb(source(pg, version));
            RunResult r = SG.backup(store(pg, src, sel, mode));
            assertThat(r.ok()).as(r.toString()).isTrue();
            id = r.backupId();
            BACKUPS.put(key, id);
        }
        return id;
    }

    static StoreBackup manifestStore(String id) {
        return SG.show(id).store("frontend").orElseThrow();
    }

    // ---------------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "PostgreSQL {0}, Sourcegraph {1}, {2}, {3} into {4} target")
    @MethodSource("matrix")
    void backupThenRestoreWithReplace(int major, String version, Selection sel, PostgresStore.Mode mode, Target t)
            throws Exception {
        TestPg.Server pg = TestPg.on(major);
        String id = backup(pg, version, sel, mode);
        StoreBackup b = manifestStore(id);
        assertThat(b.properties().get("strategy")).isEqualTo(sel == Selection.ESSENTIAL ? "jdbc"
                : mode == PostgresStore.Mode.PG_DUMP ? "pg_dump" : "jdbc");
        String dst = target(pg, version, t);

        CheckReport plan = new CheckReport();
        store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO).checkRestore(b, new RestoreOptions(true, false), plan);
        assertThat(plan.errors()).as(plan.toString()).isEmpty();

        RunResult rr = SG.restore(id, new RestoreOptions(true, false), store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO));
        assertThat(rr.ok()).as(rr.toString()).isTrue();

        Map<String, String> source = SOURCE_CONTENT.get(major + "/" + version);
        Set<String> restored = b.properties().get("strategy").equals("jdbc")
                ? new TreeSet<>(JdbcRestore.tables(b).keySet()) : new TreeSet<>(source.keySet());
        if (sel == Selection.ESSENTIAL) {
            assertThat(restored).contains("public.users", "public.repo", "public.external_service_repos")
                    .doesNotContain("public.event_logs", "public.lsif_uploads", "public.gitserver_repos");
            if (version.equals("5.11")) {
                assertThat(restored).contains("public.repo_kvps", "public.lsif_configuration_policies");
            }
        }
        Map<String, String> after = DbContent.tables(pg, dst);
        Map<String, String> want = new TreeMap<>();
        Map<String, String> got = new TreeMap<>();
        for (String table : restored) {
            want.put(table, source.get(table));
            got.put(table, after.get(table));
        }
        assertThat(got).as("restored tables equal the source").isEqualTo(want);
        assertThat(sequencesBehind(pg, dst)).as("sequences behind their columns").isEmpty();
        assertThat(foreignKeyViolations(pg, dst)).as("foreign keys of the target").isEmpty();
        assertThat(repoNames(pg, dst, restored)).as("repository names behind restored repository ids")
                .isEqualTo(repoNames(pg, SOURCES.get(major + "/" + version), restored));
        assertThat(invariantViolations(pg, dst)).as("gitserver/zoekt rows and statistics").isEmpty();
        if (t == Target.SYNCED) {
            // nothing of the synced instance's repositories survives: no permissions or clone state point at them
            assertThat(count(pg, dst, "SELECT count(*) FROM repo WHERE name::text LIKE 'github.com/target/%'")).isZero();
            assertThat(count(pg, dst, "SELECT count(*) FROM repo_permissions rp WHERE NOT EXISTS"
                    + " (SELECT 1 FROM repo r WHERE r.id = rp.repo_id)")).isZero();
        }
    }

    @Test
    void essentialIntoASyncedInstanceSaysFirstWhatItEmptiesAndClears() throws Exception {
        TestPg.Server pg = PG;
        String id = backup(pg, "5.11", Selection.ESSENTIAL, PostgresStore.Mode.JDBC);
        StoreBackup b = manifestStore(id);
        String dst = synced(pg, "5.11");
        Map<String, String> before = DbContent.tables(pg, dst);
        CheckReport plan = new CheckReport();
        store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO).checkRestore(b, new RestoreOptions(true, false), plan);
        assertThat(plan.errors()).as(plan.toString()).isEmpty();
        System.out.println("checkRestore of an essential backup into a synced 5.11 instance:\n" + plan);
        assertThat(plan.findings()).as("no warnings").noneMatch(f -> f.level() == CheckReport.Level.WARNING);
        assertThat(DbContent.tables(pg, dst)).as("checks write nothing").isEqualTo(before);
        Map<String, CheckReport.Change> changes = new TreeMap<>();
        plan.changes().forEach(ch -> changes.put(ch.item(), ch));
        // restored tables with rows now: emptied, then written (the target's users, repositories, seed rows)
        assertChange(changes, "public.repo", CheckReport.Change.Action.EMPTY, 9);
        assertChange(changes, "public.users", CheckReport.Change.Action.EMPTY, 3);
        assertChange(changes, "public.roles", CheckReport.Change.Action.EMPTY, 3);
        assertChange(changes, "public.lsif_configuration_policies", CheckReport.Change.Action.EMPTY, 3);
        // recreatable tables outside the backup whose rows would dangle: cleared, saying why
        assertChange(changes, "public.gitserver_repos", CheckReport.Change.Action.CLEAR, 9);
        assertChange(changes, "public.zoekt_repos", CheckReport.Change.Action.CLEAR, 9);
        assertChange(changes, "public.user_repo_permissions", CheckReport.Change.Action.CLEAR, 27);
        assertChange(changes, "public.permission_sync_jobs", CheckReport.Change.Action.CLEAR, 12);
        assertChange(changes, "public.repo_permissions", CheckReport.Change.Action.CLEAR, 9);
        assertThat(changes.get("public.gitserver_repos").because()).contains("references public.repo (restored)");
        assertThat(changes.get("public.repo_permissions").because()).contains("holds ids of public.repo (restored)");
        assertThat(changes.get("public.gitserver_repos").category()).isEqualTo("repos");
        assertThat(changes.get("public.users").category()).isEqualTo("users");
        assertThat(changes).containsKey("public.repo_statistics");
        assertThat(changes.get("public.repo_statistics").because()).contains("recomputed");
        assertThat(changes.get("public.orgs").action()).isEqualTo(CheckReport.Change.Action.EMPTY);
        // every restored table has its change, nothing outside the backup is written
        assertThat(changes.values().stream().filter(ch -> ch.action() != CheckReport.Change.Action.CLEAR)
                .map(CheckReport.Change::item).toList())
                .containsExactlyInAnyOrderElementsOf(JdbcRestore.tables(b).keySet());
        assertThat(plan.findings()).anyMatch(f -> f.level() == CheckReport.Level.INFO
                && f.message().contains("public.gitserver_repos gets a row for each public.repo row"));

        RunResult rr = SG.restore(id, new RestoreOptions(true, false), store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO));
        assertThat(rr.ok()).as(rr.toString()).isTrue();
        assertThat(count(pg, dst, "SELECT count(*) FROM repo_permissions")).isZero();
        assertThat(count(pg, dst, "SELECT count(*) FROM user_repo_permissions")).isZero();
        assertThat(count(pg, dst, "SELECT count(*) FROM gitserver_repos WHERE clone_status = 'not_cloned' AND shard_id = ''"))
                .isEqualTo(count(pg, dst, "SELECT count(*) FROM repo")).isPositive();
        assertThat(invariantViolations(pg, dst)).isEmpty();
    }

    private static void assertChange(Map<String, CheckReport.Change> changes, String table, CheckReport.Change.Action a,
                                     long rows) {
        assertThat(changes).as("changes").containsKey(table);
        assertThat(changes.get(table).action()).as(table).isEqualTo(a);
        assertThat(changes.get(table).rows()).as(table + " rows").isEqualTo(rows);
    }

    @Test
    void nonRecreatableRowsOutsideTheSelectionRefuseTheRestoreAndChangeNothing() throws Exception {
        TestPg.Server pg = PG;
        String id = backup(pg, "5.11", Selection.ESSENTIAL, PostgresStore.Mode.JDBC);
        String dst = synced(pg, "5.11");
        // usage statistics (event-logs, left out of essential by default) reference users, which are restored
        pg.exec(dst, "SET app.current_tenant = '1'",
                "INSERT INTO aggregated_user_statistics (user_id) SELECT id FROM users");
        Map<String, String> before = DbContent.tables(pg, dst);
        Map<String, String> seqBefore = DbContent.sequences(pg, dst);
        CheckReport plan = new CheckReport();
        store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO).checkRestore(manifestStore(id),
                new RestoreOptions(true, false), plan);
        assertThat(plan.errors()).extracting(CheckReport.Finding::brief)
                .containsExactly("aggregated_user_statistics → users");
        assertThat(plan.errors().get(0).message()).contains("category event-logs, not recreatable")
                .contains("has 3 rows").contains("--tables event-logs");
        assertThatThrownBy(() -> SG.restore(id, new RestoreOptions(true, false),
                store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("public.aggregated_user_statistics").hasMessageContaining("never deletes data");
        assertThat(DbContent.tables(pg, dst)).as("target unchanged").isEqualTo(before);
        assertThat(DbContent.sequences(pg, dst)).isEqualTo(seqBefore);
    }

    @Test
    void aRestoreThatFailsAfterClearingLeavesTheSyncedInstanceAsItWas() throws Exception {
        TestPg.Server pg = PG;
        String src = pg.cloneDb(source(pg, "5.11"));
        dev.sgbackup.store.MemoryStoreIo out = new dev.sgbackup.store.MemoryStoreIo("postgres", 2);
        store(pg, src, Selection.ESSENTIAL, PostgresStore.Mode.JDBC).backup(out);
        String dst = synced(pg, "5.11");
        Map<String, String> before = DbContent.tables(pg, dst);
        Map<String, String> seqBefore = DbContent.sequences(pg, dst);
        // the stream of the last table loaded breaks: by then the outside tables are cleared, the rest loaded
        List<String> order;
        try (Connection c = pg.connect(dst)) {
            order = PgSchema.read(c).fkOrder(JdbcRestore.tables(out.storeBackup("frontend")).keySet());
        }
        String last = order.get(order.size() - 1);
        dev.sgbackup.store.RestoreInput broken = new WrappedInput(out.input("frontend", new RestoreOptions(true, false)), 1,
                (a, in) -> a.name().equals(last) ? new java.io.FilterInputStream(in) {
                    @Override
                    public int read(byte[] b, int off, int len) throws java.io.IOException {
                        throw new java.io.IOException("disk gone while reading " + last);
                    }
                } : in);
        assertThatThrownBy(() -> store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO).restore(broken))
                .hasMessageContaining("disk gone").hasMessageContaining("rolled back, the target is unchanged");
        assertThat(DbContent.tables(pg, dst)).as("target unchanged").isEqualTo(before);
        assertThat(DbContent.sequences(pg, dst)).isEqualTo(seqBefore);
        assertThat(count(pg, dst, "SELECT count(*) FROM gitserver_repos WHERE clone_status = 'cloned'")).isEqualTo(9);
    }

    @Test
    void aBackupWithRepositoryIdsButNoRepositoriesIsRefused() throws Exception {
        TestPg.Server pg = PG;
        // a selection taken without the repositories (an older writer): code-intel configuration names repo ids
        String id = backup(pg, "5.11", Selection.ESSENTIAL, PostgresStore.Mode.JDBC);
        StoreBackup b = manifestStore(id);
        StoreBackup withoutRepos = new StoreBackup(b.name(), b.kind(), b.description(), b.properties(),
                b.artifacts().stream().filter(a -> !RepoIdentity.IDENTIFYING.contains(
                        RepoIdentity.bare(a.attributes().getOrDefault("table", a.name())))).toList(), List.of());
        String dst = pg.schemaDb(file("5.11"));
        CheckReport r = new CheckReport();
        store(pg, dst, Selection.WHOLE, PostgresStore.Mode.AUTO).checkRestore(withoutRepos, new RestoreOptions(true, false), r);
        assertThat(r.errors()).anySatisfy(f -> {
            assertThat(f.brief()).isEqualTo("repository ids without public.repo");
            assertThat(f.message()).contains("the backup holds repository ids (").contains("but not public.repo")
                    .contains(".repo_id");
        });
    }

    @Test
    void essentialSelectionNamesWhyItAddsTheRepositoriesAndGoesOverJdbcEvenInPgDumpMode() throws Exception {
        TestPg.Server pg = PG;
        String src = pg.cloneDb(source(pg, "5.11"));
        PostgresStore s = store(pg, src, Selection.ESSENTIAL, PostgresStore.Mode.PG_DUMP);
        PostgresStore.Selection sel = s.selection();
        assertThat(sel.added().get("public.repo_kvps")).isNull(); // a category of its own now (repo-metadata)
        assertThat(sel.tables()).contains("public.repo", "public.external_service_repos", "public.repo_kvps");
        assertThat(sel.added().get("public.external_service_repos")).startsWith("repository identity: public.");
        CheckReport r = new CheckReport();
        s.checkBackup(r);
        assertThat(r.errors()).as(r.toString()).isEmpty();
        assertThat(r.findings()).anyMatch(f -> f.level() == CheckReport.Level.INFO
                && f.message().contains("backed up over JDBC") && f.message().contains("pg_dump -t"));
        assertThat(r.findings()).anyMatch(f -> f.level() == CheckReport.Level.INFO
                && f.message().contains("table public.external_service_repos is added to the selection: repository identity"));
        assertThat(r.findings()).anyMatch(f -> f.level() == CheckReport.Level.INFO
                && f.message().contains("encrypted with the instance's keyring"));
        // the three halves of the former code-intel category
        assertThat(Instance.essentialCategories(false)).contains("code-intel-config", "repo-metadata")
                .doesNotContain("code-intel-data", "code-intel", "repos", "permissions", "plumbing", "event-logs");
        String id = backup(pg, "5.11", Selection.ESSENTIAL, PostgresStore.Mode.PG_DUMP);
        assertThat(manifestStore(id).properties()).containsEntry("strategy", "jdbc");
    }

    /**
     * What a replace of the essential selection may clear, per version: every table outside the selection that
     * TRUNCATE needs with the restored ones, or that holds repository ids, computed as if every table had rows.
     * Printed for docs/postgres.md; asserts that only recreatable tables are cleared and only event-logs refuse.
     */
    @ParameterizedTest
    @MethodSource("versions")
    void whatAnEssentialReplaceMayClear(String version) throws Exception {
        TestPg.Server pg = PG;
        String db = pg.schemaDb(file(version));
        try (Connection c = pg.connect(db)) {
            PgSchema s = PgSchema.read(c);
            Set<String> all = s.tables.keySet();
            PostgresStore store = store(pg, db, Selection.ESSENTIAL, PostgresStore.Mode.JDBC);
            Set<String> selected = new TreeSet<>(store.selection().tables());
            Map<String, Long> counts = new java.util.HashMap<>();
            all.forEach(t -> counts.put(t, 1L)); // the worst case: every table has rows
            Set<String> outside = new TreeSet<>();
            Set<String> cleared = new TreeSet<>();
            CheckReport r = new CheckReport();
            new JdbcRestoreChecks(store.spec(), "frontend").outside(c, s, selected, selected, RepoIdentity.repoTable(s), counts,
                    SourcegraphCatalog.standard(), outside, cleared, r);
            Map<String, List<String>> byCategory = new TreeMap<>();
            cleared.forEach(t -> byCategory.computeIfAbsent(SourcegraphCatalog.standard().categoryOf(t).orElseThrow().id(),
                    k -> new ArrayList<>()).add(RepoIdentity.bare(t)));
            StringBuilder md = new StringBuilder("Sourcegraph " + version + " (" + selected.size() + " of " + all.size()
                    + " tables restored):\n");
            byCategory.forEach((cat, ts) -> md.append("- ").append(cat).append(": ").append(String.join(", ", ts)).append('\n'));
            md.append("- refused when they have rows: ").append(String.join(", ", r.errors().stream()
                    .map(CheckReport.Finding::brief).toList())).append('\n');
            Map<String, List<String>> kept = new TreeMap<>();
            selected.forEach(t -> kept.computeIfAbsent(SourcegraphCatalog.standard().categoryOf(t)
                    .map(SourcegraphCatalog.Category::id).orElse("unknown"), k -> new ArrayList<>()).add(RepoIdentity.bare(t)));
            md.append("essential selection:\n");
            kept.forEach((cat, ts) -> md.append("- ").append(cat).append(": ").append(String.join(", ", ts)).append('\n'));
            System.out.println(md);
            assertThat(cleared).isNotEmpty().allSatisfy(t -> assertThat(SourcegraphCatalog.standard().categoryOf(t)
                    .orElseThrow().recreatable()).as(t).isTrue());
            assertThat(cleared).contains("public.repo_permissions");
            assertThat(r.errors()).allSatisfy(f -> assertThat(f.message()).contains("category event-logs"));
            if (version.equals("5.11")) {
                assertThat(cleared).contains("public.gitserver_repos", "public.zoekt_repos", "public.user_repo_permissions",
                        "public.permission_sync_jobs", "public.lsif_uploads");
            }
        }
    }

    static Stream<String> versions() {
        return VERSIONS.stream();
    }

    // ---------------------------------------------------------------------------------------------------------
    // what every restore must leave

    static long count(TestPg.Server pg, String db, String sql) throws SQLException {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute("SET app.current_tenant = '1'");
            try (ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Sequences whose next value is already taken by their column. */
    static List<String> sequencesBehind(TestPg.Server pg, String db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (PgSchema.Sequence q : s.sequences) {
                if (q.ownerTable() == null) {
                    continue;
                }
                try (ResultSet rs = st.executeQuery("SELECT (SELECT max(" + PgSchema.quote(q.ownerColumn()) + ")::bigint FROM "
                        + s.tables.get(q.ownerTable()).sql() + "), last_value, is_called FROM " + q.sql())) {
                    rs.next();
                    long max = rs.getLong(1);
                    boolean any = !rs.wasNull();
                    long next = rs.getBoolean(3) ? rs.getLong(2) + 1 : rs.getLong(2);
                    if (any && next <= max) {
                        out.add(q.qualified() + " next " + next + " <= max " + max);
                    }
                }
            }
        }
        return out;
    }

    /** An anti-join over every foreign key of the database. */
    static List<String> foreignKeyViolations(TestPg.Server pg, String db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (PgSchema.ForeignKey fk : s.foreignKeys) {
                List<String> notNull = new ArrayList<>();
                List<String> join = new ArrayList<>();
                for (int i = 0; i < fk.columns().size(); i++) {
                    notNull.add("c." + PgSchema.quote(fk.columns().get(i)) + " IS NOT NULL");
                    join.add("p." + PgSchema.quote(fk.refColumns().get(i)) + " = c." + PgSchema.quote(fk.columns().get(i)));
                }
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + s.tables.get(fk.table()).sql() + " c WHERE "
                        + String.join(" AND ", notNull) + " AND NOT EXISTS (SELECT 1 FROM " + s.tables.get(fk.refTable()).sql()
                        + " p WHERE " + String.join(" AND ", join) + ")")) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        out.add(fk.name() + ": " + rs.getLong(1) + " rows of " + fk.table());
                    }
                }
            }
        }
        return out;
    }

    /** For every restored table with repository ids: an ordered hash of (row, name of the repository it names). */
    static Map<String, String> repoNames(TestPg.Server pg, String db, Set<String> tables) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (String t : tables) {
                for (String col : RepoIdentity.idColumns(s, t)) {
                    String cn = PgSchema.quote(col.substring(col.lastIndexOf('.') + 1));
                    try (ResultSet rs = st.executeQuery("SELECT count(r.name), md5(coalesce(string_agg(x::text || ' -> '"
                            + " || coalesce(r.name::text, '-'), E'\\n' ORDER BY x::text), '')) FROM " + s.tables.get(t).sql()
                            + " x LEFT JOIN repo r ON r.id = x." + cn)) {
                        rs.next();
                        out.put(col, rs.getLong(1) + " named " + rs.getString(2));
                    }
                }
            }
        }
        return out;
    }

    /**
     * What Sourcegraph's triggers keep (5.x; none in 3.2x): every repository has exactly one gitserver_repos and one
     * zoekt_repos row, and repo_statistics / gitserver_repos_statistics add up to the counts.
     */
    static List<String> invariantViolations(TestPg.Server pg, String db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            if (!hasColumn(st, "gitserver_repos", "repo_id")) {
                return out;
            }
            for (String child : List.of("gitserver_repos", "zoekt_repos")) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM repo r WHERE (SELECT count(*) FROM " + child
                        + " x WHERE x.repo_id = r.id) <> 1")) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        out.add(rs.getLong(1) + " repositories without exactly one " + child + " row");
                    }
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT (SELECT ROW(coalesce(sum(total), 0), coalesce(sum(soft_deleted), 0),"
                    + " coalesce(sum(not_cloned), 0), coalesce(sum(cloning), 0), coalesce(sum(cloned), 0),"
                    + " coalesce(sum(failed_fetch), 0), coalesce(sum(corrupted), 0))::text FROM repo_statistics),"
                    + " (SELECT ROW(s.*)::text FROM (" + REPO_STATISTICS + ") s)")) {
                rs.next();
                if (!rs.getString(1).equals(rs.getString(2))) {
                    out.add("repo_statistics add up to " + rs.getString(1) + ", the repositories to " + rs.getString(2));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT string_agg(x, ';' ORDER BY x) FROM (SELECT ROW(shard_id, sum(total),"
                    + " sum(not_cloned), sum(cloning), sum(cloned), sum(failed_fetch), sum(corrupted))::text x"
                    + " FROM gitserver_repos_statistics GROUP BY shard_id HAVING sum(total) <> 0) a")) {
                rs.next();
                String have = rs.getString(1);
                try (ResultSet rs2 = st.executeQuery("SELECT string_agg(x, ';' ORDER BY x) FROM (SELECT ROW(s.*)::text x FROM ("
                        + GITSERVER_STATISTICS + ") s) a")) {
                    rs2.next();
                    if (!String.valueOf(have).equals(String.valueOf(rs2.getString(1)))) {
                        out.add("gitserver_repos_statistics add up to " + have + ", gitserver_repos to " + rs2.getString(1));
                    }
                }
            }
        }
        return out;
    }

    static List<String> names(List<ArtifactInfo> artifacts) {
        return artifacts.stream().map(ArtifactInfo::name).toList();
    }
}
