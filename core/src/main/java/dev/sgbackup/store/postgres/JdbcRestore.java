package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * The pure-JDBC restore into a migrated database with the same schema: one transaction, triggers off,
 * optional TRUNCATE of the selected tables, COPY FROM STDIN per table, foreign keys verified, sequences set.
 *
 * <p>This class is the strategy's front and knows the backup's format: which tables a JDBC backup holds, in which
 * parts and columns, its row counts, and how one artifact is copied in. The checks are {@link JdbcRestoreChecks},
 * the run is {@link RestoreRun} (with {@link IndexRebuild}, {@link LoadVerification} and {@link StagedLoad}).
 */
final class JdbcRestore {
    private static final long PREFETCH_OVER = 1 << 20;
    /** Bytes per CopyData message: fewer, larger writes to the server than the driver's 64 KiB default. */
    private static final int COPY_BUFFER = 1 << 20;

    /** Tables whose backup holds at least this many bytes are staged when they can be (see {@link StagedLoad}). */
    static final long STAGE_FROM_BYTES = 64L << 20;
    /** At most this many extra connections load staged tables (a table's parts, then its index builds). */
    static final int MAX_STAGE_CONNECTIONS = 8;

    private final ConnectionSpec spec;
    private final String store;
    private final long stageFromBytes;

    JdbcRestore(ConnectionSpec spec, String store) {
        this(spec, store, STAGE_FROM_BYTES);
    }

    JdbcRestore(ConnectionSpec spec, String store, long stageFromBytes) {
        this.spec = spec;
        this.store = store;
        this.stageFromBytes = stageFromBytes;
    }

    /**
     * Every check that can fail before anything is written (see {@link JdbcRestoreChecks}). Adds findings to
     * {@code report}; returns the facts the restore needs.
     */
    JdbcRestoreChecks.Preflight check(Connection c, PgSchema target, StoreBackup backup, boolean replace, CheckReport report)
            throws SQLException {
        return new JdbcRestoreChecks(spec, store).check(c, target, backup, replace, report);
    }

    /** Restores in one transaction; any failure rolls back and says so (see {@link RestoreRun}). */
    void restore(RestoreInput in) throws IOException {
        new RestoreRun(spec, store, stageFromBytes).run(in);
    }

    /** What the backup holds: table name to its artifacts (a large table may come in parts), in part order. */
    static Map<String, List<ArtifactInfo>> tables(StoreBackup backup) {
        Map<String, List<ArtifactInfo>> out = new LinkedHashMap<>();
        for (ArtifactInfo a : backup.artifacts()) {
            out.computeIfAbsent(a.attributes().getOrDefault("table", a.name()), k -> new ArrayList<>()).add(a);
        }
        for (List<ArtifactInfo> parts : out.values()) {
            parts.sort(java.util.Comparator.comparingInt(a -> Integer.parseInt(a.attributes().getOrDefault("part", "1"))));
        }
        return out;
    }

    /** The column list of an artifact: a JSON array (or, from older writers, comma-separated). */
    static List<String> columns(ArtifactInfo a) {
        String v = a.attributes().getOrDefault("columns", "");
        if (v.startsWith("[")) {
            try {
                List<String> out = new ArrayList<>();
                PgSchema.JSON.readTree(v).forEach(n -> out.add(n.asText()));
                return out;
            } catch (IOException e) {
                throw new IntegrityException("artifact " + a.name() + " has an unreadable column list: " + e.getMessage(), e);
            }
        }
        return List.of(v.split(","));
    }

    /** The backup's row counts (property {@code rows}) as JSON; none: an empty object. */
    static JsonNode readJson(String json) {
        try {
            return json == null ? PgSchema.JSON.createObjectNode() : PgSchema.JSON.readTree(json);
        } catch (IOException e) {
            throw new IntegrityException("the backup's row counts cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * COPY of one artifact into {@code table} (an SQL name), {@code FREEZE} when the table was truncated in this
     * transaction; returns the rows. Large artifacts are decoded a few chunks ahead on another thread, overlapping
     * with COPY.
     */
    static long copyIn(Connection c, RestoreInput in, String table, ArtifactInfo a, boolean freeze)
            throws SQLException, IOException {
        String sql = "COPY " + table + " (" + String.join(", ", columns(a).stream().map(PgSchema::quote).toList())
                + ") FROM STDIN" + (freeze ? " WITH (FREEZE)" : "");
        try (InputStream is = a.size() > PREFETCH_OVER ? new PrefetchInputStream(in.open(a), 1 << 18, 8) : in.open(a)) {
            return c.unwrap(PGConnection.class).getCopyAPI().copyIn(sql, is, COPY_BUFFER);
        }
    }
}
