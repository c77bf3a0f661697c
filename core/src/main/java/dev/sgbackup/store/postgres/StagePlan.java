package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * One table to stage: what it is now and everything needed to rebuild it as it was (owner, persistence, replica
 * identity, storage options, comment, indexes and keys, policies, row-level security, grants, owned sequences).
 * Its single job is describing the table's definition from the catalog ({@link #describe}); {@link StagedLoad}
 * creates and loads the copy, {@link StagedSwap} makes the copy into the table.
 */
record StagePlan(PgSchema.Table table, String qualified, String owner, String persistence, String replIdent,
                 List<String> options, String comment, List<Index> indexes, List<String[]> policies,
                 boolean rowSecurity, boolean forceRowSecurity, boolean aclNull, List<String> grants,
                 List<String[]> ownedSequences) {
    private static final System.Logger LOG = System.getLogger(StagedLoad.class.getName());

    /** An index to build on the copy; {@code constraint} set for primary keys and unique constraints. */
    record Index(String name, String definition, String constraint, String constraintType, String comment) {
    }

    /** The SQL name of the copy in the staging schema {@code schema}. */
    String copy(String schema) {
        return PgSchema.quote(schema) + "." + PgSchema.quote(table.name());
    }

    /**
     * Everything the copy of {@code t} in the staging schema {@code schema} needs to become the table; null when an
     * index definition cannot be moved.
     */
    static StagePlan describe(Connection c, PgSchema.Table t, String schema) throws SQLException {
        String qualified;
        String owner;
        String persistence;
        String replIdent;
        String comment;
        boolean rls;
        boolean force;
        List<String> options = new ArrayList<>();
        List<String> grants = new ArrayList<>();
        boolean aclNull;
        try (PreparedStatement ps = c.prepareStatement("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
                + " pg_get_userbyid(c.relowner), c.relpersistence, c.relreplident, obj_description(c.oid, 'pg_class'),"
                + " c.relrowsecurity, c.relforcerowsecurity, c.reloptions, c.relacl IS NOT NULL"
                + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?")) {
            ps.setLong(1, t.oid());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                qualified = rs.getString(1);
                owner = rs.getString(2);
                persistence = rs.getString(3);
                replIdent = rs.getString(4);
                comment = rs.getString(5);
                rls = rs.getBoolean(6);
                force = rs.getBoolean(7);
                if (rs.getArray(8) != null) {
                    for (Object o : (Object[]) rs.getArray(8).getArray()) {
                        options.add(o.toString());
                    }
                }
                aclNull = !rs.getBoolean(9);
            }
        }
        // the privileges the table has: its ACL, or the owner's defaults when it has none (what the copy must end with)
        try (PreparedStatement ps = c.prepareStatement("SELECT a.grantee, pg_get_userbyid(a.grantee), a.privilege_type,"
                + " a.is_grantable FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE c.oid = ?")) {
            ps.setLong(1, t.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    grants.add("GRANT " + rs.getString(3) + " ON " + t.sql() + " TO "
                            + (rs.getLong(1) == 0 ? "PUBLIC" : PgSchema.quote(rs.getString(2)))
                            + (rs.getBoolean(4) ? " WITH GRANT OPTION" : ""));
                }
            }
        }
        List<Index> indexes = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT ic.relname, pg_get_indexdef(i.indexrelid), k.conname, k.contype,"
                + " obj_description(i.indexrelid, 'pg_class'), obj_description(k.oid, 'pg_constraint')"
                + " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                + " LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u')"
                + " WHERE i.indrelid = ? ORDER BY ic.relpages DESC, ic.relname")) {
            ps.setLong(1, t.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String def = rs.getString(2);
                    String on = " ON " + qualified + " USING ";
                    int at = def.indexOf(on);
                    if (at < 0 || def.indexOf(on, at + 1) >= 0) {
                        LOG.log(System.Logger.Level.DEBUG, () -> "not staging " + t.qualified() + ": index " + def);
                        return null;
                    }
                    String moved = def.substring(0, at) + " ON " + PgSchema.quote(schema) + "." + PgSchema.quote(t.name())
                            + " USING " + def.substring(at + on.length());
                    indexes.add(new Index(rs.getString(1), moved, rs.getString(3), rs.getString(4),
                            rs.getString(3) != null ? rs.getString(6) : rs.getString(5)));
                }
            }
        }
        List<String[]> policies = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT policyname, permissive, cmd,"
                + " (SELECT string_agg(CASE WHEN r = 'public' THEN 'PUBLIC' ELSE quote_ident(r) END, ', ') FROM unnest(roles) r),"
                + " qual, with_check, (SELECT obj_description(p.oid, 'pg_policy') FROM pg_policy p"
                + " WHERE p.polrelid = ?::oid AND p.polname = policyname)"
                + " FROM pg_policies WHERE schemaname = ? AND tablename = ? ORDER BY policyname")) {
            ps.setLong(1, t.oid());
            ps.setString(2, t.schema());
            ps.setString(3, t.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    policies.add(new String[]{"CREATE POLICY " + PgSchema.quote(rs.getString(1)) + " ON ",
                            " AS " + rs.getString(2) + " FOR " + rs.getString(3) + " TO " + rs.getString(4)
                            + (rs.getString(5) != null ? " USING (" + rs.getString(5) + ")" : "")
                            + (rs.getString(6) != null ? " WITH CHECK (" + rs.getString(6) + ")" : ""),
                            PgSchema.quote(rs.getString(1)), rs.getString(7)});
                }
            }
        }
        List<String[]> owned = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname),"
                + " quote_ident(a.attname) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
                + " JOIN pg_namespace sn ON sn.oid = s.relnamespace"
                + " JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                + " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ?"
                + " AND d.deptype = 'a'")) {
            ps.setLong(1, t.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    owned.add(new String[]{rs.getString(1), rs.getString(2)});
                }
            }
        }
        return new StagePlan(t, qualified, owner, persistence, replIdent, options, comment, indexes, policies,
                rls, force, aclNull, grants, owned);
    }
}
