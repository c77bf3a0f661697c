package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Content fingerprints for comparisons: an ordered hash and row count per table, each sequence's state. */
final class DbContent {
    private DbContent() {
    }

    static Map<String, String> tables(String db) throws SQLException {
        return tables(TestPg.on(TestPg.DEFAULT_MAJOR), db);
    }

    static Map<String, String> tables(TestPg.Server server, String db) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = server.connect(db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (PgSchema.Table t : s.tables.values()) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), ''))"
                        + " FROM " + t.sql() + " x")) {
                    rs.next();
                    out.put(t.qualified(), rs.getLong(1) + " rows " + rs.getString(2));
                }
            }
        }
        return out;
    }

    static Map<String, String> sequences(String db) throws SQLException {
        return sequences(TestPg.on(TestPg.DEFAULT_MAJOR), db);
    }

    static Map<String, String> sequences(TestPg.Server server, String db) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = server.connect(db); Statement st = c.createStatement()) {
            for (PgSchema.Sequence q : PgSchema.read(c).sequences) {
                try (ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + q.sql())) {
                    rs.next();
                    out.put(q.qualified(), rs.getLong(1) + "/" + rs.getBoolean(2));
                }
            }
        }
        return out;
    }

    /** What the sequences must be after a restore: setval(greatest(saved, max(owning column)), is_called). */
    static Map<String, String> sequencesAfterRestore(String db) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement()) {
            PgSchema s = PgSchema.read(c);
            for (PgSchema.Sequence q : s.sequences) {
                String max = q.ownerTable() == null ? "NULL" : "(SELECT max(" + PgSchema.quote(q.ownerColumn()) + ")::bigint FROM "
                        + s.tables.get(q.ownerTable()).sql() + ")";
                try (ResultSet rs = st.executeQuery("SELECT greatest(last_value, " + max + "), greatest(last_value, " + max
                        + ") > last_value OR is_called FROM " + q.sql())) {
                    rs.next();
                    out.put(q.qualified(), rs.getLong(1) + "/" + rs.getBoolean(2));
                }
            }
        }
        return out;
    }

    /** Every index definition and every constraint (name and definition): the restore must leave them as they were. */
    static java.util.Set<String> structure(String db) throws SQLException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
                    + " || ' ' || convalidated FROM pg_constraint WHERE connamespace = 'public'::regnamespace")) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text FROM pg_trigger"
                    + " WHERE NOT tgisinternal")) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            // what a table carries beyond its columns: owner, grants, row-level security and policies, comments,
            // persistence, options, replica identity, the sequences it owns
            for (String q : List.of(
                    "SELECT 'table ' || c.oid::regclass || ' owner ' || pg_get_userbyid(c.relowner) || ' acl ' || coalesce(c.relacl, acldefault('r', c.relowner))::text" // effective privileges
                            + " || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity || ' ' || c.relpersistence::text"
                            + " || ' ' || c.relreplident::text || ' ' || coalesce(c.reloptions::text, '-')"
                            + " || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')"
                            + " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')",
                    "SELECT 'policy ' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' ' || roles::text"
                            + " || ' ' || coalesce(qual, '-') || ' ' || coalesce(with_check, '-') FROM pg_policies",
                    "SELECT 'column comment ' || a.attrelid::regclass || '.' || a.attname || ' ' || d.description"
                            + " FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid"
                            + " WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0",
                    "SELECT 'constraint comment ' || k.conname || ' ' || d.description FROM pg_description d"
                            + " JOIN pg_constraint k ON k.oid = d.objoid WHERE d.classoid = 'pg_constraint'::regclass",
                    "SELECT 'sequence ' || d.objid::regclass || ' owned by ' || d.refobjid::regclass || '.' || a.attname"
                            + " FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                            + " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
                            + " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'",
                    "SELECT 'default ' || d.adrelid::regclass || '.' || a.attname || ' ' || pg_get_expr(d.adbin, d.adrelid)"
                            + " FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum")) {
                try (ResultSet rs = st.executeQuery(q)) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
        }
        return out;
    }

    static long rows(String db, String table) throws SQLException {
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
