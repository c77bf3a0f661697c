package dev.sgbackup.store.postgres;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.BackupOutput;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.postgresql.PGConnection;

/**
 * The pure-JDBC backup: one REPEATABLE READ READ ONLY snapshot shared by every connection through
 * {@code pg_export_snapshot()}, one COPY TO STDOUT artifact per table, tables in parallel.
 *
 * <p>One job, so one file (about 450 lines): the database's rows out as artifacts, consistently. The restore side is
 * {@link JdbcRestore}'s.
 */
final class JdbcBackup {
    private static final System.Logger LOG = System.getLogger(JdbcBackup.class.getName());
    static final String FORMAT = "copy-text";

    private JdbcBackup() {
    }

    /** Starts a snapshot transaction on {@code c} and returns the exported snapshot id. */
    static String beginSnapshot(Connection c, String tenant) throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            st.execute("SET LOCAL row_security = off");
            setTenant(st, tenant, true);
            try (ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /** Sets {@code app.current_tenant} (5.9+ schemas) for the transaction ({@code local}) or the session. */
    static void setTenant(Statement st, String tenant, boolean local) throws SQLException {
        if (tenant != null) {
            st.execute("SELECT set_config('app.current_tenant', " + PgSchema.quoteLiteral(tenant) + ", " + local + ")");
        }
    }

    private static void joinSnapshot(Connection c, String snapshot, String tenant) throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            st.execute("SET TRANSACTION SNAPSHOT " + PgSchema.quoteLiteral(snapshot));
            st.execute("SET LOCAL row_security = off");
            setTenant(st, tenant, true);
        }
    }

    /** Copies {@code tables} (in the snapshot held by {@code main}) into artifacts, in parallel. */
    static Map<String, Long> copyTables(ConnectionSpec spec, Connection main, String snapshot, String tenant,
                                        List<PgSchema.Table> tables, long splitBytes, boolean keyOrder,
                                        BackupOutput out) throws IOException {
        Map<String, Long> rowCounts = new ConcurrentHashMap<>();
        Map<String, Long> sizes = relationSizes(main);
        List<Chunk> order = keyOrder ? keyChunks(main, tables, sizes, out.parallelism(), splitBytes)
                : chunks(main, tables, sizes, out.parallelism(), splitBytes);
        ConcurrentLinkedQueue<Chunk> queue = new ConcurrentLinkedQueue<>(order);
        int workers = Math.max(1, Math.min(out.parallelism(), order.size()));
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "sgbackup-pg-copy");
            t.setDaemon(true);
            return t;
        });
        List<Connection> extra = new ArrayList<>();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                Connection c;
                if (i == 0) {
                    c = main;
                } else {
                    c = spec.open();
                    extra.add(c);
                    try {
                        joinSnapshot(c, snapshot, tenant);
                    } catch (SQLException e) {
                        throw new StoreException("cannot share the backup snapshot with another connection to "
                                + spec.where() + ": " + e.getMessage() + "; run with parallelism 1", e);
                    }
                }
                Connection conn = c;
                futures.add(pool.submit(() -> {
                    Chunk ch;
                    while ((ch = queue.poll()) != null) {
                        out.checkCancelled();
                        rowCounts.merge(ch.table().qualified(), copyOne(conn, ch, out), Long::sum);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    queue.clear();
                    throw new CancelledException("backup of " + spec.where() + " interrupted");
                } catch (java.util.concurrent.ExecutionException e) {
                    queue.clear();
                    Throwable cause = e.getCause();
                    if (cause instanceof SgBackupException s) {
                        throw s;
                    }
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    throw new StoreException("backup of " + spec.where() + " failed: " + cause, cause);
                }
            }
            return new java.util.TreeMap<>(rowCounts);
        } finally {
            pool.shutdownNow();
            for (Connection c : extra) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closing a read-only transaction
                }
            }
        }
    }

    /**
     * A table, or one block range of a large table ({@code parts} > 1). Blocks: [from, to), -1 = open. A chunk in
     * key order ({@code keyOrder}) is copied {@code ORDER BY} the primary key instead, and a part of it holds the
     * rows whose first key column is in [fromKey, toKey) (null = open); its blocks are both -1.
     */
    record Chunk(PgSchema.Table table, int part, int parts, long fromBlock, long toBlock, long bytes,
                 boolean keyOrder, Long fromKey, Long toKey) {
        Chunk(PgSchema.Table table, int part, int parts, long fromBlock, long toBlock, long bytes) {
            this(table, part, parts, fromBlock, toBlock, bytes, false, null, null);
        }

        String artifactName() {
            return parts == 1 ? table.qualified() : table.qualified() + "#" + part;
        }
    }

    /** First key columns of these types are split into key ranges (their values fit a long). */
    private static final java.util.Set<String> INTEGER_KEYS = java.util.Set.of("smallint", "integer", "bigint");

    /**
     * The work list of a deduplicated backup, largest first. Tables with a primary key are copied in key order, so
     * that the stream's bytes follow the keys, not the heap: rows deleted by retention drop leading chunks, appended
     * rows add trailing ones, and an updated row changes only its own chunk wherever VACUUM put its new version.
     *
     * <p>A table of at least twice {@code splitBytes} of heap whose first key column is an integer is cut into parts
     * of fixed key ranges [k·w, (k+1)·w), the first open below and the last open above. The width w is the power of
     * two at or above {@code span × splitBytes / heap} (span = max − min + 1 of that column in the snapshot): about
     * {@code splitBytes} of heap per part, and the same w, hence the same part boundaries, from backup to backup while
     * the key density stays within a factor of two; when it does not, the new w is half or double the old one, so
     * every other boundary stays. A part's bytes then change only with its rows. The split does not depend on the
     * parallelism, so backups run with different parallelism chunk alike. Other tables with a key are one ordered
     * stream; tables without a key are copied as {@link #chunks} would (physical order, block ranges up to
     * {@code parallelism}).
     */
    static List<Chunk> keyChunks(Connection c, List<PgSchema.Table> tables, Map<String, Long> sizes, int parallelism,
                                 long splitBytes) {
        Map<String, Long> heap = heapSizes(c);
        List<Chunk> out = new ArrayList<>();
        List<PgSchema.Table> physical = new ArrayList<>();
        for (PgSchema.Table t : tables) {
            if (t.primaryKey().isEmpty()) {
                physical.add(t);
                continue;
            }
            long bytes = heap.getOrDefault(t.qualified(), 0L);
            long total = sizes.getOrDefault(t.qualified(), 0L);
            PgSchema.Column first = t.column(t.primaryKey().get(0));
            long[] range = bytes >= 2 * splitBytes && first != null && INTEGER_KEYS.contains(first.type())
                    ? keyRange(c, t, first.name()) : null;
            if (range == null) {
                out.add(new Chunk(t, 1, 1, -1, -1, total, true, null, null));
                continue;
            }
            long width = keyWidth(range[0], range[1], bytes, splitBytes);
            long lo = Math.floorDiv(range[0], width);
            long hi = Math.floorDiv(range[1], width);
            int parts = (int) (hi - lo + 1);
            if (parts <= 1) {
                out.add(new Chunk(t, 1, 1, -1, -1, total, true, null, null));
                continue;
            }
            for (int i = 0; i < parts; i++) {
                Long from = i == 0 ? null : (lo + i) * width;
                Long to = i == parts - 1 ? null : (lo + i + 1) * width;
                out.add(new Chunk(t, i + 1, parts, -1, -1, total / parts, true, from, to));
            }
        }
        if (!physical.isEmpty()) {
            out.addAll(chunks(c, physical, sizes, parallelism, splitBytes));
        }
        out.sort(Comparator.comparing((Chunk ch) -> -ch.bytes()).thenComparing(Chunk::artifactName));
        return out;
    }

    /**
     * The key range width: the smallest power of two at or above {@code span × splitBytes / heapBytes}, at least 1.
     * Parts of this width hold about {@code splitBytes} of heap each; 2^62 when the span does not fit a long.
     */
    static long keyWidth(long min, long max, long heapBytes, long splitBytes) {
        double span = (double) max - (double) min + 1;
        double want = span * splitBytes / Math.max(1, heapBytes);
        if (want >= 0x1p62) {
            return 1L << 62;
        }
        long w = 1;
        while (w < want) {
            w <<= 1;
        }
        return w;
    }

    /** min and max of {@code column} in the snapshot (the key's index answers both), or null for an empty table. */
    private static long[] keyRange(Connection c, PgSchema.Table t, String column) {
        String q = PgSchema.quote(column);
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT min(" + q + "), max(" + q + ") FROM " + t.sql())) {
            rs.next();
            long min = rs.getLong(1);
            if (rs.wasNull()) {
                return null;
            }
            return new long[] {min, rs.getLong(2)};
        } catch (SQLException e) {
            // a failed statement aborts the snapshot transaction: the backup cannot go on with it anyway. Row-level
            // security and permissions fail here first, so they get COPY's explanations.
            String m = copyError(t, e);
            throw new StoreException(m.startsWith("COPY of table") ? "cannot read the key range of " + t.qualified()
                    + ": " + e.getMessage() : m, e);
        }
    }

    /** Default bytes of heap per part worth a connection of its own (smaller tables are never split). */
    static final long SPLIT_BYTES = 256L << 20;

    /**
     * The work list, largest first. A table of at least twice {@code splitBytes} is split into block (ctid)
     * ranges read by different connections of the same snapshot, when the server scans TID ranges (14+).
     */
    static List<Chunk> chunks(Connection c, List<PgSchema.Table> tables, Map<String, Long> sizes, int parallelism,
                              long splitBytes) {
        long blockSize = 8192;
        int server = 0;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('block_size')::bigint, current_setting('server_version_num')::int")) {
            rs.next();
            blockSize = rs.getLong(1);
            server = rs.getInt(2);
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "no block size: " + e.getMessage());
        }
        Map<String, Long> heap = heapSizes(c);
        List<Chunk> out = new ArrayList<>();
        for (PgSchema.Table t : tables) {
            long bytes = heap.getOrDefault(t.qualified(), 0L);
            int parts = server >= 140000 && parallelism > 1 ? (int) Math.min(parallelism, bytes / splitBytes) : 1;
            if (parts <= 1) {
                out.add(new Chunk(t, 1, 1, -1, -1, sizes.getOrDefault(t.qualified(), 0L)));
                continue;
            }
            long blocks = bytes / blockSize;
            long per = (blocks + parts - 1) / parts;
            for (int i = 0; i < parts; i++) {
                long from = i == 0 ? -1 : i * per;
                long to = i == parts - 1 ? -1 : (i + 1) * per; // the last range is open: rows of later blocks too
                out.add(new Chunk(t, i + 1, parts, from, to, per * blockSize));
            }
        }
        out.sort(Comparator.comparing((Chunk ch) -> -ch.bytes()).thenComparing(Chunk::artifactName));
        return out;
    }

    private static Map<String, Long> heapSizes(Connection c) {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n.nspname || '.' || c.relname, pg_relation_size(c.oid)"
                     + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "no heap sizes: " + e.getMessage());
        }
        return out;
    }

    private static long copyOne(Connection c, Chunk ch, BackupOutput out) throws IOException {
        PgSchema.Table t = ch.table();
        List<String> cols = t.copyColumns();
        Map<String, String> attrs = new LinkedHashMap<>();
        try {
            attrs.put("columns", PgSchema.JSON.writeValueAsString(cols));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        attrs.put("format", FORMAT);
        String colList = String.join(", ", cols.stream().map(PgSchema::quote).toList());
        String sql;
        if (ch.keyOrder()) {
            attrs.put("order", "key");
            List<String> where = new ArrayList<>();
            String first = PgSchema.quote(t.primaryKey().get(0));
            if (ch.fromKey() != null) {
                where.add(first + " >= " + ch.fromKey());
                attrs.put("keyFrom", Long.toString(ch.fromKey()));
            }
            if (ch.toKey() != null) {
                where.add(first + " < " + ch.toKey());
                attrs.put("keyTo", Long.toString(ch.toKey()));
            }
            if (ch.parts() > 1) {
                attrs.put("table", t.qualified());
                attrs.put("part", Integer.toString(ch.part()));
                attrs.put("parts", Integer.toString(ch.parts()));
            }
            sql = "COPY (SELECT " + colList + " FROM " + t.sql() + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                    + " ORDER BY " + String.join(", ", t.primaryKey().stream().map(PgSchema::quote).toList()) + ") TO STDOUT";
        } else if (ch.parts() == 1) {
            sql = "COPY " + t.sql() + " (" + colList + ") TO STDOUT";
        } else {
            attrs.put("table", t.qualified());
            attrs.put("part", Integer.toString(ch.part()));
            attrs.put("parts", Integer.toString(ch.parts()));
            List<String> where = new ArrayList<>();
            if (ch.fromBlock() >= 0) {
                where.add("ctid >= '(" + ch.fromBlock() + ",0)'::tid");
            }
            if (ch.toBlock() >= 0) {
                where.add("ctid < '(" + ch.toBlock() + ",0)'::tid");
            }
            sql = "COPY (SELECT " + colList + " FROM " + t.sql() + " WHERE " + String.join(" AND ", where) + ") TO STDOUT";
        }
        BackupOutput.ArtifactStream s = out.artifact(ch.artifactName(), attrs);
        boolean ok = false;
        long rows = -1;
        try {
            // COPY hands over one row at a time; the hashing and compression behind s work best on large writes
            java.io.BufferedOutputStream buffered = new java.io.BufferedOutputStream(s, 1 << 18);
            rows = c.unwrap(PGConnection.class).getCopyAPI().copyOut(sql, buffered);
            buffered.flush();
            ok = true;
        } catch (SQLException e) {
            throw new StoreException(copyError(t, e), e);
        } finally {
            if (ok) {
                s.close();
            } else {
                s.abort();
            }
        }
        LOG.log(System.Logger.Level.DEBUG, "copied " + ch.artifactName() + " (" + rows + " rows)");
        return rows;
    }

    static String copyError(PgSchema.Table t, SQLException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("row-level security")) {
            return "table " + t.qualified() + " has row-level security and this role is subject to it, so COPY could"
                    + " silently miss rows: connect as the table owner (" + t.owner() + "), a superuser or a role"
                    + " with BYPASSRLS (ALTER ROLE ... BYPASSRLS)";
        }
        if ("42501".equals(e.getSQLState())) {
            return "no permission to read table " + t.qualified() + " (" + m + "): grant SELECT or connect as its owner";
        }
        return "COPY of table " + t.qualified() + " failed: " + m;
    }

    private static Map<String, Long> relationSizes(Connection c) {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid)"
                     + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "no relation sizes: " + e.getMessage());
        }
        return out;
    }

    /** Reads each sequence's last_value and is_called as a JSON object string. */
    static String sequences(Connection c, PgSchema schema) throws SQLException {
        var root = PgSchema.JSON.createObjectNode();
        try (Statement st = c.createStatement()) {
            for (PgSchema.Sequence s : schema.sequences) {
                try (ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + s.sql())) {
                    rs.next();
                    var n = root.putObject(s.qualified());
                    n.put("last_value", rs.getLong(1));
                    n.put("is_called", rs.getBoolean(2));
                }
            }
        }
        return root.toString();
    }

    /** The Sourcegraph version from versions / migration_logs / schema_migrations, whichever exist. */
    static String sourcegraphVersion(Connection c, PgSchema schema) {
        List<String> parts = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            if (schema.tables.containsKey("public.versions")) {
                try (ResultSet rs = st.executeQuery("SELECT service, version FROM public.versions ORDER BY service")) {
                    while (rs.next()) {
                        parts.add(rs.getString(1) + " " + rs.getString(2));
                    }
                }
            }
            if (schema.tables.containsKey("public.migration_logs")) {
                try (ResultSet rs = st.executeQuery("SELECT schema, max(version) FROM public.migration_logs"
                        + " WHERE success GROUP BY schema ORDER BY schema")) {
                    while (rs.next()) {
                        parts.add("migration " + rs.getString(1) + " " + rs.getLong(2));
                    }
                }
            }
            if (schema.tables.containsKey("public.schema_migrations")) {
                try (ResultSet rs = st.executeQuery("SELECT version, dirty FROM public.schema_migrations")) {
                    while (rs.next()) {
                        parts.add("schema_migrations " + rs.getLong(1) + (rs.getBoolean(2) ? " (dirty)" : ""));
                    }
                }
            }
        } catch (SQLException e) {
            parts.add("unknown (" + e.getMessage() + ")");
        }
        return parts.isEmpty() ? "unknown" : String.join("; ", parts);
    }
}
