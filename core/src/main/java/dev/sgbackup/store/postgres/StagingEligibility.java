package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which large tables a JDBC restore may load staged ({@link StagedLoad}): one catalog query that keeps a table only
 * when nothing but its own indexes, constraints, defaults, policies and sequences is tied to it. Its single job is
 * that decision; a table it turns down loads in the restore's transaction like any other.
 */
final class StagingEligibility {
    private StagingEligibility() {
    }

    /**
     * The candidates that qualify: plain heap tables, not partitioned or inherited, with no foreign key in either
     * direction, no trigger, rule, view, publication, extended statistics, identity column, column grant, per-column
     * statistics target, exclusion or deferrable key, invalid or clustered index, or use of their row type elsewhere;
     * owned by the current role (or it is a superuser), which may create schemas in the database; and the database
     * has no publication.
     */
    static List<String> eligible(Connection c, PgSchema target, Collection<String> candidates) throws SQLException {
        List<String> out = new ArrayList<>();
        if (candidates.isEmpty()) {
            return out;
        }
        try (Statement st = c.createStatement();
             // rows loaded into a copy would bypass a publication's subscribers: none when any publication exists
             ResultSet rs = st.executeQuery("SELECT has_database_privilege(current_database(), 'CREATE')"
                     + " AND NOT EXISTS (SELECT 1 FROM pg_publication)")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return out;
            }
        }
        String sql = "SELECT c.oid FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = ANY (?)"
                + " AND c.relkind = 'r' AND NOT c.relispartition AND am.amname = 'heap' AND c.reltablespace = 0"
                + " AND c.relpersistence IN ('p', 'u') AND c.relreplident IN ('d', 'n', 'f')"
                + " AND (c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
                + "      OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)"
                + " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE (k.contype = 'f' AND (k.conrelid = c.oid OR k.confrelid = c.oid))"
                + "      OR (k.conrelid = c.oid AND (k.contype = 'x' OR (k.contype IN ('p', 'u') AND k.condeferrable))))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid)"
                + " AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext s WHERE s.stxrelid = c.oid)"
                + " AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND (NOT x.indisvalid OR x.indisclustered))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                + "      AND (a.attidentity <> '' OR a.attacl IS NOT NULL OR coalesce(a.attstattarget, -1) <> -1))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_seclabel l WHERE l.objoid = c.oid AND l.classoid = 'pg_class'::regclass)"
                + " AND c.reloftype = 0"
                + " AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attoptions IS NOT NULL)"
                + " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND NOT k.convalidated)"
                // indexes in another tablespace, or with a statistics target on an expression column
                + " AND NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = c.oid"
                + "      AND (ic.reltablespace <> 0 OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = ic.oid"
                + "      AND coalesce(a.attstattarget, -1) <> -1)))"
                // a policy reading any relation (another table, or its own through a subquery) would tie the
                // copy to the original, and its loader to locks the restore's transaction holds
                // (a relation in a policy's expression tree is a range table entry with a non-zero :relid)
                + " AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid"
                + "      AND (coalesce(p.polqual::text, '') ~ ':relid [1-9]' OR coalesce(p.polwithcheck::text, '') ~ ':relid [1-9]'))"
                + " AND (c.reltoastrelid = 0 OR (SELECT t.reloptions IS NULL FROM pg_class t WHERE t.oid = c.reltoastrelid))"
                // whatever depends on the table is its own: indexes, constraints, defaults, policies, owned
                // sequences, its TOAST table and row type (anything else, e.g. a view, keeps it out)
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid"
                + "      AND NOT (d.classid IN ('pg_class'::regclass, 'pg_type'::regclass) AND d.deptype IN ('a', 'i'))"
                + "      AND NOT (d.classid = 'pg_constraint'::regclass AND d.objid IN (SELECT oid FROM pg_constraint WHERE conrelid = c.oid))"
                + "      AND NOT (d.classid = 'pg_attrdef'::regclass AND d.objid IN (SELECT oid FROM pg_attrdef WHERE adrelid = c.oid))"
                + "      AND NOT (d.classid = 'pg_policy'::regclass AND d.objid IN (SELECT oid FROM pg_policy WHERE polrelid = c.oid)))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type ty ON ty.oid = c.reltype"
                + "      WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid = ty.typarray"
                + "      AND NOT (d.classid = 'pg_type'::regclass AND d.objid = ty.oid))"
                + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid = c.reltype"
                + "      AND NOT (d.classid = 'pg_type'::regclass AND d.deptype = 'i')"
                + "      AND NOT (d.classid = 'pg_class'::regclass AND d.objid = c.oid))";
        Map<Long, String> byOid = new LinkedHashMap<>();
        candidates.forEach(t -> byOid.put(target.tables.get(t).oid(), t));
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("oid", byOid.keySet().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(byOid.get(rs.getLong(1)));
                }
            }
        }
        out.sort(java.util.Comparator.comparingInt(List.copyOf(candidates)::indexOf));
        return out;
    }
}
