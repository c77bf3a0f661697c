package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.postgresql.PGConnection;

/**
 * The pure-JDBC restore into a migrated database with the same schema: one transaction, triggers off,
 * optional TRUNCATE of the selected tables, COPY FROM STDIN per table, foreign keys verified, sequences set.
 */
final class JdbcRestore {
    private static final System.Logger LOG = System.getLogger(JdbcRestore.class.getName());

    private static final long INDEX_MEMORY_KB = 256 * 1024;
    private static final long PREFETCH_OVER = 1 << 20;
    /** Bytes per CopyData message: fewer, larger writes to the server than the driver's 64 KiB default. */
    private static final int COPY_BUFFER = 1 << 20;
    /** Tables getting fewer rows keep their indexes during the load instead of having them rebuilt after it. */
    private static final long REBUILD_FROM_ROWS = 10_000;

    /** Tables whose backup holds at least this many bytes are staged when they can be (see {@link StagedLoad}). */
    static final long STAGE_FROM_BYTES = 64L << 20;
    /** At most this many extra connections load staged tables (a table's parts, then its index builds). */
    static final int MAX_STAGE_CONNECTIONS = 8;

    private final ConnectionSpec spec;
    private final String store;
    private final long stageFromBytes;

    JdbcRestore(ConnectionSpec spec, String store) {
        this(spec, store, STAGE_FROM_BYTES);
    }

    JdbcRestore(ConnectionSpec spec, String store, long stageFromBytes) {
        this.spec = spec;
        this.store = store;
        this.stageFromBytes = stageFromBytes;
    }

    /** What the backup holds: table name to its artifacts (a large table may come in parts), in part order. */
    static Map<String, List<ArtifactInfo>> tables(StoreBackup backup) {
        Map<String, List<ArtifactInfo>> out = new LinkedHashMap<>();
        for (ArtifactInfo a : backup.artifacts()) {
            out.computeIfAbsent(a.attributes().getOrDefault("table", a.name()), k -> new ArrayList<>()).add(a);
        }
        for (List<ArtifactInfo> parts : out.values()) {
            parts.sort(java.util.Comparator.comparingInt(a -> Integer.parseInt(a.attributes().getOrDefault("part", "1"))));
        }
        return out;
    }

    /** The column list of an artifact: a JSON array (or, from older writers, comma-separated). */
    static List<String> columns(ArtifactInfo a) {
        String v = a.attributes().getOrDefault("columns", "");
        if (v.startsWith("[")) {
            try {
                List<String> out = new ArrayList<>();
                PgSchema.JSON.readTree(v).forEach(n -> out.add(n.asText()));
                return out;
            } catch (IOException e) {
                throw new IntegrityException("artifact " + a.name() + " has an unreadable column list: " + e.getMessage(), e);
            }
        }
        return List.of(v.split(","));
    }

    /**
     * What the checks found out, for the restore itself.
     *
     * @param outside tables outside the backup that the replace empties with the restored ones: recreatable tables
     *                whose rows would dangle (cleared), and empty tables TRUNCATE needs in the same statement
     * @param derived trigger-derived rows to regenerate after the load
     */
    record Preflight(boolean replica, boolean owner, boolean superuser, Set<String> outside,
                     List<DerivedRows.Rule> derived) {
        Preflight(boolean replica, boolean owner, boolean superuser) {
            this(replica, owner, superuser, Set.of(), List.of());
        }
    }

