package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One JDBC restore run, in one transaction: checks ({@link JdbcRestoreChecks}), triggers off, TRUNCATE for replace,
 * COPY per table while large tables load staged ({@link StagedLoad}), indexes rebuilt ({@link IndexRebuild}),
 * staged tables swapped in, trigger-derived rows regenerated, the load verified ({@link LoadVerification}),
 * sequences set, commit. Its single job is running these steps in this order and, on any failure, rolling back and
 * saying at which {@link Step} it failed.
 */
final class RestoreRun {
    // the logger of the strategy, as before the run had a class of its own
    private static final System.Logger LOG = System.getLogger(JdbcRestore.class.getName());

    /** The steps of a run, by the name a failure message gives them ({@code failed at <step>}). */
    enum Step {
        PREPARING("preparing"),
        TRUNCATE("TRUNCATE"),
        /** COPY into one table: a failure names the table. */
        LOADING_TABLE("loading a table"),
        RECREATING_INDEXES("recreating indexes"),
        LOADING_STAGED("loading the staged tables"),
        SWAPPING_STAGED("swapping in the staged tables"),
        REGENERATING_DERIVED("regenerating trigger-derived rows"),
        CHECKING_FOREIGN_KEYS("checking foreign keys"),
        SETTING_SEQUENCES("setting sequences"),
        COMMIT("commit");

        private final String label;

        Step(String label) {
            this.label = label;
        }
    }

    /** Where the run is: a step, and for {@link Step#LOADING_TABLE} the table. */
    private static final class Progress {
        private Step step = Step.PREPARING;
        private String table;

        void step(Step s) {
            step = s;
            table = null;
        }

        void loading(String t) {
            step = Step.LOADING_TABLE;
            table = t;
        }

        /** What a failure message names: the table being loaded, else the step. */
        String where() {
            return step == Step.LOADING_TABLE ? table : step.label;
        }
    }

    private final ConnectionSpec spec;
    private final String store;
    private final long stageFromBytes;

    RestoreRun(ConnectionSpec spec, String store, long stageFromBytes) {
        this.spec = spec;
        this.store = store;
        this.stageFromBytes = stageFromBytes;
    }

