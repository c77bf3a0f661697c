package dev.sgbackup.store.postgres;

import dev.sgbackup.CancelledException;
import dev.sgbackup.SgBackupException;
import dev.sgbackup.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
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
 */
final class StagedLoad implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StagedLoad.class.getName());
    static final String SCHEMA_PREFIX = "sgbackup_stage_";
    static final String LOCK_TIMEOUT = "30s";

    /** One table to stage: what it is now and everything needed to rebuild it as it was. */
    record Plan(PgSchema.Table table, String qualified, String owner, String persistence, String replIdent,
                List<String> options, String comment, List<Index> indexes, List<String[]> policies,
                boolean rowSecurity, boolean forceRowSecurity, boolean aclNull, List<String> grants,
                List<String[]> ownedSequences) {
    }

    /** An index to build on the copy; {@code constraint} set for primary keys and unique constraints. */
    record Index(String name, String definition, String constraint, String constraintType, String comment) {
    }

    private final ConnectionSpec spec;
    private final String store;
    private final RestoreInput in;
    private final String tenant;
    private final String schema;
    private final Map<String, Plan> plans = new LinkedHashMap<>();
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
                Plan p = describe(control, target.tables.get(t));
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
                st.execute("CREATE " + ("u".equals(p.persistence()) ? "UNLOGGED " : "") + "TABLE " + copy(p)
                        + " (LIKE " + p.table().sql() + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED"
                        + " INCLUDING COMMENTS INCLUDING STORAGE" + (major >= 14 ? " INCLUDING COMPRESSION" : "") + ")");
                if (!p.options().isEmpty()) {
                    st.execute("ALTER TABLE " + copy(p) + " SET (" + String.join(", ", p.options()) + ")");
                }
                plans.put(t, p);
            }
        }
    }

    private String copy(Plan p) {
        return PgSchema.quote(schema) + "." + PgSchema.quote(p.table().name());
    }

    /** Everything the copy needs to become the table; null when an index definition cannot be moved. */
    private Plan describe(Connection c, PgSchema.Table t) throws SQLException {
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
        return new Plan(t, qualified, owner, persistence, replIdent, options, comment, indexes, policies,
                rls, force, aclNull, grants, owned);
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
            List<Map.Entry<Plan, ArtifactInfo>> parts = new ArrayList<>();
            for (Plan p : plans.values()) {
                artifacts.get(p.table().qualified()).forEach(a -> parts.add(Map.entry(p, a)));
            }
            parts.sort(java.util.Comparator.comparingLong((Map.Entry<Plan, ArtifactInfo> e) -> e.getValue().size()).reversed());
            List<Step> loads = new ArrayList<>();
            parts.forEach(e -> loads.add(c -> load(c, e.getKey(), e.getValue())));
            runAll(free, loads);
            List<Step> builds = new ArrayList<>();
            for (Plan p : plans.values()) {
                for (Index ix : p.indexes()) {
                    builds.add(c -> exec(c, ix.definition()));
                }
            }
            runAll(free, builds);
            // after the builds: ANALYZE waits for CREATE INDEX on the same table, and covers expression indexes
            List<Step> analyze = new ArrayList<>();
            plans.values().forEach(p -> analyze.add(c -> exec(c, "ANALYZE " + copy(p))));
            runAll(free, analyze);
            Connection c = free.take();
            for (Plan p : plans.values()) {
                finish(c, p);
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

    private void load(Connection c, Plan p, ArtifactInfo a) throws SQLException, IOException {
        rowsLoaded.merge(p.table().qualified(), JdbcRestore.copyIn(c, in, copy(p), a, false), Long::sum);
    }

    private final Map<String, Long> rowsLoaded = new java.util.concurrent.ConcurrentHashMap<>();

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Keys on the built indexes, row-level security and policies, index and key comments. */
    private void finish(Connection c, Plan p) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (Index ix : p.indexes()) {
                if (ix.constraint() != null) {
                    st.execute("ALTER TABLE " + copy(p) + " ADD CONSTRAINT " + PgSchema.quote(ix.constraint())
                            + ("p".equals(ix.constraintType()) ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX "
                            + PgSchema.quote(ix.name()));
                    if (ix.comment() != null) {
                        st.execute("COMMENT ON CONSTRAINT " + PgSchema.quote(ix.constraint()) + " ON " + copy(p)
                                + " IS " + PgSchema.quoteLiteral(ix.comment()));
                    }
                } else if (ix.comment() != null) {
                    st.execute("COMMENT ON INDEX " + PgSchema.quote(schema) + "." + PgSchema.quote(ix.name())
                            + " IS " + PgSchema.quoteLiteral(ix.comment()));
                }
            }
            if ("n".equals(p.replIdent())) {
                st.execute("ALTER TABLE " + copy(p) + " REPLICA IDENTITY NOTHING");
            } else if ("f".equals(p.replIdent())) {
                st.execute("ALTER TABLE " + copy(p) + " REPLICA IDENTITY FULL");
            }
            for (String[] pol : p.policies()) {
                st.execute(pol[0] + copy(p) + pol[1]);
                if (pol[3] != null) {
                    st.execute("COMMENT ON POLICY " + pol[2] + " ON " + copy(p) + " IS " + PgSchema.quoteLiteral(pol[3]));
                }
            }
            if (p.rowSecurity()) {
                st.execute("ALTER TABLE " + copy(p) + " ENABLE ROW LEVEL SECURITY");
            }
            if (p.forceRowSecurity()) {
                st.execute("ALTER TABLE " + copy(p) + " FORCE ROW LEVEL SECURITY");
            }
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

    /** Inside the restore's transaction: each original table replaced by its loaded copy. */
    void swap(Connection main) throws SQLException {
        try (Statement st = main.createStatement()) {
            for (Plan p : plans.values()) {
                String target = p.table().sql();
                for (String[] seq : p.ownedSequences()) {
                    st.execute("ALTER SEQUENCE " + seq[0] + " OWNED BY NONE");
                }
                st.execute("DROP TABLE " + target);
                st.execute("ALTER TABLE " + copy(p) + " SET SCHEMA " + PgSchema.quote(p.table().schema()));
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
    private static void setPrivileges(Statement st, Plan p) throws SQLException {
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

    /** Stops the loaders and drops whatever is left in the schema, then the schema. */
    @Override
    public void close() {
        failed = true;
        if (pool != null) {
            pool.shutdownNow();
        }
        synchronized (loaders) {
            // an index build does not notice a closed socket until it ends: cancel what the loaders run first
            if (control != null && !pids.isEmpty()) {
                try (Statement st = control.createStatement()) {
                    st.execute("SELECT pg_cancel_backend(pid) FROM unnest(ARRAY" + pids + ") pid");
                } catch (SQLException e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "cancelling the staging connections: " + e.getMessage());
                }
            }
            for (Connection c : loaders) {
                try {
                    c.abort(Runnable::run);
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
