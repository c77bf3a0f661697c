package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Turning a loaded staged copy into the table it replaces: first the definition the copy still lacks (keys, replica
 * identity, row-level security, policies, comments), then, inside the restore's transaction, {@code DROP TABLE} of
 * the original, {@code SET SCHEMA} of the copy, and owner, owned sequences, exact privileges and comment carried over.
 * Its single job is that the swapped-in table is the original's definition with the backup's rows.
 */
final class StagedSwap {
    private StagedSwap() {
    }

    /**
     * On a loader connection, once the copy is loaded and indexed: keys on the built indexes, replica identity,
     * row-level security and policies, index and key comments.
     */
    static void finish(Connection c, StagePlan p, String schema) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (StagePlan.Index ix : p.indexes()) {
                if (ix.constraint() != null) {
                    st.execute("ALTER TABLE " + p.copy(schema) + " ADD CONSTRAINT " + PgSchema.quote(ix.constraint())
                            + ("p".equals(ix.constraintType()) ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX "
                            + PgSchema.quote(ix.name()));
                    if (ix.comment() != null) {
                        st.execute("COMMENT ON CONSTRAINT " + PgSchema.quote(ix.constraint()) + " ON " + p.copy(schema)
                                + " IS " + PgSchema.quoteLiteral(ix.comment()));
                    }
                } else if (ix.comment() != null) {
                    st.execute("COMMENT ON INDEX " + PgSchema.quote(schema) + "." + PgSchema.quote(ix.name())
                            + " IS " + PgSchema.quoteLiteral(ix.comment()));
                }
            }
            if ("n".equals(p.replIdent())) {
                st.execute("ALTER TABLE " + p.copy(schema) + " REPLICA IDENTITY NOTHING");
            } else if ("f".equals(p.replIdent())) {
                st.execute("ALTER TABLE " + p.copy(schema) + " REPLICA IDENTITY FULL");
            }
            for (String[] pol : p.policies()) {
                st.execute(pol[0] + p.copy(schema) + pol[1]);
                if (pol[3] != null) {
                    st.execute("COMMENT ON POLICY " + pol[2] + " ON " + p.copy(schema) + " IS " + PgSchema.quoteLiteral(pol[3]));
                }
            }
            if (p.rowSecurity()) {
                st.execute("ALTER TABLE " + p.copy(schema) + " ENABLE ROW LEVEL SECURITY");
            }
            if (p.forceRowSecurity()) {
                st.execute("ALTER TABLE " + p.copy(schema) + " FORCE ROW LEVEL SECURITY");
            }
        }
    }

    /** Inside the restore's transaction: each original table replaced by its loaded copy in {@code schema}. */
    static void swap(Connection main, Collection<StagePlan> plans, String schema) throws SQLException {
        try (Statement st = main.createStatement()) {
            for (StagePlan p : plans) {
                String target = p.table().sql();
                for (String[] seq : p.ownedSequences()) {
                    st.execute("ALTER SEQUENCE " + seq[0] + " OWNED BY NONE");
                }
                st.execute("DROP TABLE " + target);
                st.execute("ALTER TABLE " + p.copy(schema) + " SET SCHEMA " + PgSchema.quote(p.table().schema()));
                // a sequence can only belong to a table of its own owner
                st.execute("ALTER TABLE " + target + " OWNER TO " + PgSchema.quote(p.owner()));
                for (String[] seq : p.ownedSequences()) {
                    st.execute("ALTER SEQUENCE " + seq[0] + " OWNED BY " + target + "." + seq[1]);
                }
                setPrivileges(st, p);
                if (p.comment() != null) {
                    st.execute("COMMENT ON TABLE " + target + " IS " + PgSchema.quoteLiteral(p.comment()));
                }
            }
        }
    }

    /**
     * Gives the moved table exactly the original's privileges. The copy was created by the restoring role, so its
     * default privileges (ALTER DEFAULT PRIVILEGES) may have granted more: all are revoked first. A table without an
     * ACL keeps none when the copy got none either.
     */
    private static void setPrivileges(Statement st, StagePlan p) throws SQLException {
        String target = p.table().sql();
        List<String> holders = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
                + " ELSE quote_ident(pg_get_userbyid(a.grantee)) END FROM pg_class c, aclexplode(c.relacl) a"
                + " WHERE c.oid = " + PgSchema.quoteLiteral(target) + "::regclass")) {
            while (rs.next()) {
                holders.add(rs.getString(1));
            }
        }
        if (holders.isEmpty() && p.aclNull()) {
            return;
        }
        holders.add("PUBLIC");
        holders.add(PgSchema.quote(p.owner()));
        st.execute("REVOKE ALL ON " + target + " FROM " + String.join(", ", new java.util.LinkedHashSet<>(holders)) + " CASCADE");
        for (String g : p.grants()) {
            st.execute(g);
        }
    }
}
