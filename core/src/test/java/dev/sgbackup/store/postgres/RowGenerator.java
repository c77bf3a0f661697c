package dev.sgbackup.store.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Fills every table of a database with rows driven by the catalog alone: column types (enums, arrays, jsonb,
 * bytea, text with unicode and large values), NOT NULL, foreign keys (parents first, values taken from
 * parent rows), unique constraints (values unique per row) and check constraints (by retrying with plainer
 * values). Nothing here knows Sourcegraph's tables.
 */
final class RowGenerator {
    record Col(String name, String type, char typtype, String category, String elemType, char elemTypType,
               boolean notNull, boolean serialDefault, boolean hasDefault, boolean generated, int maxLen) {
    }

    /** What happened: rows per table, and why a table got none. */
    record Result(Map<String, Integer> rows, Map<String, String> skipped) {
        double filledShare() {
            return rows.isEmpty() ? 0 : (double) rows.values().stream().filter(n -> n > 0).count() / rows.size();
        }
    }

    private final Connection c;
    private final int rowsPerTable;
    private final Map<String, List<String>> enums = new HashMap<>();
    private long counter = 1000;

    RowGenerator(Connection c, int rowsPerTable) {
        this.c = c;
        this.rowsPerTable = rowsPerTable;
    }

    Result fill() throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT set_config('app.current_tenant', '1', false)");
            st.execute("SET session_replication_role = replica"); // generated rows only; triggers would add their own
        }
        loadEnums();
        PgSchema schema = PgSchema.read(c);
        Map<String, Integer> rows = new TreeMap<>();
        Map<String, String> skipped = new TreeMap<>();
        List<String> order = new ArrayList<>(schema.fkOrder(schema.tables.keySet()));
        List<String> work = new ArrayList<>(order);
        for (int pass = 0; pass < 2; pass++) {
          for (String t : work) {
            PgSchema.Table table = schema.tables.get(t);
            List<Col> cols = columns(table.oid());
            List<PgSchema.ForeignKey> fks = schema.foreignKeys.stream().filter(f -> f.table().equals(t)).toList();
            Map<PgSchema.ForeignKey, List<List<String>>> parents = new LinkedHashMap<>();
            for (PgSchema.ForeignKey fk : fks) {
                parents.put(fk, parentKeys(schema.tables.get(fk.refTable()), fk.refColumns()));
            }
            int ok = 0;
            String lastError = null;
            Map<String, String> learned = new HashMap<>(); // overrides that satisfied check constraints
            for (int i = 0; i < rowsPerTable; i++) {
                boolean inserted = false;
                for (int variant = 0; variant < 4 && !inserted; variant++) {
                    Map<String, String> overrides = new HashMap<>(learned);
                    for (int attempt = 0; attempt < 24 && !inserted; attempt++) {
                        Savepoint sp = c.setSavepoint();
                        try {
                            insert(table, cols, fks, parents, i, variant, overrides);
                            c.releaseSavepoint(sp);
                            inserted = true;
                            learned.putAll(overrides);
                        } catch (SQLException e) {
                            c.rollback(sp);
                            lastError = e.getMessage();
                            Map<String, String> next = checkOverrides(table, cols, e, attempt, i);
                            if (next == null) {
                                break;
                            }
                            overrides = new HashMap<>(learned);
                            overrides.putAll(next);
                        }
                    }
                }
                if (inserted) {
                    ok++;
                }
            }
            rows.put(t, ok);
            if (ok == 0) {
                skipped.put(t, lastError);
            } else {
                skipped.remove(t);
            }
          }
          // a second pass for tables whose parents only got rows later (foreign-key cycles)
          work = order.stream().filter(x -> rows.get(x) == 0).toList();
        }
        c.commit();
        try (Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = origin");
        }
        c.setAutoCommit(true);
        return new Result(rows, skipped);
    }

    private void loadEnums() throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT format_type(enumtypid, NULL), enumlabel FROM pg_enum ORDER BY enumtypid, enumsortorder")) {
            while (rs.next()) {
                enums.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
            }
        }
    }

    private List<Col> columns(long oid) throws SQLException {
        List<Col> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
                + " coalesce(bt.typtype, t.typtype), coalesce(bt.typcategory, t.typcategory),"
                + " format_type(coalesce(nullif(t.typelem, 0), nullif(bt.typelem, 0)), NULL), et.typtype,"
                + " a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%' OR a.attidentity <> '',"
                + " a.atthasdef, a.attgenerated <> '',"
                + " CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 ELSE -1 END"
                + " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                + " LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'"
                + " LEFT JOIN pg_type et ON et.oid = coalesce(nullif(t.typelem, 0), nullif(bt.typelem, 0))"
                + " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                + " WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String et = rs.getString(6);
                    out.add(new Col(rs.getString(1), rs.getString(2), rs.getString(3).charAt(0), rs.getString(4),
                            rs.getString(5), et == null ? ' ' : et.charAt(0), rs.getBoolean(7), rs.getBoolean(8),
                            rs.getBoolean(9), rs.getBoolean(10), rs.getInt(11)));
                }
            }
        }
        return out;
    }

    private List<List<String>> parentKeys(PgSchema.Table parent, List<String> cols) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        String sel = String.join(", ", cols.stream().map(x -> PgSchema.quote(x) + "::text").toList());
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT " + sel + " FROM "
                + parent.sql() + " WHERE " + String.join(" AND ", cols.stream().map(x -> PgSchema.quote(x) + " IS NOT NULL").toList())
                + " ORDER BY 1 LIMIT 100")) {
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= cols.size(); i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    private void insert(PgSchema.Table t, List<Col> cols, List<PgSchema.ForeignKey> fks,
                        Map<PgSchema.ForeignKey, List<List<String>>> parents, int row, int variant,
                        Map<String, String> overrides) throws SQLException {
        Map<String, String> fkValue = new HashMap<>();
        Map<String, Boolean> fkCol = new HashMap<>();
        for (PgSchema.ForeignKey fk : fks) {
            List<List<String>> keys = parents.get(fk);
            fk.columns().forEach(cn -> fkCol.put(cn, true));
            if (keys.isEmpty() || (variant == 3 && !anyNotNull(cols, fk.columns()))) {
                continue; // NULL when allowed; an INSERT with a NOT NULL FK then fails and the table is reported
            }
            List<String> k = keys.get((row + variant * 7) % keys.size());
            for (int j = 0; j < fk.columns().size(); j++) {
                fkValue.putIfAbsent(fk.columns().get(j), k.get(j));
            }
        }
        List<String> names = new ArrayList<>();
        List<String> casts = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (Col col : cols) {
            if (col.generated()) {
                continue;
            }
            String v;
            if (overrides.containsKey(col.name())) {
                String o = overrides.get(col.name());
                v = HEX.equals(o) ? hex40(++counter) : o;
            } else if (fkCol.containsKey(col.name())) {
                v = fkValue.get(col.name());
            } else if (col.serialDefault() && !t.primaryKey().isEmpty() && variant < 3) {
                continue; // the sequence supplies it (and advances, which the restore must preserve)
            } else if (!col.notNull() && (row % 4 == 3 || variant == 3) && !(col.hasDefault() && variant == 3)) {
                v = null;
            } else if (col.hasDefault() && variant == 2) {
                continue;
            } else {
                v = value(col, row, variant);
            }
            names.add(PgSchema.quote(col.name()));
            casts.add("CAST(? AS " + col.type() + ")");
            values.add(v);
        }
        String sql = names.isEmpty() ? "INSERT INTO " + t.sql() + " DEFAULT VALUES"
                : "INSERT INTO " + t.sql() + " (" + String.join(", ", names) + ") VALUES (" + String.join(", ", casts) + ")";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < values.size(); i++) {
                ps.setString(i + 1, values.get(i));
            }
            ps.executeUpdate();
        }
    }

    private static final String HEX = "\u0000hex";
    private static final java.util.regex.Pattern CHECK_NAME = java.util.regex.Pattern.compile("check constraint \"([^\"]+)\"");
    private static final java.util.regex.Pattern LITERAL = java.util.regex.Pattern.compile("'([^']*)'");

    private static String hex40(long n) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(Long.toString(n).getBytes()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Values for the columns of a violated check constraint, read from its definition: the string literals it
     * names, false for booleans, '[]' or '{}' for JSON, 40 hex chars for text patterns, and — attempt by
     * attempt — exactly one of its nullable columns set (for "exactly one of" rules). Null when not a check.
     */
    private Map<String, String> checkOverrides(PgSchema.Table t, List<Col> cols, SQLException e, int attempt, int row)
            throws SQLException {
        java.util.regex.Matcher m = CHECK_NAME.matcher(String.valueOf(e.getMessage()));
        if (!m.find()) {
            return null;
        }
        String def = null;
        List<String> names = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_constraintdef(con.oid), ARRAY(SELECT a.attname"
                + " FROM unnest(con.conkey) k(n) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n)::text[]"
                + " FROM pg_constraint con WHERE con.conrelid = ? AND con.conname = ?")) {
            ps.setLong(1, t.oid());
            ps.setString(2, m.group(1));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    def = rs.getString(1);
                    names.addAll(List.of((String[]) rs.getArray(2).getArray()));
                }
            }
        }
        if (def == null || attempt > 20) {
            return null;
        }
        List<String> literals = new ArrayList<>();
        java.util.regex.Matcher lm = LITERAL.matcher(def);
        while (lm.find()) {
            String lit = lm.group(1);
            if (lit.startsWith("{") && lit.endsWith("}")) {
                literals.addAll(List.of(lit.substring(1, lit.length() - 1).split(",")));
            } else if (!lit.matches(".*[\\^$\\[\\]*+?|].*")) {
                literals.add(lit);
            }
        }
        List<Col> involved = cols.stream().filter(x -> names.contains(x.name())).toList();
        List<Col> nullable = involved.stream().filter(x -> !x.notNull()).toList();
        int keep = nullable.isEmpty() ? -1 : attempt % (nullable.size() + 1) - 1; // -1: none set
        Map<String, String> out = new HashMap<>();
        for (Col x : involved) {
            if (!x.notNull() && keep >= 0 && x != nullable.get(keep) && nullable.size() > 1) {
                out.put(x.name(), null);
                continue;
            }
            if (!x.notNull() && keep < 0 && attempt % 2 == 1) {
                out.put(x.name(), null);
                continue;
            }
            String base = x.type().replaceAll("\\(.*\\)", "");
            if (base.equals("boolean")) {
                out.put(x.name(), attempt / 3 % 2 == 0 ? "false" : "true");
            } else if (base.equals("jsonb") || base.equals("json")) {
                out.put(x.name(), def.contains("'array'") ? "[]" : "{}");
            } else if (x.category().equals("S") && !literals.isEmpty()) {
                out.put(x.name(), literals.get((attempt / 2 + row) % literals.size()));
            } else if (x.category().equals("S")) {
                out.put(x.name(), HEX);
            } else if (x.category().equals("A")) {
                out.put(x.name(), attempt % 2 == 0 ? "{}" : null);
            }
        }
        return out;
    }

    private static boolean anyNotNull(List<Col> cols, List<String> names) {
        return cols.stream().anyMatch(c -> names.contains(c.name()) && c.notNull());
    }

    private String value(Col col, int row, int variant) {
        long n = ++counter;
        boolean rich = variant == 0;
        if (col.category().equals("A")) {
            if (!rich) {
                return "{}";
            }
            String e1 = scalar(col.elemType(), col.elemTypType(), elemCategory(col.elemType()), n, row, false, -1);
            String e2 = scalar(col.elemType(), col.elemTypType(), elemCategory(col.elemType()), n + 1, row, false, -1);
            return "{" + arrayElem(e1) + "," + arrayElem(e2) + "}";
        }
        return scalar(col.type(), col.typtype(), col.category(), n, row, rich, col.maxLen());
    }

    private static String arrayElem(String s) {
        return s == null ? "NULL" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String elemCategory(String type) {
        if (type == null) {
            return "X";
        }
        return switch (type) {
            case "integer", "bigint", "smallint", "numeric", "real", "double precision" -> "N";
            case "text", "character varying", "citext", "character" -> "S";
            case "boolean" -> "B";
            default -> type.startsWith("timestamp") ? "D" : "U";
        };
    }

    private String scalar(String type, char typtype, String category, long n, int row, boolean rich, int maxLen) {
        if (typtype == 'e' || enums.containsKey(type)) {
            List<String> labels = enums.get(type);
            return labels == null ? null : labels.get((int) ((n + row) % labels.size()));
        }
        String base = type.replaceAll("\\(.*\\)", "").trim();
        switch (base) {
            case "smallint":
                return Long.toString(n % 30000 + 1);
            case "integer", "bigint", "oid":
                return Long.toString(n);
            case "numeric", "real", "double precision":
                return n + ".5";
            case "boolean":
                return (n % 2 == 0) ? "true" : "false";
            case "bytea":
                return rich ? "\\x00ff10" + String.format("%08x", n) + "deadbeef" : "\\x" + String.format("%02x", n % 256);
            case "json", "jsonb":
                return rich ? "{\"n\": " + n + ", \"s\": \"ü😀\\n\", \"a\": [1, null, true]}" : "{}";
            case "timestamp with time zone", "timestamp without time zone":
                return "2024-0" + (n % 9 + 1) + "-1" + (n % 9) + " 10:" + (n % 50 + 10) + ":00.123456+00";
            case "date":
                return "2024-01-" + (n % 27 + 1);
            case "time without time zone", "time with time zone":
                return "10:00:" + (n % 50 + 10);
            case "interval":
                return n + " seconds";
            case "uuid":
                return UUID.nameUUIDFromBytes(Long.toString(n).getBytes()).toString();
            case "inet", "cidr":
                return "10." + (n / 65536 % 256) + "." + (n / 256 % 256) + "." + (n % 256);
            case "hstore":
                return "\"k" + n + "\"=>\"v ü\"";
            case "tsvector":
                return "word" + n + " other";
            case "bit", "bit varying":
                return "1";
            case "point":
                return "(" + n + ",1)";
            default:
                break;
        }
        if (category.equals("S") || base.equals("citext") || base.equals("text") || base.startsWith("character")) {
            String s;
            if (rich && row == 1) {
                s = "large " + n + " " + "lorem ipsum ünïcödé ".repeat(4000);
            } else if (rich) {
                s = "v" + n + " héllo 世界 🚀 tab\there 'q' \"dq\" back\\slash\nnewline";
            } else {
                s = "v" + n;
            }
            if (maxLen > 0 && s.length() > maxLen) {
                s = s.substring(0, maxLen);
            }
            return s;
        }
        return null; // composite or exotic: NULL, the insert may fail and the table will be reported
    }
}
