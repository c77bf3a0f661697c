package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.StoreBackup;
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

/**
 * The checks of a JDBC restore that run before anything is written, and its refusals: the schema must match the
 * backup's, the restored tables must be empty (or replaced), repository ids must travel with their repositories,
 * tables outside the backup that a replace would touch must be empty or recreatable, and the role must hold every
 * privilege the restore uses. Its single job is deciding whether a restore may run, reporting why not to a
 * {@link CheckReport}, and handing the facts it found to {@link RestoreRun} as a {@link Preflight}.
 */
final class JdbcRestoreChecks {
    private final ConnectionSpec spec;
    private final String store;

    JdbcRestoreChecks(ConnectionSpec spec, String store) {
        this.spec = spec;
        this.store = store;
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
        Set<String> selected = JdbcRestore.tables(backup).keySet();
        JsonNode backupRows = JdbcRestore.readJson(backup.properties().get(PostgresStore.PROP_ROWS));
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
}
