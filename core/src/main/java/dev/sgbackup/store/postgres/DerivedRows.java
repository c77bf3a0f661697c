package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rows that triggers derive from inserted rows, regenerated after a JDBC restore (which runs with triggers off).
 * Read from the target's own trigger functions, so that the restore does exactly what the triggers do:
 *
 * <ul>
 *   <li>a <b>row rule</b>: an {@code AFTER INSERT ... FOR EACH ROW} trigger without WHEN whose function is one
 *       {@code INSERT INTO child (cols) VALUES (NEW.x, 'literal', ...)}; Sourcegraph 5.x's {@code repo} gets a
 *       {@code gitserver_repos} and a {@code zoekt_repos} row this way. Regenerated for every parent row that lacks
 *       its child row (matched on the child's primary key);</li>
 *   <li>a <b>statistics rule</b>: an {@code AFTER INSERT ... FOR EACH STATEMENT} trigger with a transition table
 *       whose function is one {@code INSERT INTO stats ... FROM newtab}; {@code repo_statistics} and
 *       {@code gitserver_repos_statistics} are kept this way. The statistics table is emptied and the function's
 *       INSERT runs once with the transition table replaced by the whole parent table, which is what the trigger
 *       would have appended had all its rows been inserted into the empty table.</li>
 * </ul>
 *
 * <p>A rule applies only when its parent table got rows in the restore and its derived table is not itself
 * restored from the backup (a backup's table is the truth, and is never added to).
 */
final class DerivedRows {
    /** One trigger-derived table: a child row per parent row, or statistics over the parent. */
    record Rule(String trigger, String function, String parent, String derived, boolean statistics, String sql) {
        String describe() {
            return statistics
                    ? derived + " is recomputed from " + parent + " as trigger " + trigger + " (" + function + ") computes it"
                    : derived + " gets a row for each " + parent + " row that lacks one, as trigger " + trigger + " ("
                    + function + ") adds it";
        }
    }

    /** A trigger that writes another table on insert in a way no rule reproduces; {@code writes} null if unclear. */
    record Unsupported(String trigger, String parent, String writes) {
    }

    private static final Pattern WRITES = Pattern.compile("(?i)\\b(?:INSERT\\s+INTO|(?<!DO\\s)UPDATE|DELETE\\s+FROM)\\s+([A-Za-z0-9_.\"]+)");
    private static final Pattern COMMENT = Pattern.compile("--[^\\n]*");
    private static final Pattern ROW_BODY = Pattern.compile("(?is)^\\s*BEGIN\\s+INSERT\\s+INTO\\s+([A-Za-z0-9_.\"]+)\\s*"
            + "\\(([^()]*)\\)\\s*VALUES\\s*\\(([^()]*)\\)\\s*;\\s*RETURN\\s+(?:NULL|NEW)\\s*;\\s*END\\s*;?\\s*$");
    private static final Pattern STATS_BODY = Pattern.compile("(?is)^\\s*BEGIN\\s+(INSERT\\s+INTO\\s+([A-Za-z0-9_.\"]+)"
            + "[^;]*)\\s*;\\s*RETURN\\s+(?:NULL|NEW)\\s*;\\s*END\\s*;?\\s*$");
    private static final Pattern VALUE = Pattern.compile("(?i)\\s*(NEW\\.([A-Za-z0-9_]+)|'[^']*'|-?[0-9]+|NULL|true|false)\\s*");

    private DerivedRows() {
    }

    /**
     * The rules of the target's triggers on {@code parents}. Triggers whose functions are not of the two shapes are
     * listed in {@code unsupported} (trigger and table) so that the caller can say so.
     */
    static List<Rule> read(Connection c, PgSchema s, Collection<String> parents, List<Unsupported> unsupported)
            throws SQLException {
        List<Rule> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT n.nspname || '.' || cl.relname, t.tgname, p.proname, p.prosrc, t.tgtype, t.tgqual IS NOT NULL,"
                        + " t.tgnewtable FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid"
                        + " JOIN pg_namespace n ON n.oid = cl.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid"
                        + " WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY 1, 2")) {
            while (rs.next()) {
                String parent = rs.getString(1);
                int type = rs.getInt(5);
                boolean row = (type & 1) != 0;
                boolean before = (type & 2) != 0;
                boolean insert = (type & 4) != 0;
                if (!parents.contains(parent) || before || !insert) {
                    continue;
                }
                String body = COMMENT.matcher(rs.getString(4)).replaceAll(" ");
                Rule r = row ? rowRule(s, parent, rs.getString(2), rs.getString(3), body, rs.getBoolean(6))
                        : statsRule(s, parent, rs.getString(2), rs.getString(3), body, rs.getString(7));
                if (r != null) {
                    out.add(r);
                } else {
                    Matcher w = WRITES.matcher(body);
                    while (w.find()) {
                        if (w.group(1).equalsIgnoreCase("SET")) {
                            continue;
                        }
                        String t = resolve(s, parent, w.group(1));
                        unsupported.add(new Unsupported(rs.getString(2), parent, t));
                    }
                }
            }
        }
        return out;
    }

    private static Rule rowRule(PgSchema s, String parent, String trigger, String function, String body, boolean when) {
        Matcher m = ROW_BODY.matcher(body);
        if (when || !m.matches()) {
            return null;
        }
        String child = resolve(s, parent, m.group(1));
        if (child == null) {
            return null;
        }
        String[] cols = m.group(2).split(",");
        String[] vals = m.group(3).split(",");
        if (cols.length != vals.length) {
            return null;
        }
        PgSchema.Table ct = s.tables.get(child);
        List<String> names = new ArrayList<>();
        List<String> exprs = new ArrayList<>();
        List<String> match = new ArrayList<>();
        for (int i = 0; i < cols.length; i++) {
            String col = cols[i].trim().replace("\"", "");
            Matcher v = VALUE.matcher(vals[i]);
            if (!v.matches() || ct.column(col) == null) {
                return null;
            }
            String expr = v.group(2) != null ? "p." + PgSchema.quote(v.group(2)) : v.group(1).trim();
            names.add(PgSchema.quote(col));
            exprs.add(expr);
            if (ct.primaryKey().contains(col)) {
                match.add("d." + PgSchema.quote(col) + " = " + expr);
            }
        }
        if (match.isEmpty() || match.size() != ct.primaryKey().size()) {
            return null; // without the child's key nothing says which rows already exist
        }
        String sql = "INSERT INTO " + ct.sql() + " (" + String.join(", ", names) + ") SELECT " + String.join(", ", exprs)
                + " FROM " + s.tables.get(parent).sql() + " p WHERE NOT EXISTS (SELECT 1 FROM " + ct.sql() + " d WHERE "
                + String.join(" AND ", match) + ")";
        return new Rule(trigger, function, parent, child, false, sql);
    }

    private static Rule statsRule(PgSchema s, String parent, String trigger, String function, String body, String newTable) {
        Matcher m = STATS_BODY.matcher(body);
        if (newTable == null || !m.matches()) {
            return null;
        }
        String stats = resolve(s, parent, m.group(2));
        if (stats == null) {
            return null;
        }
        String insert = m.group(1).replaceAll("(?i)\\b" + Pattern.quote(newTable) + "\\b", s.tables.get(parent).sql());
        return new Rule(trigger, function, parent, stats, true, insert);
    }

    /** A table name as a function body writes it, resolved against the parent's schema; null when not a table. */
    private static String resolve(PgSchema s, String parent, String name) {
        String n = name.replace("\"", "");
        String q = n.contains(".") ? n : RepoIdentity.schemaOf(parent) + "." + n;
        return s.tables.containsKey(q) ? q : null;
    }

    /**
     * The rules that apply to a restore: parents that get rows ({@code written}), derived tables it does not
     * restore; row rules first (their children may be parents of statistics rules), closed over derived parents.
     */
    static List<Rule> applicable(List<Rule> rules, Set<String> written, Set<String> restored) {
        List<Rule> out = new ArrayList<>();
        Set<String> parents = new LinkedHashSet<>(written);
        for (boolean grew = true; grew; ) {
            grew = false;
            for (Rule r : rules) {
                if (!r.statistics() && parents.contains(r.parent()) && !restored.contains(r.derived()) && !out.contains(r)) {
                    out.add(r);
                    grew |= parents.add(r.derived());
                }
            }
        }
        for (Rule r : rules) {
            if (r.statistics() && parents.contains(r.parent()) && !restored.contains(r.derived())) {
                out.add(r);
            }
        }
        return out;
    }

    /** Runs the rules in the current transaction: statistics tables are emptied first, then recomputed. */
    static void apply(Connection c, PgSchema s, List<Rule> rules) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (Rule r : rules) {
                if (!r.statistics()) {
                    st.execute(r.sql());
                }
            }
            Set<String> emptied = new LinkedHashSet<>();
            for (Rule r : rules) {
                if (r.statistics() && emptied.add(r.derived())) {
                    st.execute("DELETE FROM " + s.tables.get(r.derived()).sql());
                }
            }
            for (Rule r : rules) {
                if (r.statistics()) {
                    st.execute(r.sql());
                }
            }
        }
    }
}