    /** Restores in one transaction; any failure rolls back and says so. */
    void run(RestoreInput in) throws IOException {
        StoreBackup backup = in.backup();
        boolean replace = in.options().replace();
        try (Connection c = spec.open()) {
            PgSchema target = PgSchema.read(c);
            CheckReport report = new CheckReport();
            JdbcRestoreChecks.Preflight pf = new JdbcRestoreChecks(spec, store).check(c, target, backup, replace, report);
            report.throwIfFailed();
            if (in.options().dryRun()) {
                return;
            }
            Progress at = new Progress();
            List<String> filled = new ArrayList<>();
            long tStart = System.nanoTime();
            for (String left : StagedLoad.dropLeftovers(c)) {
                in.warn("dropped " + left + ", a staging schema an interrupted restore left in " + spec.where());
            }
            Map<String, List<ArtifactInfo>> artifacts = JdbcRestore.tables(backup);
            JsonNode rowCounts = JdbcRestore.readJson(backup.properties().get(PostgresStore.PROP_ROWS));
            StagedLoad staged = stage(c, target, pf, artifacts, rowCounts, in);
            Set<String> stagedTables = Set.copyOf(staged.tables());
            List<String> order = List.of();
            List<PgSchema.ForeignKey> madeDeferrable = new ArrayList<>();
            try {
                order = target.fkOrder(artifacts.keySet()).stream().filter(t -> !stagedTables.contains(t)).toList();
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL row_security = off");
                    // index rebuilds after the load sort in memory rather than on disk (never lowered)
                    IndexRebuild.raiseIndexMemory(st, true);
                    JdbcBackup.setTenant(st, backup.properties().get(PostgresStore.PROP_TENANT), true);
                    if (pf.replica()) {
                        st.execute("SET LOCAL session_replication_role = replica");
                    } else {
                        for (String t : order) {
                            st.execute("ALTER TABLE " + target.tables.get(t).sql() + " DISABLE TRIGGER USER");
                        }
                        // without replica mode the foreign-key triggers stay on: a key that cannot be deferred would
                        // fail the load of a cycle (3.21: discussion_threads ↔ discussion_threads_target_repo), so
                        // the owner makes it deferrable for this transaction and back afterwards (checked then)
                        Set<String> loaded = Set.copyOf(order);
                        for (PgSchema.ForeignKey fk : target.foreignKeys) {
                            if (!fk.deferrable() && loaded.contains(fk.table())) {
                                st.execute("ALTER TABLE " + target.tables.get(fk.table()).sql() + " ALTER CONSTRAINT "
                                        + PgSchema.quote(fk.name()) + " DEFERRABLE INITIALLY DEFERRED");
                                madeDeferrable.add(fk);
                            }
                        }
                        st.execute("SET CONSTRAINTS ALL DEFERRED");
                    }
                }
                List<String> rebuilt = IndexRebuild.rebuilt(order, rowCounts);
                at.step(Step.TRUNCATE);
                Set<String> truncated = replace ? truncate(c, target, order, rebuilt, pf.outside()) : Set.of();
                List<String> indexes = pf.owner() ? IndexRebuild.dropSecondaryIndexes(c, target, rebuilt) : List.of();
                for (String t : order) {
                    in.checkCancelled();
                    at.loading(t);
                    PgSchema.Table tab = target.tables.get(t);
                    long rows = 0;
                    for (ArtifactInfo a : artifacts.get(t)) {
                        rows += JdbcRestore.copyIn(c, in, tab.sql(), a, truncated.contains(t));
                    }
                    if (rows > 0) {
                        filled.add(tab.sql());
                    }
                    LoadVerification.checkRows(t, rowCounts, rows);
                }
                long tLoaded = System.nanoTime();
                at.step(Step.RECREATING_INDEXES);
                IndexRebuild.recreate(c, indexes);
                // statistics for the tables that got rows, in one statement, inside the transaction (they commit or
                // roll back with the rows) and while the staged tables are still loading; an emptied table's
                // statistics were reset by TRUNCATE, an untouched empty table's are unchanged
                analyze(c, filled, in);
                long tIndexed = System.nanoTime();
                if (!stagedTables.isEmpty()) {
                    at.step(Step.LOADING_STAGED);
                    Map<String, Long> stagedRows = staged.await();
                    for (String t : staged.tables()) {
                        LoadVerification.checkRows(t, rowCounts, stagedRows.getOrDefault(t, 0L));
                    }
                    at.step(Step.SWAPPING_STAGED);
                    staged.swap(c);
                }
                long tSwapped = System.nanoTime();
                at.step(Step.REGENERATING_DERIVED);
                DerivedRows.apply(c, target, pf.derived());
                LoadVerification.checkDerived(c, target, pf.derived());
                at.step(Step.CHECKING_FOREIGN_KEYS);
                if (pf.replica()) {
                    Set<String> touched = new java.util.HashSet<>(artifacts.keySet());
                    touched.addAll(pf.outside());
                    pf.derived().forEach(r -> touched.add(r.derived()));
                    LoadVerification.checkForeignKeys(c, target, touched);
                } else {
                    try (Statement st = c.createStatement()) {
                        // the deferred key checks run now (an orphan fails here and rolls back); ALTER TABLE needs
                        // them done ("cannot ALTER TABLE … because it has pending trigger events")
                        st.execute("SET CONSTRAINTS ALL IMMEDIATE");
                        for (PgSchema.ForeignKey fk : madeDeferrable) {
                            st.execute("ALTER TABLE " + target.tables.get(fk.table()).sql() + " ALTER CONSTRAINT "
                                    + PgSchema.quote(fk.name()) + " NOT DEFERRABLE INITIALLY IMMEDIATE");
                        }
                        for (String t : order) {
                            st.execute("ALTER TABLE " + target.tables.get(t).sql() + " ENABLE TRIGGER USER");
                        }
                    }
                }
                long tChecked = System.nanoTime();
                at.step(Step.SETTING_SEQUENCES);
                setSequences(c, target, backup, artifacts.keySet());
                at.step(Step.COMMIT);
                // a sibling step failed or the user cancelled while this one rebuilt indexes or checked keys: roll back
                in.checkCancelled();
                c.commit();
                long tCommitted = System.nanoTime();
                LOG.log(System.Logger.Level.DEBUG, () -> String.format("restore of %s: load %.1f s, %d indexes and ANALYZE %.1f s,"
                        + " waiting for staged %s %.1f s, foreign keys %.1f s, sequences and commit %.1f s", store,
                        (tLoaded - tStart) / 1e9, indexes.size(), (tIndexed - tLoaded) / 1e9, stagedTables,
                        (tSwapped - tIndexed) / 1e9, (tChecked - tSwapped) / 1e9, (tCommitted - tChecked) / 1e9));
            } catch (SQLException | IOException | RuntimeException e) {
                // the transaction first: it may hold the staged copies it was swapping in
                rollback(c);
                staged.close();
                throw failure(at.where(), e);
            }
            staged.close();
            c.setAutoCommit(true);
        } catch (SQLException e) {
            throw new StoreException("restore of " + store + " into " + spec.where() + " failed before writing: "
                    + spec.redactSecret(e.getMessage()), e);
        }
    }

    /**
     * Empties the restored tables for replace: all are locked as TRUNCATE would lock them, then only those that
     * have rows, and the large ones (whose COPY then writes frozen rows), are truncated. TRUNCATE gives a table
     * and each of its indexes new files, which costs more than the load of most of Sourcegraph's tables.
     * {@code outside} are the tables outside the backup the checks found to go with them (see
     * {@link JdbcRestoreChecks.Preflight#outside()}): those with rows are cleared, empty ones join the TRUNCATE when it needs them.
     */
    private static Set<String> truncate(Connection c, PgSchema target, List<String> order, List<String> large,
                                        Set<String> outside) throws SQLException {
        List<String> all = new ArrayList<>(order);
        outside.stream().filter(t -> !order.contains(t)).forEach(all::add);
        List<String> names = all.stream().map(t -> target.tables.get(t).sql()).toList();
        Set<String> out = new java.util.LinkedHashSet<>();
        if (all.isEmpty()) { // every restored table is staged
            return out;
        }
        Set<String> touched = new java.util.HashSet<>(all);
        try (Statement st = c.createStatement()) {
            st.execute("LOCK TABLE " + String.join(", ", names) + " IN ACCESS EXCLUSIVE MODE");
            StringBuilder q = new StringBuilder();
            for (int i = 0; i < all.size(); i++) {
                q.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i).append(" WHERE EXISTS (SELECT 1 FROM ")
                        .append(names.get(i)).append(")");
            }
            try (ResultSet rs = st.executeQuery(q.toString())) {
                while (rs.next()) {
                    out.add(all.get(rs.getInt(1)));
                }
            }
            // the checks let an outside table be emptied only when it was empty or is recreatable; one that got rows
            // since (a service still writing) would lose data nobody approved: stop, and the transaction rolls back
            List<String> grew = new ArrayList<>();
            for (String t : out) {
                if (!order.contains(t) && !SourcegraphCatalog.standard().categoryOf(t)
                        .map(SourcegraphCatalog.Category::recreatable).orElse(false)) {
                    grew.add(t);
                }
            }
            if (!grew.isEmpty()) {
                throw new StoreException(String.join(", ", grew) + " got rows after the checks ran and cannot be"
                        + " recreated, so the restore will not empty " + (grew.size() == 1 ? "it" : "them")
                        + ": stop every Sourcegraph service that writes to the database, then restore again");
            }
            // TRUNCATE wants every table referencing a truncated one in the same statement (empty or not)
            out = referencing(target, out);
            // a large table is truncated even when empty (its COPY then writes frozen rows), unless a table this
            // restore does not touch references it: truncating it would need that table in the statement
            for (String t : large) {
                Set<String> with = referencing(target, Set.of(t));
                if (!out.contains(t) && touched.containsAll(with)) {
                    out.addAll(with);
                }
            }
            if (!out.isEmpty()) {
                st.execute("TRUNCATE " + String.join(", ", all.stream().filter(out::contains)
                        .map(t -> target.tables.get(t).sql()).toList()));
            }
        }
        return out;
    }

    /** {@code tables} and every table referencing one of them, transitively. */
    private static Set<String> referencing(PgSchema target, Set<String> tables) {
        Set<String> out = new java.util.LinkedHashSet<>(tables);
        for (boolean grew = true; grew; ) {
            grew = false;
            for (PgSchema.ForeignKey fk : target.foreignKeys) {
                if (out.contains(fk.refTable())) {
                    grew |= out.add(fk.table());
                }
            }
        }
        return out;
    }

    /** ANALYZE in a savepoint: a failure (say, a statement timeout) costs the statistics, not the restore. */
    private void analyze(Connection c, List<String> tables, RestoreInput in) throws SQLException {
        if (tables.isEmpty()) {
            return;
        }
        try (Statement st = c.createStatement()) {
            st.execute("SAVEPOINT sgbackup_analyze");
            try {
                st.execute("ANALYZE " + String.join(", ", tables));
                st.execute("RELEASE SAVEPOINT sgbackup_analyze");
            } catch (SQLException e) {
                st.execute("ROLLBACK TO SAVEPOINT sgbackup_analyze");
                in.warn("restoring " + store + ": ANALYZE failed (run it by hand after the restore): "
                        + spec.redactSecret(e.getMessage()));
            }
        }
    }

    /**
     * Starts loading the large tables that can be staged (see {@link StagedLoad}) on parallel connections; the rest
     * load in the transaction. Needs parallelism above 1 and ownership of the tables (or a superuser).
     */
    private StagedLoad stage(Connection c, PgSchema target, JdbcRestoreChecks.Preflight pf, Map<String, List<ArtifactInfo>> artifacts,
                             JsonNode rowCounts, RestoreInput in) throws SQLException {
        List<String> large = new ArrayList<>();
        if (in.parallelism() > 1 && pf.owner()) {
            artifacts.forEach((t, parts) -> {
                if (parts.stream().mapToLong(ArtifactInfo::size).sum() >= stageFromBytes) {
                    large.add(t);
                }
            });
        }
        // largest first, then by name: a fixed order, so that of two tables sharing a name (only one copy can have it in
        // the staging schema) the same one is staged whatever order the backup's parallel dump listed them in
        Map<String, Long> bytes = new HashMap<>();
        large.forEach(t -> bytes.put(t, artifacts.get(t).stream().mapToLong(ArtifactInfo::size).sum()));
        large.sort(java.util.Comparator.comparing((String t) -> -bytes.get(t)).thenComparing(t -> t));
        List<String> eligible = large.isEmpty() ? List.of() : StagingEligibility.eligible(c, target, large);
        return StagedLoad.start(spec, store, in, in.backup().properties().get(PostgresStore.PROP_TENANT), target,
                eligible, artifacts, Math.min(in.parallelism(), JdbcRestore.MAX_STAGE_CONNECTIONS));
    }

    private RuntimeException failure(String at, Exception e) {
        String where = "restore of " + store + " into " + spec.where() + " failed at " + at + ": ";
        boolean lost = e instanceof SQLException s && s.getSQLState() != null
                && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"));
        String tail = lost ? "; the connection was lost, so the server rolled the transaction back: the target is unchanged"
                : "; rolled back, the target is unchanged";
        String msg = e instanceof SQLException ? spec.redactSecret(e.getMessage()) : e.getMessage();
        if (e instanceof IntegrityException) {
            return new IntegrityException(where + msg + tail, e);
        }
        if (e instanceof dev.sgbackup.run.CancelledException) {
            return new dev.sgbackup.run.CancelledException(where + msg + tail);
        }
        return new StoreException(where + msg + tail, e);
    }

    private static void rollback(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // a dead connection: the server rolls back on its own
        }
    }

    private static void setSequences(Connection c, PgSchema target, StoreBackup backup, Set<String> restored)
            throws SQLException {
        String json = backup.properties().get(PostgresStore.PROP_SEQUENCES);
        if (json == null) {
            return;
        }
        JsonNode saved;
        try {
            saved = PgSchema.JSON.readTree(json);
        } catch (IOException e) {
            throw new IntegrityException("the backup's sequence values cannot be read: " + e.getMessage(), e);
        }
        boolean complete = restored.containsAll(target.tables.keySet());
        Map<String, PgSchema.Sequence> byName = new HashMap<>();
        target.sequences.forEach(s -> byName.put(s.qualified(), s));
        try (Statement st = c.createStatement()) {
            for (var it = saved.fields(); it.hasNext(); ) {
                var e = it.next();
                PgSchema.Sequence s = byName.get(e.getKey());
                if (s == null || (s.ownerTable() == null ? !complete : !restored.contains(s.ownerTable()))) {
                    continue;
                }
                long last = e.getValue().path("last_value").asLong();
                boolean called = e.getValue().path("is_called").asBoolean();
                String value = Long.toString(last);
                if (s.ownerTable() != null && s.ownerColumn() != null) {
                    value = "greatest(" + last + ", (SELECT max(" + PgSchema.quote(s.ownerColumn()) + ")::bigint FROM "
                            + target.tables.get(s.ownerTable()).sql() + "))";
                }
                st.execute("SELECT setval(" + PgSchema.quoteLiteral(s.sql()) + "::regclass, g, g > " + last
                        + " OR " + called + ") FROM (SELECT " + value + " AS g) v");
            }
        }
        LOG.log(System.Logger.Level.DEBUG, "sequences set");
    }
}