    /**
     * Every check that can fail before anything is written: schema, emptiness, references from outside the
     * selection, privileges. Adds findings to {@code report}; returns the facts the restore needs.
     */
    Preflight check(Connection c, PgSchema target, StoreBackup backup, boolean replace, CheckReport report)
            throws SQLException {
        String subject = store;
        String fp = backup.properties().get(PostgresStore.PROP_FINGERPRINT);
        if (fp == null) {
            report.error(subject, "the backup has no schema fingerprint; it was not written by the JDBC strategy");
            return new Preflight(false, false, false);
        }
        List<String> diff = target.differences(fp);
        if (!diff.isEmpty()) {
            report.error(subject, "the target schema at " + spec.where() + " differs from the backup's ("
                    + diff.size() + " difference" + (diff.size() == 1 ? "" : "s") + "): "
                    + String.join("; ", diff.subList(0, Math.min(20, diff.size())))
                    + (diff.size() > 20 ? "; ..." : "") + ". Restore into an instance migrated to the same Sourcegraph"
                    + " version (" + backup.properties().getOrDefault(PostgresStore.PROP_SG_VERSION, "unknown") + ")");
            return new Preflight(false, false, false);
        }
        Set<String> selected = tables(backup).keySet();
        JsonNode backupRows = readJson(backup.properties().get(PostgresStore.PROP_ROWS));
        SourcegraphCatalog catalog = SourcegraphCatalog.standard();
        // repository ids mean something only with the repositories they were taken with
        String repo = RepoIdentity.repoTable(target);
        if (repo != null && !selected.contains(repo)) {
            List<String> holders = new ArrayList<>();
            for (String t : selected) {
                if (!backupRows.has(t) || backupRows.get(t).asLong() > 0) {
                    holders.addAll(RepoIdentity.idColumns(target, t));
                }
            }
            if (!holders.isEmpty()) {
                report.error(subject, "repository ids without " + repo, "the backup holds repository ids ("
                        + String.join(", ", holders.subList(0, Math.min(6, holders.size()))) + (holders.size() > 6 ? ", ..." : "")
                        + ") but not " + repo + ": in another instance these ids name other repositories, or none."
                        + " Back up again with a selection that includes the repositories (sgbackup adds " + repo
                        + " to category selections that need it) or the whole database");
            }
        }
        // emptiness, and what the restored tables hold now
        Map<String, Long> nonEmpty = new LinkedHashMap<>();
        Map<String, Long> counts = new HashMap<>();
        try (Statement st = c.createStatement()) {
            for (String t : selected) {
                long n = count(st, target.tables.get(t).sql(), counts, t);
                if (n > 0) {
                    nonEmpty.put(t, n);
                }
            }
        }
        if (!nonEmpty.isEmpty() && !replace) {
            List<String> names = new ArrayList<>(nonEmpty.keySet());
            report.error(subject, "target not empty", "the target database " + spec.where() + " is not empty: " + names.size()
                    + " of the restored tables have rows (" + String.join(", ", names.subList(0, Math.min(8, names.size())))
                    + (names.size() > 8 ? ", ..." : "") + "); a migrated Sourcegraph always has seed rows."
                    + " Restore with replace (--replace) to empty these tables first");
        }
        for (String t : selected) {
            String cat = catalog.categoryOf(t).map(SourcegraphCatalog.Category::id).orElse(null);
            long rows = backupRows.has(t) ? backupRows.get(t).asLong(-1) : -1;
            if (replace && nonEmpty.containsKey(t)) {
                report.change(new CheckReport.Change(subject, t, CheckReport.Change.Action.EMPTY, cat, nonEmpty.get(t),
                        "restored from the backup (" + (rows < 0 ? "?" : rows) + " rows); its current rows are replaced"));
            } else {
                report.change(new CheckReport.Change(subject, t, CheckReport.Change.Action.WRITE, cat, rows,
                        "restored from the backup"));
            }
        }
        Set<String> outside = new java.util.TreeSet<>();
        Set<String> cleared = new java.util.TreeSet<>();
        if (replace) {
            outside(c, target, selected, nonEmpty.keySet(), repo, counts, catalog, outside, cleared, report);
        }
        // rows the restored tables' insert triggers would have derived (the load runs with triggers off)
        Set<String> changed = new java.util.HashSet<>(selected);
        changed.addAll(cleared);
        List<DerivedRows.Unsupported> unsupported = new ArrayList<>();
        List<DerivedRows.Rule> derived = DerivedRows.applicable(DerivedRows.read(c, target, target.tables.keySet(),
                unsupported), changed, selected);
        unsupported.removeIf(u -> !selected.contains(u.parent())); // a cleared table gets no rows to derive from
        for (DerivedRows.Rule r : derived) {
            report.info(subject, "triggers are off during the load, so after it " + r.describe());
            if (r.statistics() && !cleared.contains(r.derived())) {
                try (Statement st = c.createStatement()) {
                    long n = count(st, target.tables.get(r.derived()).sql(), counts, r.derived());
                    if (n > 0) {
                        report.change(new CheckReport.Change(subject, r.derived(), CheckReport.Change.Action.CLEAR,
                                catalog.categoryOf(r.derived()).map(SourcegraphCatalog.Category::id).orElse(null), n,
                                "derived from " + r.parent() + (selected.contains(r.parent()) ? " (restored)"
                                        : cleared.contains(r.parent()) ? " (cleared)" : " (regenerated)")
                                        + ": recomputed after the load as trigger "
                                        + r.trigger() + " computes it"));
                    }
                }
            }
        }
        for (DerivedRows.Unsupported u : unsupported) {
            if (u.writes() == null || !selected.contains(u.writes())) { // the backup's own table is the truth
                report.warn(subject, "trigger " + u.trigger() + " on " + u.parent() + " writes "
                        + (u.writes() == null ? "other tables" : u.writes()) + " on insert in a way sgbackup does not"
                        + " reproduce, and the restore runs with triggers off: check " + (u.writes() == null
                        ? "what it maintains" : u.writes()) + " after the restore, or include it in the backup");
            }
        }
        // privileges
        boolean superuser;
        boolean bypassRls;
        String me;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")) {
            rs.next();
            me = rs.getString(1);
            superuser = rs.getBoolean(2);
            bypassRls = rs.getBoolean(3);
        }
        boolean replica = superuser || canSetReplica(c);
        boolean ownerOfAll = true;
        for (String t : selected) {
            PgSchema.Table tab = target.tables.get(t);
            boolean owner = superuser || isMember(c, tab.owner());
            ownerOfAll &= owner;
            if (!hasPriv(c, tab.sql(), "INSERT") || (replace && !hasPriv(c, tab.sql(), "TRUNCATE"))) {
                report.error(subject, "role " + me + " lacks INSERT" + (replace ? "/TRUNCATE" : "") + " on " + t
                        + ": restore as the table owner (" + tab.owner() + ") or GRANT INSERT, TRUNCATE ON " + t + " TO " + me);
            }
            if (tab.rowSecurity() && !owner && !bypassRls) {
                report.error(subject, "table " + t + " has row-level security; COPY into it needs its owner ("
                        + tab.owner() + "), a superuser or a role with BYPASSRLS: ALTER ROLE " + me + " BYPASSRLS");
            }
            if (!replica && !owner) {
                report.error(subject, "role " + me + " may neither SET session_replication_role nor disable the"
                        + " triggers of " + t + " (owned by " + tab.owner() + "); restore as a superuser or as the owner");
            }
        }
        for (PgSchema.Sequence s : target.sequences) {
            if (s.ownerTable() != null && selected.contains(s.ownerTable()) && !hasSeqUpdate(c, s.sql())) {
                report.error(subject, "role " + me + " lacks UPDATE on sequence " + s.qualified()
                        + " (setval): GRANT UPDATE ON SEQUENCE " + s.qualified() + " TO " + me);
            }
        }
        for (String t : outside) {
            if (!hasPriv(c, target.tables.get(t).sql(), "TRUNCATE")) {
                report.error(subject, "role " + me + " lacks TRUNCATE on " + t + ", which the replace empties with the"
                        + " restored tables: GRANT TRUNCATE ON " + t + " TO " + me + " or restore as its owner");
            }
        }
        for (DerivedRows.Rule r : derived) {
            String sql = target.tables.get(r.derived()).sql();
            if (!hasPriv(c, sql, "INSERT") || (r.statistics() && !hasPriv(c, sql, "DELETE"))) {
                report.error(subject, "role " + me + " lacks INSERT" + (r.statistics() ? "/DELETE" : "") + " on "
                        + r.derived() + ", whose trigger-derived rows the restore regenerates: GRANT them or restore as"
                        + " its owner");
            }
        }
        return new Preflight(replica, ownerOfAll, superuser, outside, derived);
    }

    private static long countRows(Connection c, PgSchema target, String t, Map<String, Long> cache) throws SQLException {
        try (Statement st = c.createStatement()) {
            return count(st, target.tables.get(t).sql(), cache, t);
        }
    }

    private static long count(Statement st, String sql, Map<String, Long> cache, String table) throws SQLException {
        Long n = cache.get(table);
        if (n == null) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + sql)) {
                rs.next();
                n = rs.getLong(1);
            }
            cache.put(table, n);
        }
        return n;
    }

    /**
     * The tables outside the backup a replace touches. TRUNCATE of a table needs every table referencing it in the
     * same statement (and so on, transitively); a replace that restores {@code repo} also invalidates every
     * outside row holding repository ids. Of these tables, empty ones are harmless to include, recreatable ones
     * (by the catalog) with rows are cleared and reported, and any other with rows refuses the restore: sgbackup
     * never deletes data that cannot be recreated, and never uses CASCADE.
     */
    void outside(Connection c, PgSchema target, Set<String> selected, Set<String> truncated, String repo,
                         Map<String, Long> counts, SourcegraphCatalog catalog, Set<String> outside, Set<String> cleared,
                         CheckReport report) throws SQLException {
        Map<String, String> why = new LinkedHashMap<>(); // outside table to the restored (or cleared) table it follows
        Map<String, String> refs = new LinkedHashMap<>(); // for briefs: outside table to referenced table
        Set<String> emptied = new java.util.HashSet<>(truncated); // restored tables TRUNCATE empties, and outside ones
        java.util.Deque<String> todo = new java.util.ArrayDeque<>(truncated);
        Runnable follow = () -> {
            while (!todo.isEmpty()) {
                String t = todo.pop();
                for (PgSchema.ForeignKey fk : target.foreignKeys) {
                    if (!fk.refTable().equals(t) || !emptied.add(fk.table())) {
                        continue; // TRUNCATE needs every table referencing a truncated one, restored or not
                    }
                    todo.add(fk.table());
                    if (!selected.contains(fk.table())) {
                        why.put(fk.table(), "references " + t + (selected.contains(t) ? " (restored)" : " (cleared)")
                                + " by " + fk.name());
                        refs.put(fk.table(), t);
                    }
                }
            }
        };
        follow.run();
        if (repo != null && selected.contains(repo)) {
            // rows holding repository ids would name other repositories (only those with rows: an empty table need
            // not be truncated, nor the tables referencing it)
            for (String t : target.tables.keySet()) {
                if (!selected.contains(t) && !why.containsKey(t) && !RepoIdentity.idColumns(target, t).isEmpty()
                        && countRows(c, target, t, counts) > 0) {
                    why.put(t, "holds ids of " + repo + " (restored): " + String.join(", ", RepoIdentity.idColumns(target, t)));
                    emptied.add(t);
                    todo.add(t);
                }
            }
            follow.run();
        }
        outside.addAll(why.keySet());
        try (Statement st = c.createStatement()) {
            List<String> refused = new ArrayList<>();
            for (String t : outside) {
                long n = count(st, target.tables.get(t).sql(), counts, t);
                if (n == 0) {
                    continue;
                }
                SourcegraphCatalog.Category cat = catalog.categoryOf(t).orElse(null);
                if (cat != null && cat.recreatable()) {
                    cleared.add(t);
                    String byPrefix = catalog.matchedPrefix(t).map(p -> " (the catalog does not list this table: its"
                            + " category comes from the name prefix '" + p + "'; check it before you run)").orElse("");
                    report.change(new CheckReport.Change(store, t, CheckReport.Change.Action.CLEAR, cat.id(), n,
                            why.get(t) + "; recreatable (" + cat.id() + "), so it is emptied in the same transaction" + byPrefix));
                } else {
                    refused.add(t);
                    String ref = refs.getOrDefault(t, repo);
                    String include = cat == null ? "restore the whole database (it is not in the Sourcegraph catalog)"
                            : "include its category in the backup (--tables " + cat.id() + ") or restore the whole database";
                    report.error(store, RepoIdentity.bare(t) + " → " + RepoIdentity.bare(ref), "table " + t + " ("
                            + (cat == null ? "unknown category" : "category " + cat.id() + ", not recreatable") + ") has "
                            + n + " rows and " + why.get(t) + "; the replace would leave them pointing at rows that are"
                            + " gone or others, and sgbackup never deletes data that cannot be recreated (nor uses CASCADE): "
                            + include + ", or empty " + t + " in the target first if its rows are not needed");
                }
            }
            outside.removeIf(t -> counts.getOrDefault(t, 0L) > 0 && !cleared.contains(t));
        }
    }

    private static boolean canSetReplica(Connection c) {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT has_parameter_privilege('session_replication_role', 'SET')")) {
            rs.next();
            return rs.getBoolean(1);
        } catch (SQLException e) {
            return false; // before PostgreSQL 15 only superusers may
        }
    }

    private static boolean isMember(Connection c, String role) throws SQLException {
        try (var ps = c.prepareStatement("SELECT pg_has_role(current_user, ?, 'USAGE')")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static boolean hasPriv(Connection c, String table, String priv) throws SQLException {
        try (var ps = c.prepareStatement("SELECT has_table_privilege(?::regclass, ?)")) {
            ps.setString(1, table);
            ps.setString(2, priv);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static boolean hasSeqUpdate(Connection c, String seq) throws SQLException {
        try (var ps = c.prepareStatement("SELECT has_sequence_privilege(?::regclass, 'UPDATE')")) {
            ps.setString(1, seq);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** Restores in one transaction; any failure rolls back and says so. */
    void restore(RestoreInput in) throws IOException {
        StoreBackup backup = in.backup();
        boolean replace = in.options().replace();
        try (Connection c = spec.open()) {
            PgSchema target = PgSchema.read(c);
            CheckReport report = new CheckReport();
            Preflight pf = check(c, target, backup, replace, report);
            report.throwIfFailed();
            if (in.options().dryRun()) {
                return;
            }
            String current = "preparing";
            List<String> filled = new ArrayList<>();
            long tStart = System.nanoTime();
            for (String left : StagedLoad.dropLeftovers(c)) {
                in.warn("dropped " + left + ", a staging schema an interrupted restore left in " + spec.where());
            }
            Map<String, List<ArtifactInfo>> artifacts = tables(backup);
            JsonNode rowCounts = readJson(backup.properties().get(PostgresStore.PROP_ROWS));
            StagedLoad staged = stage(c, target, pf, artifacts, rowCounts, in);
            Set<String> stagedTables = Set.copyOf(staged.tables());
            List<String> order = List.of();
            try {
                order = target.fkOrder(artifacts.keySet()).stream().filter(t -> !stagedTables.contains(t)).toList();
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL row_security = off");
                    // index rebuilds after the load sort in memory rather than on disk (never lowered)
                    raiseIndexMemory(st, true);
                    JdbcBackup.setTenant(st, backup.properties().get(PostgresStore.PROP_TENANT), true);
                    if (pf.replica()) {
                        st.execute("SET LOCAL session_replication_role = replica");
                    } else {
                        for (String t : order) {
                            st.execute("ALTER TABLE " + target.tables.get(t).sql() + " DISABLE TRIGGER USER");
                        }
                        st.execute("SET CONSTRAINTS ALL DEFERRED");
                    }
                }
                // a table that gets few rows keeps its indexes: dropping and recreating them costs more than
                // maintaining them row by row (most tables of a Sourcegraph database are empty or nearly so)
                List<String> rebuilt = order.stream().filter(t -> !rowCounts.has(t)
                        || rowCounts.get(t).asLong(Long.MAX_VALUE) >= REBUILD_FROM_ROWS).toList();
                current = "TRUNCATE";
                Set<String> truncated = replace ? truncate(c, target, order, rebuilt, pf.outside()) : Set.of();
                List<String> indexes = pf.owner() ? dropSecondaryIndexes(c, target, rebuilt) : List.of();
                for (String t : order) {
                    in.checkCancelled();
                    current = t;
                    PgSchema.Table tab = target.tables.get(t);
                    long rows = 0;
                    for (ArtifactInfo a : artifacts.get(t)) {
                        rows += copyIn(c, in, tab.sql(), a, truncated.contains(t));
                    }
                    if (rows > 0) {
                        filled.add(tab.sql());
                    }
                    checkRows(t, rowCounts, rows);
                }
                long tLoaded = System.nanoTime();
                current = "recreating indexes";
                try (Statement st = c.createStatement()) {
                    for (String def : indexes) {
                        st.execute(def);
                    }
                }
                // statistics for the tables that got rows, in one statement, inside the transaction (they commit or
                // roll back with the rows) and while the staged tables are still loading; an emptied table's
                // statistics were reset by TRUNCATE, an untouched empty table's are unchanged
                analyze(c, filled, in);
                long tIndexed = System.nanoTime();
                if (!stagedTables.isEmpty()) {
                    current = "loading the staged tables";
                    Map<String, Long> stagedRows = staged.await();
                    for (String t : staged.tables()) {
                        checkRows(t, rowCounts, stagedRows.getOrDefault(t, 0L));
                    }
                    current = "swapping in the staged tables";
                    staged.swap(c);
                }
                long tSwapped = System.nanoTime();
                current = "regenerating trigger-derived rows";
                DerivedRows.apply(c, target, pf.derived());
                checkDerived(c, target, pf.derived());
                current = "checking foreign keys";
                if (pf.replica()) {
                    Set<String> touched = new java.util.HashSet<>(artifacts.keySet());
                    touched.addAll(pf.outside());
                    pf.derived().forEach(r -> touched.add(r.derived()));
                    checkForeignKeys(c, target, touched);
                } else {
                    try (Statement st = c.createStatement()) {
                        for (String t : order) {
                            st.execute("ALTER TABLE " + target.tables.get(t).sql() + " ENABLE TRIGGER USER");
                        }
                    }
                }
                long tChecked = System.nanoTime();
                current = "setting sequences";
                setSequences(c, target, backup, artifacts.keySet());
                current = "commit";
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
                throw failure(current, e);
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
     * {@link Preflight#outside()}): those with rows are cleared, empty ones join the TRUNCATE when it needs them.
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

    /**
     * COPY of one artifact into {@code table} (an SQL name), {@code FREEZE} when the table was truncated in this
     * transaction; returns the rows. Large artifacts are decoded a few chunks ahead on another thread, overlapping
     * with COPY.
     */
    static long copyIn(Connection c, RestoreInput in, String table, ArtifactInfo a, boolean freeze)
            throws SQLException, IOException {
        String sql = "COPY " + table + " (" + String.join(", ", columns(a).stream().map(PgSchema::quote).toList())
                + ") FROM STDIN" + (freeze ? " WITH (FREEZE)" : "");
        try (InputStream is = a.size() > PREFETCH_OVER ? new PrefetchInputStream(in.open(a), 1 << 18, 8) : in.open(a)) {
            return c.unwrap(PGConnection.class).getCopyAPI().copyIn(sql, is, COPY_BUFFER);
        }
    }

    /** Fails when a table got other than the rows its backup recorded (no record: nothing to compare). */
    static void checkRows(String table, JsonNode rowCounts, long rows) {
        if (rowCounts.has(table) && rowCounts.get(table).asLong() != rows) {
            throw new IntegrityException("table " + table + ": the backup recorded " + rowCounts.get(table).asText()
                    + " rows but " + rows + " were read");
        }
    }

    /**
     * Index builds after the load sort in memory rather than on disk: raises {@code maintenance_work_mem} (never
     * lowers it) for the transaction ({@code local}) or the session.
     */
    static void raiseIndexMemory(Statement st, boolean local) throws SQLException {
        st.execute("SELECT set_config('maintenance_work_mem', '" + INDEX_MEMORY_KB + "kB', " + local + ") FROM pg_settings"
                + " WHERE name = 'maintenance_work_mem' AND setting::bigint < " + INDEX_MEMORY_KB);
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
    private StagedLoad stage(Connection c, PgSchema target, Preflight pf, Map<String, List<ArtifactInfo>> artifacts,
                             JsonNode rowCounts, RestoreInput in) throws SQLException {
        List<String> large = new ArrayList<>();
        if (in.parallelism() > 1 && pf.owner()) {
            artifacts.forEach((t, parts) -> {
                if (parts.stream().mapToLong(ArtifactInfo::size).sum() >= stageFromBytes) {
                    large.add(t);
                }
            });
        }
        List<String> eligible = large.isEmpty() ? List.of() : StagedLoad.eligible(c, target, large);
        return StagedLoad.start(spec, store, in, in.backup().properties().get(PostgresStore.PROP_TENANT), target,
                eligible, artifacts, Math.min(in.parallelism(), MAX_STAGE_CONNECTIONS));
    }

    private static JsonNode readJson(String json) {
        try {
            return json == null ? PgSchema.JSON.createObjectNode() : PgSchema.JSON.readTree(json);
        } catch (IOException e) {
            throw new IntegrityException("the backup's row counts cannot be read: " + e.getMessage(), e);
        }
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

    private static List<String> dropSecondaryIndexes(Connection c, PgSchema target, List<String> tables) throws SQLException {
        List<String> defs = new ArrayList<>();
        List<Long> oids = tables.stream().map(t -> target.tables.get(t).oid()).toList();
        if (oids.isEmpty()) {
            return defs;
        }
        List<String> drops = new ArrayList<>();
        // primary keys and unique constraints nothing else depends on (no foreign key, not the replica identity):
        // built once after the load instead of maintained row by row
        List<String> comments = new ArrayList<>();
        try (var ps = c.prepareStatement("SELECT quote_ident(n.nspname) || '.' || quote_ident(cl.relname),"
                + " quote_ident(con.conname), pg_get_constraintdef(con.oid), obj_description(con.oid, 'pg_constraint'),"
                + " obj_description(con.conindid, 'pg_class'), quote_ident(n.nspname) || '.' || quote_ident(ci.relname)"
                + " FROM pg_constraint con JOIN pg_class ci ON ci.oid = con.conindid"
                + " JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace"
                + " JOIN pg_index i ON i.indexrelid = con.conindid"
                + " WHERE con.conrelid = ANY (?) AND con.contype IN ('p', 'u') AND NOT i.indisreplident"
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass"
                + "   AND d.refobjid = con.conindid AND NOT (d.classid = 'pg_constraint'::regclass AND d.objid = con.oid))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_constraint'::regclass"
                + "   AND d.refobjid = con.oid AND NOT (d.classid = 'pg_class'::regclass AND d.objid = con.conindid))")) {
            ps.setArray(1, c.createArrayOf("oid", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    drops.add("ALTER TABLE " + rs.getString(1) + " DROP CONSTRAINT " + rs.getString(2));
                    defs.add("ALTER TABLE " + rs.getString(1) + " ADD CONSTRAINT " + rs.getString(2) + " " + rs.getString(3));
                    if (rs.getString(4) != null) {
                        comments.add("COMMENT ON CONSTRAINT " + rs.getString(2) + " ON " + rs.getString(1) + " IS "
                                + PgSchema.quoteLiteral(rs.getString(4)));
                    }
                    if (rs.getString(5) != null) {
                        comments.add("COMMENT ON INDEX " + rs.getString(6) + " IS " + PgSchema.quoteLiteral(rs.getString(5)));
                    }
                }
            }
        }
        try (var ps = c.prepareStatement("SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname),"
                + " pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class') FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                + " JOIN pg_namespace n ON n.oid = ic.relnamespace WHERE i.indrelid = ANY (?)"
                + " AND NOT i.indisreplident AND NOT i.indisclustered"
                + " AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)"
                // an index may depend on operator classes, functions and collations (trigram and expression
                // indexes do); what keeps it is an extension owning it or anything depending on it
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
                + "   AND d.objid = i.indexrelid AND d.deptype IN ('e', 'x', 'i', 'P', 'S'))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass"
                + "   AND d.refobjid = i.indexrelid)")) {
            ps.setArray(1, c.createArrayOf("oid", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    drops.add("DROP INDEX " + rs.getString(1));
                    defs.add(rs.getString(2));
                    if (rs.getString(3) != null) {
                        comments.add("COMMENT ON INDEX " + rs.getString(1) + " IS " + PgSchema.quoteLiteral(rs.getString(3)));
                    }
                }
            }
        }
        try (Statement st = c.createStatement()) {
            for (String d : drops) {
                st.execute(d);
            }
        }
        defs.addAll(comments); // after the rebuilds, which made new indexes
        return defs;
    }

    /** After regeneration every parent row has its derived row: otherwise the new instance never clones or indexes it. */
    private static void checkDerived(Connection c, PgSchema target, List<DerivedRows.Rule> rules) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (DerivedRows.Rule r : rules) {
                if (r.statistics()) {
                    continue;
                }
                String sql = r.sql();
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + target.tables.get(r.parent()).sql() + " p WHERE"
                        + sql.substring(sql.indexOf(" NOT EXISTS ")))) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        throw new IntegrityException(rs.getLong(1) + " rows of " + r.parent() + " have no " + r.derived()
                                + " row after regenerating them as trigger " + r.trigger() + " would");
                    }
                }
            }
        }
    }

    /** One anti-join per foreign key touching a restored table; any orphan fails the restore. */
    static void checkForeignKeys(Connection c, PgSchema target, Set<String> restored) throws SQLException {
        List<String> orphans = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            for (PgSchema.ForeignKey fk : target.foreignKeys) {
                if (!restored.contains(fk.table()) && !restored.contains(fk.refTable())) {
                    continue;
                }
                StringBuilder notNull = new StringBuilder();
                StringBuilder join = new StringBuilder();
                for (int i = 0; i < fk.columns().size(); i++) {
                    if (i > 0) {
                        notNull.append(" AND ");
                        join.append(" AND ");
                    }
                    notNull.append("c.").append(PgSchema.quote(fk.columns().get(i))).append(" IS NOT NULL");
                    join.append("p.").append(PgSchema.quote(fk.refColumns().get(i))).append(" = c.")
                            .append(PgSchema.quote(fk.columns().get(i)));
                }
                String sql = "SELECT count(*) FROM " + target.tables.get(fk.table()).sql() + " c WHERE " + notNull
                        + " AND NOT EXISTS (SELECT 1 FROM " + target.tables.get(fk.refTable()).sql() + " p WHERE " + join + ")";
                try (ResultSet rs = st.executeQuery(sql)) {
                    rs.next();
                    long n = rs.getLong(1);
                    if (n > 0) {
                        orphans.add(n + " rows of " + fk.table() + " (" + fk.name() + " -> " + fk.refTable() + ")");
                    }
                }
            }
        }
        if (!orphans.isEmpty()) {
            throw new StoreException("foreign keys would be violated after the load: " + String.join(", ", orphans)
                    + " have no referenced row; restore the referenced tables too (a wider selection)");
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
