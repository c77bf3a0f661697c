package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The user tables, columns, keys and sequences of one database, read from pg_catalog. */
final class PgSchema {
    static final ObjectMapper JSON = new ObjectMapper();

    record Column(String name, String type, boolean notNull, boolean generated, boolean hasDefault) {
    }

    record Table(long oid, String schema, String name, String owner, boolean rowSecurity, boolean forceRowSecurity,
                 List<Column> columns, List<String> primaryKey) {
        String qualified() {
            return schema + "." + name;
        }

        String sql() {
            return quote(schema) + "." + quote(name);
        }

        /** Columns COPY reads and writes: every column but generated ones. */
        List<String> copyColumns() {
            return columns.stream().filter(c -> !c.generated()).map(Column::name).toList();
        }

        Column column(String n) {
            return columns.stream().filter(c -> c.name().equals(n)).findFirst().orElse(null);
        }
    }

    record ForeignKey(String name, String table, List<String> columns, String refTable, List<String> refColumns,
                      boolean deferrable) {
    }

    /** A sequence and, when a column owns it (serial / identity), that column. */
    record Sequence(String schema, String name, String ownerTable, String ownerColumn) {
        String qualified() {
            return schema + "." + name;
        }

        String sql() {
            return quote(schema) + "." + quote(name);
        }
    }

    final Map<String, Table> tables; // by schema.table, sorted
    final List<ForeignKey> foreignKeys;
    final List<Sequence> sequences;
    final boolean usesTenantSetting;

    private PgSchema(Map<String, Table> tables, List<ForeignKey> fks, List<Sequence> seqs, boolean tenant) {
        this.tables = tables;
        this.foreignKeys = fks;
        this.sequences = seqs;
        this.usesTenantSetting = tenant;
    }

    static String quote(String ident) {
        return "\"" + ident.replace("\"", "\"\"") + "\"";
    }

