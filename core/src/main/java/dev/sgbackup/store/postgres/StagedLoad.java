package dev.sgbackup.store.postgres;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.postgresql.PGConnection;

/**
 * Large tables that nothing else is tied to (no foreign key either way, no view, trigger or publication), loaded on
 * parallel connections into private copies in a schema of their own, indexed and analyzed there, then swapped in
 * by the restore's one transaction: {@code DROP TABLE} of the original and {@code SET SCHEMA} of the copy, with
 * owner, grants, sequence ownership and comments carried over. Until that transaction commits, the target shows
 * its old rows; if it rolls back, {@link #close()} drops the copies and the schema and the target is as it was.
 *
 * <p>One connection holds an advisory lock on the schema's name while it exists, so a later restore can tell a
 * schema left by a killed process from one in use, and drop only the former ({@link #dropLeftovers}).
 *
 * <p>This class's job is the staging run itself: the schema and its lock, creating the empty copies, loading,
 * indexing and analyzing them on the pool, waiting, and cleaning up. Which tables qualify is
 * {@link StagingEligibility}, what a table's definition is {@link StagePlan}, and making a copy into the table
 * {@link StagedSwap}.
 */
final class StagedLoad implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StagedLoad.class.getName());
    static final String SCHEMA_PREFIX = "sgbackup_stage_";
    static final String LOCK_TIMEOUT = "30s";

    private final ConnectionSpec spec;
    private final String store;
    private final RestoreInput in;
    private final String tenant;
    private final String schema;
    private final Map<String, StagePlan> plans = new LinkedHashMap<>();
    private final Map<String, List<ArtifactInfo>> artifacts;
    private final int workers;
    private Connection control;
    private ExecutorService pool;
    private final List<Connection> loaders = new ArrayList<>();
    private final List<Integer> pids = new ArrayList<>();
    private Future<?> loading;
    private volatile boolean failed;

    private StagedLoad(ConnectionSpec spec, String store, RestoreInput in, String tenant,
                       Map<String, List<ArtifactInfo>> artifacts, int workers) {
        this.spec = spec;
        this.store = store;
        this.in = in;
        this.tenant = tenant;
        this.artifacts = artifacts;
        this.workers = workers;
        byte[] r = new byte[6];
        new SecureRandom().nextBytes(r);
        this.schema = SCHEMA_PREFIX + HexFormat.of().formatHex(r);
    }

    /**
     * Drops the schemas (and their tables) that earlier restores left behind when they were killed: those whose
     * advisory lock no session holds. Returns their names.
     */
    static List<String> dropLeftovers(Connection c) throws SQLException {
        List<String> dropped = new ArrayList<>();
        List<String> schemas = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sgbackup\\_stage\\_%'")) {
            while (rs.next()) {
                schemas.add(rs.getString(1));
            }
        }
        for (String s : schemas) {
            if (!tryLock(c, s)) {
                continue; // a running restore's
            }
            try (Statement st = c.createStatement()) {
                dropSchema(st, s);
                dropped.add(s);
            } finally {
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT pg_advisory_unlock(hashtext(" + PgSchema.quoteLiteral(s) + "))");
                }
            }
        }
        return dropped;
    }

    private static boolean tryLock(Connection c, String schema) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_try_advisory_lock(hashtext(" + PgSchema.quoteLiteral(schema) + "))")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** Drops the tables of one of our schemas one by one, then the schema: never CASCADE. */
    private static void dropSchema(Statement st, String schema) throws SQLException {
        List<String> tables = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r'"
                + " AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = " + PgSchema.quoteLiteral(schema) + ")")) {
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
        }
        for (String t : tables) {
            st.execute("DROP TABLE " + PgSchema.quote(schema) + "." + t);
        }
        st.execute("DROP SCHEMA IF EXISTS " + PgSchema.quote(schema));
    }

    /**
     * Creates the schema and the empty copies (on a connection of its own, committed, before the restore's
     * transaction locks anything) and starts loading them in the background. Tables whose definitions cannot be
     * carried over are left out; {@link #tables()} says which were taken.
     */
    static StagedLoad start(ConnectionSpec spec, String store, RestoreInput in, String tenant, PgSchema target,
                            List<String> tables, Map<String, List<ArtifactInfo>> artifacts, int workers) throws SQLException {
        StagedLoad s = new StagedLoad(spec, store, in, tenant, artifacts, workers);
        if (tables.isEmpty()) {
            return s;
        }
        try {
            s.prepare(target, tables);
            if (!s.plans.isEmpty()) {
                s.loading = s.launch();
            }
            return s;
        } catch (SQLException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The tables being staged (schema.table), in restore order. */
    List<String> tables() {
        return List.copyOf(plans.keySet());
    }

    private void prepare(PgSchema target, List<String> tables) throws SQLException {
        control = spec.open();
        try (Statement st = control.createStatement()) {
            tryLock(control, schema);
            st.execute("CREATE SCHEMA " + PgSchema.quote(schema));
            int major = control.getMetaData().getDatabaseMajorVersion();
            // copies and their indexes share one schema: names from different schemas must not meet there
            java.util.Set<String> names = new java.util.HashSet<>();
            for (String t : tables) {
                StagePlan p = StagePlan.describe(control, target.tables.get(t), schema);
                if (p == null) {
                    continue;
                }
                List<String> mine = new ArrayList<>();
                mine.add(p.table().name());
                p.indexes().forEach(ix -> mine.add(ix.name()));
                if (mine.stream().anyMatch(names::contains) || new java.util.HashSet<>(mine).size() < mine.size()) {
                    continue;
                }
                names.addAll(mine);
                st.execute("CREATE " + ("u".equals(p.persistence()) ? "UNLOGGED " : "") + "TABLE " + p.copy(schema)
                        + " (LIKE " + p.table().sql() + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED"
                        + " INCLUDING COMMENTS INCLUDING STORAGE" + (major >= 14 ? " INCLUDING COMPRESSION" : "") + ")");
                if (!p.options().isEmpty()) {
                    st.execute("ALTER TABLE " + p.copy(schema) + " SET (" + String.join(", ", p.options()) + ")");
                }
                plans.put(t, p);
            }
        }
    }

    /** Loads every part on the pool, then builds every index and runs ANALYZE, all in parallel. */
    private Future<?> launch() {
        BlockingQueue<Connection> free = new ArrayBlockingQueue<>(workers);
        pool = Executors.newFixedThreadPool(workers + 1, r -> {
            Thread th = new Thread(r, "sgbackup-pg-stage");
            th.setDaemon(true);
            return th;
        });
        return pool.submit(() -> {
            for (int i = 0; i < workers; i++) {
                Connection c = spec.open();
                synchronized (loaders) {
                    loaders.add(c);
                    pids.add(c.unwrap(PGConnection.class).getBackendPID());
                }
                try (Statement st = c.createStatement()) {
                    st.execute("SET row_security = off");
                    // loaders only touch their copies and never wait for each other; a wait is for a lock the
                    // restore's transaction holds until after they finish, so it fails instead of hanging
                    st.execute("SET lock_timeout = '" + LOCK_TIMEOUT + "'");
                    IndexRebuild.raiseIndexMemory(st, false);
                    JdbcBackup.setTenant(st, tenant, false);
                }
                free.add(c);
            }
            // largest parts first keeps the connections busy to the end
            List<Map.Entry<StagePlan, ArtifactInfo>> parts = new ArrayList<>();
            for (StagePlan p : plans.values()) {
                artifacts.get(p.table().qualified()).forEach(a -> parts.add(Map.entry(p, a)));
            }
            parts.sort(java.util.Comparator.comparingLong((Map.Entry<StagePlan, ArtifactInfo> e) -> e.getValue().size()).reversed());
            List<Step> loads = new ArrayList<>();
            parts.forEach(e -> loads.add(c -> load(c, e.getKey(), e.getValue())));
            runAll(free, loads);
            List<Step> builds = new ArrayList<>();
            for (StagePlan p : plans.values()) {
                for (StagePlan.Index ix : p.indexes()) {
                    builds.add(c -> exec(c, ix.definition()));
                }
            }
            runAll(free, builds);
            // after the builds: ANALYZE waits for CREATE INDEX on the same table, and covers expression indexes
            List<Step> analyze = new ArrayList<>();
            plans.values().forEach(p -> analyze.add(c -> exec(c, "ANALYZE " + p.copy(schema))));
            runAll(free, analyze);
            Connection c = free.take();
            for (StagePlan p : plans.values()) {
                StagedSwap.finish(c, p, schema);
            }
            free.add(c);
            return null;
        });
    }

    interface Step {
        void run(Connection c) throws Exception;
    }

    private void runAll(BlockingQueue<Connection> free, List<Step> steps) throws Exception {
        List<Future<?>> running = new ArrayList<>();
        for (Step s : steps) {
            Connection c = free.take();
            running.add(pool.submit(() -> {
                try {
                    if (failed) {
                        return null;
                    }
                    in.checkCancelled();
                    s.run(c);
                    return null;
                } catch (Exception | Error e) {
                    failed = true;
                    throw e;
                } finally {
                    free.add(c);
                }
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
    }

    private void load(Connection c, StagePlan p, ArtifactInfo a) throws SQLException, IOException {
        rowsLoaded.merge(p.table().qualified(), JdbcRestore.copyIn(c, in, p.copy(schema), a, false), Long::sum);
    }

    private final Map<String, Long> rowsLoaded = new java.util.concurrent.ConcurrentHashMap<>();

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Waits for the copies to be loaded, indexed and analyzed; returns the rows loaded per table. */
    Map<String, Long> await() throws IOException {
        if (loading == null) {
            return Map.of();
        }
        try {
            while (true) {
                try {
                    loading.get(1, java.util.concurrent.TimeUnit.SECONDS);
                    break;
                } catch (java.util.concurrent.TimeoutException stillLoading) {
                    in.checkCancelled();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("restore of " + store + " interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof ExecutionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof SgBackupException s) {
                throw s;
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof SQLException sql) {
                throw new StoreException("staging the large tables in " + schema + " failed: "
                        + spec.redactSecret(String.valueOf(sql.getMessage())), sql);
            }
            throw new StoreException("staging the large tables in " + schema + " failed: " + cause, cause);
        }
        return Map.copyOf(rowsLoaded);
    }

    /** Inside the restore's transaction: each original table replaced by its loaded copy (see {@link StagedSwap}). */
    void swap(Connection main) throws SQLException {
        StagedSwap.swap(main, plans.values(), schema);
    }

    /** How long {@link #close()} waits for the loaders to stop before it cuts their connections. */
    static final long LOADERS_STOP_SECONDS = 30;

    /**
     * Stops the loaders and drops whatever is left in the schema, then the schema.
     *
     * <p>Order matters. The loaders are interrupted and what their connections run is cancelled on the server; then
     * this waits for the loader threads to end, and only then closes their connections. Closing a connection under a
     * loader that is inside pgjdbc's {@code CopyManager.copyIn} must not happen: pgjdbc 42.7's {@code cancelCopy}
     * catches the expected error of its CopyFail and reads on while the copy holds the connection's lock, and once the
     * stream is closed each read throws "PGStream is closed" at once, so it loops, chaining one exception per turn,
     * until the heap is gone. That is the likeliest cause of the OutOfMemoryError CI saw twice in a restore whose
     * staging connection was killed (read in pgjdbc's source; the race was not reproduced here). Only loaders still
     * running after {@link #LOADERS_STOP_SECONDS} have their connections cut.
     */
    @Override
    public void close() {
        failed = true;
        if (pool != null) {
            pool.shutdownNow();
        }
        synchronized (loaders) {
            // an index build or a COPY does not notice an interrupt: cancel what the loaders run first
            if (control != null && !pids.isEmpty()) {
                try (Statement st = control.createStatement()) {
                    st.execute("SELECT pg_cancel_backend(pid) FROM unnest(ARRAY" + pids + ") pid");
                } catch (SQLException e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "cancelling the staging connections: " + e.getMessage());
                }
            }
        }
        boolean stopped = pool == null;
        if (pool != null) {
            try {
                stopped = pool.awaitTermination(LOADERS_STOP_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (loaders) {
            for (Connection c : loaders) {
                try {
                    if (stopped) {
                        c.close();
                    } else {
                        c.abort(Runnable::run); // a loader is stuck: its connection goes, whatever it was doing
                    }
                } catch (SQLException | RuntimeException ignored) {
                    // closing anyway
                }
            }
        }
        if (control == null) {
            return;
        }
        try (Statement st = control.createStatement()) {
            // a lost main connection's backend may still hold a lock on a copy until the server notices
            st.execute("SET lock_timeout = '" + LOCK_TIMEOUT + "'");
            dropSchema(st, schema);
        } catch (SQLException e) {
            in.warn("could not drop the staging schema " + schema + " in " + spec.where() + " (" + e.getMessage()
                    + "); the next restore into this database drops it, or: DROP SCHEMA " + schema + " CASCADE");
        } finally {
            try {
                control.close();
            } catch (SQLException ignored) {
                // the advisory lock ends with the session
            }
        }
    }
}
