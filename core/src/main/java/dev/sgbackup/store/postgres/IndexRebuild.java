package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Index and key rebuilds around a JDBC restore's load: which tables get their secondary indexes, primary keys and
 * unique constraints dropped before the load, the drop itself (keeping the definitions and comments), their
 * recreation after it, and the index-build memory. Its single job is that a large table is indexed once after its
 * rows are in rather than row by row during the load.
 */
final class IndexRebuild {
    private static final long INDEX_MEMORY_KB = 256 * 1024;
    /** Tables getting fewer rows keep their indexes during the load instead of having them rebuilt after it. */
    private static final long REBUILD_FROM_ROWS = 10_000;

    private IndexRebuild() {
    }

    /**
     * The tables of {@code order} whose indexes are rebuilt after the load. A table that gets few rows keeps its
     * indexes: dropping and recreating them costs more than maintaining them row by row (most tables of a Sourcegraph
     * database are empty or nearly so).
     */
    static List<String> rebuilt(List<String> order, JsonNode rowCounts) {
        return order.stream().filter(t -> !rowCounts.has(t)
                || rowCounts.get(t).asLong(Long.MAX_VALUE) >= REBUILD_FROM_ROWS).toList();
    }

    /**
     * Index builds after the load sort in memory rather than on disk: raises {@code maintenance_work_mem} (never
     * lowers it) for the transaction ({@code local}) or the session.
     */
    static void raiseIndexMemory(Statement st, boolean local) throws SQLException {
        st.execute("SELECT set_config('maintenance_work_mem', '" + INDEX_MEMORY_KB + "kB', " + local + ") FROM pg_settings"
                + " WHERE name = 'maintenance_work_mem' AND setting::bigint < " + INDEX_MEMORY_KB);
    }

    /**
     * Drops the secondary indexes, and the primary keys and unique constraints nothing else depends on, of
     * {@code tables}; returns the statements that recreate them, then their comments.
     */
    static List<String> dropSecondaryIndexes(Connection c, PgSchema target, List<String> tables) throws SQLException {
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

    /** Runs the statements {@link #dropSecondaryIndexes} returned, in order. */
    static void recreate(Connection c, List<String> definitions) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (String def : definitions) {
                st.execute(def);
            }
        }
    }
}