    static String quoteLiteral(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private static final String USER_REL = " n.nspname NOT IN ('pg_catalog','information_schema')"
            + " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
            + " AND n.nspname NOT LIKE 'sgbackup\\_stage\\_%'" // a JDBC restore's private copies (StagedLoad)
            + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
            + " AND d.objid = c.oid AND d.deptype = 'e')";

    static PgSchema read(Connection c) throws SQLException {
        Map<Long, String> names = new HashMap<>();
        Map<Long, Object[]> meta = new HashMap<>();
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT c.oid, n.nspname, c.relname, pg_get_userbyid(c.relowner),"
                    + " c.relrowsecurity, c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE c.relkind = 'r' AND " + USER_REL)) {
                while (rs.next()) {
                    names.put(rs.getLong(1), rs.getString(2) + "." + rs.getString(3));
                    meta.put(rs.getLong(1), new Object[]{rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getBoolean(5), rs.getBoolean(6)});
                }
            }
            Map<Long, List<Column>> cols = new HashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),"
                    + " a.attnotnull, a.attgenerated <> '', a.atthasdef FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND a.attnum > 0"
                    + " AND NOT a.attisdropped AND " + USER_REL + " ORDER BY a.attrelid, a.attnum")) {
                while (rs.next()) {
                    cols.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(new Column(rs.getString(2),
                            rs.getString(3), rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6)));
                }
            }
            Map<Long, List<String>> pks = new HashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT con.conrelid, a.attname FROM pg_constraint con"
                    + " CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY k(attnum, ord)"
                    + " JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum"
                    + " WHERE con.contype = 'p' ORDER BY con.conrelid, k.ord")) {
                while (rs.next()) {
                    pks.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
                }
            }
            Map<String, Table> tables = new TreeMap<>();
            for (var e : meta.entrySet()) {
                Object[] m = e.getValue();
                Table t = new Table(e.getKey(), (String) m[0], (String) m[1], (String) m[2], (Boolean) m[3],
                        (Boolean) m[4], List.copyOf(cols.getOrDefault(e.getKey(), List.of())),
                        List.copyOf(pks.getOrDefault(e.getKey(), List.of())));
                tables.put(t.qualified(), t);
            }
            List<ForeignKey> fks = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT con.conname, con.conrelid, con.confrelid, con.condeferrable,"
                    + " ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a"
                    + "   ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o)::text[],"
                    + " ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a"
                    + "   ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)::text[]"
                    + " FROM pg_constraint con WHERE con.contype = 'f' ORDER BY con.conrelid, con.conname")) {
                while (rs.next()) {
                    String from = names.get(rs.getLong(2));
                    String to = names.get(rs.getLong(3));
                    if (from == null || to == null) {
                        continue;
                    }
                    fks.add(new ForeignKey(rs.getString(1), from, List.of((String[]) rs.getArray(5).getArray()), to,
                            List.of((String[]) rs.getArray(6).getArray()), rs.getBoolean(4)));
                }
            }
            List<Sequence> seqs = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname, dn.nspname || '.' || dc.relname, a.attname"
                    + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid"
                    + "   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
                    + " LEFT JOIN pg_class dc ON dc.oid = d.refobjid LEFT JOIN pg_namespace dn ON dn.oid = dc.relnamespace"
                    + " LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                    + " WHERE c.relkind = 'S' AND " + USER_REL + " ORDER BY 1, 2")) {
                while (rs.next()) {
                    seqs.add(new Sequence(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
                }
            }
            boolean tenant;
            try (ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM pg_attrdef WHERE"
                    + " pg_get_expr(adbin, adrelid) LIKE '%app.current_tenant%')"
                    + " OR EXISTS (SELECT 1 FROM pg_policy WHERE pg_get_expr(polqual, polrelid) LIKE '%app.current_tenant%')")) {
                rs.next();
                tenant = rs.getBoolean(1);
            }
            return new PgSchema(tables, List.copyOf(fks), List.copyOf(seqs), tenant);
        }
    }

    /** Tables, columns by name and type, primary keys — as a JSON string with sorted keys. */
    String fingerprint() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode ts = root.putObject("tables");
        for (Table t : tables.values()) {
            ObjectNode tn = ts.putObject(t.qualified());
            ObjectNode cn = tn.putObject("columns");
            t.columns().stream().map(Column::name).sorted().forEach(n -> cn.put(n, t.column(n).type()));
            ArrayNode pk = tn.putArray("pk");
            t.primaryKey().forEach(pk::add);
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Differences between a recorded fingerprint and this schema, by name and type (column order ignored). */
    List<String> differences(String recordedFingerprint) {
        List<String> out = new ArrayList<>();
        JsonNode rec;
        try {
            rec = JSON.readTree(recordedFingerprint).path("tables");
        } catch (Exception e) {
            return List.of("the backup's schema fingerprint cannot be read: " + e.getMessage());
        }
        Set<String> seen = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = rec.fields(); it.hasNext(); ) {
            var e = it.next();
            String name = e.getKey();
            seen.add(name);
            Table t = tables.get(name);
            if (t == null) {
                out.add("table " + name + " is missing in the target");
                continue;
            }
            Map<String, String> want = new TreeMap<>();
            e.getValue().path("columns").fields().forEachRemaining(c -> want.put(c.getKey(), c.getValue().asText()));
            for (var c : want.entrySet()) {
                Column have = t.column(c.getKey());
                if (have == null) {
                    out.add("column " + name + "." + c.getKey() + " (" + c.getValue() + ") is missing in the target");
                } else if (!have.type().equals(c.getValue())) {
                    out.add("column " + name + "." + c.getKey() + " is " + have.type() + " in the target, "
                            + c.getValue() + " in the backup");
                }
            }
            for (Column have : t.columns()) {
                if (!want.containsKey(have.name())) {
                    out.add("column " + name + "." + have.name() + " exists only in the target");
                }
            }
            List<String> pk = new ArrayList<>();
            e.getValue().path("pk").forEach(n -> pk.add(n.asText()));
            if (!pk.equals(t.primaryKey())) {
                out.add("primary key of " + name + " is " + t.primaryKey() + " in the target, " + pk + " in the backup");
            }
        }
        for (String name : tables.keySet()) {
            if (!seen.contains(name)) {
                out.add("table " + name + " exists only in the target");
            }
        }
        return out;
    }

    /** Adds every table referenced (transitively) by a foreign key of a selected table; reasons per added table. */
    Map<String, String> closeOverForeignKeys(Set<String> selected) {
        Map<String, String> added = new LinkedHashMap<>();
        Deque<String> todo = new ArrayDeque<>(selected);
        Set<String> all = new HashSet<>(selected);
        while (!todo.isEmpty()) {
            String t = todo.pop();
            for (ForeignKey fk : foreignKeys) {
                if (fk.table().equals(t) && all.add(fk.refTable())) {
                    added.put(fk.refTable(), "referenced by " + t + " (" + fk.name() + ")");
                    todo.add(fk.refTable());
                }
            }
        }
        return added;
    }

    /** Tables in an order where referenced tables come before referencing ones (cycles broken by name). */
    List<String> fkOrder(Set<String> selected) {
        List<String> out = new ArrayList<>();
        Set<String> done = new HashSet<>();
        Set<String> visiting = new HashSet<>();
        for (String t : new TreeSet<>(selected)) {
            visit(t, selected, done, visiting, out);
        }
        return out;
    }

    private void visit(String t, Set<String> selected, Set<String> done, Set<String> visiting, List<String> out) {
        if (done.contains(t) || !visiting.add(t)) {
            return;
        }
        for (ForeignKey fk : foreignKeys) {
            if (fk.table().equals(t) && selected.contains(fk.refTable()) && !fk.refTable().equals(t)) {
                visit(fk.refTable(), selected, done, visiting, out);
            }
        }
        visiting.remove(t);
        if (done.add(t)) {
            out.add(t);
        }
    }
}
