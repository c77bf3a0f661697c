package dev.sgbackup.store.postgres;

import dev.sgbackup.InvalidInputException;
import dev.sgbackup.StoreException;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * One PostgreSQL database of a Sourcegraph instance ({@code frontend}, {@code codeintel}, {@code codeinsights})
 * as a {@link DataStore}, backed up with {@code pg_dump -Fc} or over pure JDBC, and restored the way its
 * backup was taken.
 *
 * <pre>{@code
 * DataStore db = PostgresStore.builder("frontend", "jdbc:postgresql://db:5432/sg?user=sg")
 *         .password(secret)                        // or PGPASSWORD / ~/.pgpass
 *         .mode(PostgresStore.Mode.JDBC)
 *         .categories(Category.USERS, Category.ORGS) // optional: a subset, closed over foreign keys
 *         .build();
 * }</pre>
 */
public final class PostgresStore implements DataStore {
    private static final System.Logger LOG = System.getLogger(PostgresStore.class.getName());
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");

    static final String PROP_STRATEGY = "strategy";
    static final String PROP_FINGERPRINT = "schema.fingerprint";
    static final String PROP_SEQUENCES = "sequences";
    static final String PROP_SERVER = "server.version";
    static final String PROP_SG_VERSION = "sourcegraph.version";
    static final String PROP_TENANT = "sourcegraph.tenant";
    static final String PROP_ROWS = "rows";
    static final String SELECTION_OVER_JDBC = "a category selection is backed up over JDBC, whatever the mode:"
            + " pg_dump -t cannot restore a table subset into a migrated instance";

    /** How to back up: with {@code pg_dump}, over JDBC, or pg_dump when usable and JDBC otherwise (default). */
    public enum Mode { AUTO, JDBC, PG_DUMP }

    /**
     * Which tables a backup takes and why.
     *
     * @param tables       every table backed up ({@code schema.table}), sorted
     * @param added        tables added because a selected table references them ({@code referenced by ...}) or holds
     *                     repository ids ({@code repository identity: public.changesets.repo_id}): table to reason
     * @param unknown      tables the catalog does not know (included, never dropped)
     * @param encryptedRows rows with a non-empty {@code encryption_key_id}, per table
     */
    public record Selection(List<String> tables, Map<String, String> added, List<String> unknown,
                            Map<String, Long> encryptedRows) {
        public Selection {
            tables = List.copyOf(tables);
            added = Map.copyOf(added);
            unknown = List.copyOf(unknown);
            encryptedRows = Map.copyOf(encryptedRows);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(tables.size() + " tables");
            if (!added.isEmpty()) {
                sb.append("; added for foreign keys and repository identity: ");
                new TreeMap<>(added).forEach((t, why) -> sb.append(t).append(" (").append(why).append("), "));
                sb.setLength(sb.length() - 2);
            }
            if (!unknown.isEmpty()) {
                sb.append("; unknown to the catalog (included): ").append(String.join(", ", unknown));
            }
            if (!encryptedRows.isEmpty()) {
                sb.append("; ").append(encryptedRows.values().stream().mapToLong(Long::longValue).sum())
                        .append(" rows encrypted with the instance's keys (").append(encryptedRows)
                        .append("): the target needs the same encryption keys");
            }
            return sb.toString();
        }
    }

    private final String name;
    private final ConnectionSpec spec;
    private final Mode mode;
    private final Set<String> categories;
    private final SourcegraphCatalog catalog;
    private final Path binDir;
    private final int restoreJobs;
    private final long splitBytes;
    private final long stageFromBytes;

    private PostgresStore(Builder b) {
        this.name = b.name;
        this.spec = ConnectionSpec.resolve(b.url, b.password, (int) Math.max(1, b.connectTimeout.toSeconds()));
        this.mode = b.mode;
        this.catalog = SourcegraphCatalog.standard();
        this.categories = ids(b.categories); // sorted ids: what selections, properties and descriptions use
        this.binDir = b.binDir;
        this.restoreJobs = b.restoreJobs;
        this.splitBytes = b.splitBytes;
        this.stageFromBytes = b.stageFromBytes;
    }

    private static Set<String> ids(Set<Category> categories) {
        Set<String> out = new TreeSet<>();
        categories.forEach(c -> out.add(c.id()));
        return out;
    }

    /** A builder for a database named {@code name} (e.g. {@code frontend}) at {@code jdbcUrl}. */
    public static Builder builder(String name, String jdbcUrl) {
        return new Builder(name, jdbcUrl);
    }

    /** Builds {@link PostgresStore}s. */
    public static final class Builder {
        private final String name;
        private final String url;
        private char[] password;
        private Mode mode = Mode.AUTO;
        private Set<Category> categories = Set.of();
        private Duration connectTimeout = Duration.ofSeconds(ConnectionSpec.DEFAULT_CONNECT_TIMEOUT_SECONDS);
        private Path binDir;
        private int restoreJobs = 1;
        private long splitBytes = JdbcBackup.SPLIT_BYTES;
        private long stageFromBytes = JdbcRestore.STAGE_FROM_BYTES;

        private Builder(String name, String url) {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new InvalidInputException("invalid store name '" + name + "': use [a-z0-9][a-z0-9._-]*, e.g. frontend");
            }
            this.name = name;
            this.url = Objects.requireNonNull(url, "jdbcUrl");
        }

        /** The password (copied). Without it: PGPASSWORD, then ~/.pgpass; a password in the URL also works. */
        public Builder password(char[] password) {
            this.password = password == null ? null : password.clone();
            return this;
        }

        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Backs up only these catalog categories (plus the tables they reference); none = everything. Names typed by
         * users become categories with {@link Category#parse(String)}.
         */
        public Builder categories(Category... categories) {
            return categories(Set.of(categories));
        }

        /** Backs up only these catalog categories (plus the tables they reference); empty = everything. */
        public Builder categories(Set<Category> categories) {
            this.categories = Set.copyOf(categories);
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Where pg_dump and pg_restore are; default: the PATH. */
        public Builder binDir(Path dir) {
            this.binDir = dir;
            return this;
        }

        /** pg_restore jobs (-j); more than 1 stages the dump in a temporary file first. Default 1. */
        public Builder restoreJobs(int jobs) {
            if (jobs < 1) {
                throw new InvalidInputException("restoreJobs must be at least 1, was " + jobs);
            }
            this.restoreJobs = jobs;
            return this;
        }

        /**
         * JDBC backups copy a table of at least twice this much heap in block ranges on several connections of the
         * same snapshot (PostgreSQL 14+, parallelism above 1). Default 256 MiB.
         */
        public Builder splitBytes(long bytes) {
            if (bytes < 8192) {
                throw new InvalidInputException("splitBytes must be at least one block (8192), was " + bytes);
            }
            this.splitBytes = bytes;
            return this;
        }

        /**
         * JDBC restores load a table whose backup holds at least this many bytes on parallel connections into a
         * private copy, then swap it in within the restore's one transaction, when nothing else is tied to the table
         * (no foreign key, view, trigger or publication) and the restore may run in parallel. Default 64 MiB;
         * {@code Long.MAX_VALUE} loads every table in the transaction itself.
         */
        public Builder stageFromBytes(long bytes) {
            if (bytes < 1) {
                throw new InvalidInputException("stageFromBytes must be at least 1, was " + bytes);
            }
            this.stageFromBytes = bytes;
            return this;
        }

        public PostgresStore build() {
            return new PostgresStore(this);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "postgres";
    }

    @Override
    public String describe() {
        return "PostgreSQL " + spec.redactedUrl() + " (mode " + mode.name().toLowerCase(java.util.Locale.ROOT)
                + (categories.isEmpty() ? ", all tables" : ", categories " + String.join(",", new TreeSet<>(categories))) + ")";
    }

    @Override
    public String toString() {
        return "PostgresStore[" + name + ", " + spec + ", mode " + mode + "]";
    }

    /** The catalog this store selects tables with. */
    public SourcegraphCatalog catalog() {
        return catalog;
    }

    @Override
    public void checkBackup(CheckReport report) {
        try (Connection c = spec.open()) {
            if (mode == Mode.PG_DUMP && !categories.isEmpty()) {
                report.info(name, SELECTION_OVER_JDBC);
            } else if (mode == Mode.PG_DUMP) {
                String why = PgDump.unusable(PgDump.tool("pg_dump", binDir), serverMajor(c), "pg_dump");
                if (why != null) {
                    report.error(name, why + "; or back up with mode JDBC");
                }
            }
            if (spec.passwordInUrl()) {
                report.warn(name, "the JDBC URL contains a password; prefer password(), PGPASSWORD or ~/.pgpass");
            }
            PgSchema schema = PgSchema.read(c);
            Selection sel = select(c, schema);
            reportSelection(sel, report);
            checkReadable(c, schema, sel, report);
        } catch (SQLException | RuntimeException e) {
            report.error(name, spec.redactSecret(String.valueOf(e.getMessage())));
        }
    }

    /** What the operator should know about a selection before the backup runs, as INFO findings. */
    private void reportSelection(Selection sel, CheckReport report) {
        new TreeMap<>(sel.added()).forEach((t, why) -> report.info(name, "table " + t + " is added to the selection: "
                + why + " (" + catalog.categoryOf(t).map(SourcegraphCatalog.Category::id).orElse("unknown category") + ")"));
        if (!categories.isEmpty() && !sel.unknown().isEmpty()) {
            report.info(name, "tables unknown to the Sourcegraph catalog are backed up too (never dropped): "
                    + String.join(", ", sel.unknown()));
        }
        sel.encryptedRows().forEach((t, n) -> report.info(name, n + " rows of " + t + " are encrypted with the"
                + " instance's keyring: the new instance needs the same encryption keys to read them"));
    }

    private void checkReadable(Connection c, PgSchema schema, Selection sel, CheckReport report) throws SQLException {
        boolean exempt;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")) {
            exempt = rs.next() && rs.getBoolean(1);
        }
        for (String t : sel.tables()) {
            PgSchema.Table tab = schema.tables.get(t);
            try (var ps = c.prepareStatement("SELECT has_table_privilege(?::regclass, 'SELECT'),"
                    + " pg_has_role(current_user, ?, 'USAGE')")) {
                ps.setString(1, tab.sql());
                ps.setString(2, tab.owner());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    boolean owner = rs.getBoolean(2);
                    if (!rs.getBoolean(1)) {
                        report.error(name, "no permission to read table " + t + ": GRANT SELECT ON " + t
                                + " to this role, or connect as its owner (" + tab.owner() + ")");
                    } else if (tab.rowSecurity() && !exempt && (!owner || tab.forceRowSecurity())) {
                        report.error(name, "table " + t + " has row-level security and this role is subject to it, so"
                                + " rows could be missed: connect as its owner (" + tab.owner() + "), a superuser or a"
                                + " role with BYPASSRLS (ALTER ROLE ... BYPASSRLS)");
                    }
                }
            }
        }
    }

    @Override
    public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        String strategy = backup.properties().getOrDefault(PROP_STRATEGY, "");
        try (Connection c = spec.open()) {
            if (strategy.equals("jdbc")) {
                PgSchema schema = PgSchema.read(c);
                new JdbcRestore(spec, name).check(c, schema, backup, options.replace(), report);
                checkSourcegraphVersion(c, schema, backup, report);
            } else if (strategy.equals("pg_dump")) {
                String why = PgDump.unusable(PgDump.tool("pg_restore", binDir), serverMajor(c), "pg_restore");
                if (why != null) {
                    report.error(name, why);
                }
                PgSchema schema = PgSchema.read(c);
                int n = schema.tables.size();
                if (n > 0 && !options.replace()) {
                    report.error(name, "a pg_dump backup restores into an empty database, but " + spec.where() + " has "
                            + n + " tables: create an empty database, or restore with replace (--replace) to drop and"
                            + " recreate the dumped objects in one transaction");
                }
                checkSourcegraphVersion(c, schema, backup, report); // an empty database records no version: nothing to compare
                String oneJob = PgDump.oneJobBecause(restoreJobs, options.replace(), options.replace() ? 0 : PgDump.userObjects(c));
                if (oneJob != null) {
                    report.warn(name, "restoreJobs is " + restoreJobs + " but pg_restore will run with one job, in one"
                            + " transaction: " + oneJob);
                } else if (restoreJobs > 1) {
                    long bytes = backup.artifacts().stream().mapToLong(a -> a.size()).sum();
                    report.info(name, "pg_restore -j " + restoreJobs + ": the backup is first copied to a private temporary"
                            + " file (" + bytes + " bytes) and checked; if the restore fails, the objects it created are"
                            + " dropped again");
                    String space = PgDump.stagingSpaceProblem(bytes);
                    if (space != null) {
                        report.error(name, space);
                    }
                }
            } else {
                report.error(name, "the backup names no known strategy ('" + strategy + "'); it was not written by PostgresStore");
            }
        } catch (SQLException | RuntimeException e) {
            report.error(name, spec.redactSecret(String.valueOf(e.getMessage())));
        }
    }

    /**
     * A database restore needs the same Sourcegraph version on both sides (the schema may match across patch releases
     * while the data's meaning does not); compared only when both sides record one.
     */
    private void checkSourcegraphVersion(Connection c, PgSchema schema, StoreBackup backup, CheckReport report)
            throws SQLException {
        String was = backup.properties().getOrDefault(PROP_SG_VERSION, "unknown");
        String is = c.getAutoCommit() ? JdbcBackup.sourcegraphVersion(c, schema) : "unknown";
        if (!was.startsWith("unknown") && !is.startsWith("unknown") && !was.equals(is)) {
            report.error(name, "the backup is from Sourcegraph " + was + " but " + spec.where() + " runs " + is
                    + "; database restores need the same version: upgrade or migrate the new instance to the backup's"
                    + " version first (configuration restores may cross versions)");
        }
    }

    @Override
    public long estimateSize() {
        try (Connection c = spec.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException | RuntimeException e) {
            return -1;
        }
    }

    /** Which tables a backup would take now, and why (connects and reads the schema). */
    public Selection selection() {
        try (Connection c = spec.open()) {
            return select(c, PgSchema.read(c));
        } catch (SQLException e) {
            throw new StoreException("cannot read the schema of " + spec.where() + ": " + e.getMessage(), e);
        }
    }

    private Selection select(Connection c, PgSchema schema) throws SQLException {
        Set<String> all = schema.tables.keySet();
        Set<String> chosen = new TreeSet<>(categories.isEmpty() ? all : catalog.select(all, categories));
        Set<String> unknown = catalog.unknown(all);
        Map<String, String> added = new LinkedHashMap<>();
        if (!categories.isEmpty()) {
            chosen.addAll(unknown); // never dropped silently
            // closed over foreign keys, and over repository ids: rows that name repositories by id travel with the
            // repositories (RepoIdentity), whose tables may reference more tables in turn
            for (boolean grew = true; grew; ) {
                Map<String, String> fk = schema.closeOverForeignKeys(chosen);
                fk.forEach(added::putIfAbsent);
                chosen.addAll(fk.keySet());
                Map<String, String> ids = RepoIdentity.missing(schema, chosen);
                ids.forEach(added::putIfAbsent);
                grew = chosen.addAll(ids.keySet());
            }
        }
        Map<String, Long> encrypted = new TreeMap<>();
        try (Statement st = c.createStatement()) {
            for (String t : chosen) {
                PgSchema.Table tab = schema.tables.get(t);
                PgSchema.Column col = tab.column("encryption_key_id");
                if (col != null && col.type().startsWith("text")) {
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + tab.sql()
                            + " WHERE encryption_key_id IS NOT NULL AND encryption_key_id <> ''")) {
                        rs.next();
                        if (rs.getLong(1) > 0) {
                            encrypted.put(t, rs.getLong(1));
                        }
                    }
                }
            }
        }
        return new Selection(new ArrayList<>(chosen), added, new ArrayList<>(unknown), encrypted);
    }

    private static int serverMajor(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version_num")) {
            rs.next();
            return Integer.parseInt(rs.getString(1)) / 10000;
        }
    }

    @Override
    public void backup(BackupOutput out) throws IOException {
        try (Connection c = spec.open()) {
            int major = serverMajor(c);
            Optional<PgDump.Tool> tool = Optional.empty();
            boolean jdbc = mode == Mode.JDBC;
            if (mode != Mode.JDBC && !categories.isEmpty()) {
                // a table subset from pg_dump -t lacks the types and extensions it needs in an empty database, and
                // pg_restore cannot load it into a migrated instance; over JDBC it restores like any JDBC backup
                out.warn(SELECTION_OVER_JDBC);
                jdbc = true;
            }
            if (!jdbc) {
                tool = PgDump.tool("pg_dump", binDir);
                String why = PgDump.unusable(tool, major, "pg_dump");
                if (why != null && mode == Mode.PG_DUMP) {
                    throw new InvalidInputException("cannot back up " + name + " with pg_dump: " + why
                            + "; or use mode JDBC (no binaries needed)");
                }
                if (why != null) {
                    out.warn(why + "; backing up over JDBC instead");
                    jdbc = true;
                }
            }
            String snapshot = JdbcBackup.beginSnapshot(c, null);
            PgSchema schema = PgSchema.read(c);
            Selection sel = select(c, schema);
            CheckReport readable = new CheckReport();
            checkReadable(c, schema, sel, readable);
            for (PgSchema.Sequence q : schema.sequences) {
                try (var ps = c.prepareStatement("SELECT has_sequence_privilege(?::regclass, 'SELECT')")) {
                    ps.setString(1, q.sql());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (!rs.getBoolean(1) && jdbc) {
                            readable.error(name, "no permission to read sequence " + q.qualified() + ": GRANT SELECT ON SEQUENCE "
                                    + q.qualified() + " to this role, or connect as its owner");
                        }
                    }
                }
            }
            readable.throwIfFailed();
            String tenant = schema.usesTenantSetting ? tenant(c, schema) : null;
            if (tenant != null) {
                try (Statement st = c.createStatement()) {
                    JdbcBackup.setTenant(st, tenant, true);
                }
                out.property(PROP_TENANT, tenant);
            }
            out.property(PROP_SERVER, serverVersion(c));
            out.property(PROP_FINGERPRINT, schema.fingerprint());
            out.property(PROP_SG_VERSION, sourcegraphVersion(c, schema));
            out.property("tables", Integer.toString(sel.tables().size()));
            if (!categories.isEmpty()) {
                out.property("categories", String.join(",", new TreeSet<>(categories)));
            }
            if (!sel.added().isEmpty()) {
                out.property("tables.added", new TreeMap<>(sel.added()).toString());
                out.warn("added for foreign keys and repository identity: " + new TreeMap<>(sel.added()));
            }
            if (!sel.unknown().isEmpty()) {
                out.property("tables.unknown", String.join(",", sel.unknown()));
                out.warn("tables unknown to the Sourcegraph catalog (included): " + String.join(", ", sel.unknown()));
            }
            if (!sel.encryptedRows().isEmpty()) {
                out.property("encrypted.rows", sel.encryptedRows().toString());
                out.warn(sel.encryptedRows().values().stream().mapToLong(Long::longValue).sum()
                        + " rows are encrypted with the instance's keyring " + sel.encryptedRows().keySet()
                        + ": the target instance needs the same encryption keys");
            }
            if (jdbc) {
                out.property(PROP_STRATEGY, "jdbc");
                out.property("format", JdbcBackup.FORMAT);
                out.property(PROP_SEQUENCES, JdbcBackup.sequences(c, schema));
                List<PgSchema.Table> tables = sel.tables().stream().map(schema.tables::get).toList();
                Map<String, Long> rows = JdbcBackup.copyTables(spec, c, snapshot, tenant, tables, splitBytes, out);
                var json = PgSchema.JSON.createObjectNode();
                rows.forEach(json::put);
                out.property(PROP_ROWS, json.toString());
            } else {
                out.property(PROP_STRATEGY, "pg_dump");
                c.rollback();
                PgDump.backup(spec, tool.orElseThrow(), categories.isEmpty() ? List.of() : sel.tables(), out);
            }
            c.rollback();
        } catch (SQLException e) {
            throw new StoreException("backup of " + name + " from " + spec.where() + " failed: "
                    + spec.redactSecret(e.getMessage()), e);
        }
    }

    private static String serverVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String sourcegraphVersion(Connection c, PgSchema schema) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SAVEPOINT sgversion");
            String v = JdbcBackup.sourcegraphVersion(c, schema);
            st.execute("ROLLBACK TO SAVEPOINT sgversion");
            return v;
        }
    }

    /** The app.current_tenant value for sessions: the session's own, else the only tenant, else 1. */
    private static String tenant(Connection c, PgSchema schema) throws SQLException {
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT current_setting('app.current_tenant', true)")) {
                rs.next();
                String v = rs.getString(1);
                if (v != null && !v.isEmpty()) {
                    return v;
                }
            }
            if (schema.tables.containsKey("public.tenants")) {
                st.execute("SAVEPOINT tenant");
                try (ResultSet rs = st.executeQuery("SELECT id FROM public.tenants ORDER BY id LIMIT 2")) {
                    List<String> ids = new ArrayList<>();
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                    }
                    if (ids.size() == 1) {
                        return ids.get(0);
                    }
                } catch (SQLException e) {
                    st.execute("ROLLBACK TO SAVEPOINT tenant");
                }
            }
        }
        return "1";
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        String strategy = in.backup().properties().getOrDefault(PROP_STRATEGY, "");
        switch (strategy) {
            case "jdbc" -> new JdbcRestore(spec, name, stageFromBytes).restore(in);
            case "pg_dump" -> {
                CheckReport r = new CheckReport();
                checkRestore(in.backup(), in.options(), r);
                r.throwIfFailed();
                if (in.options().dryRun()) {
                    return;
                }
                PgDump.restore(spec, PgDump.tool("pg_restore", binDir).orElseThrow(), in, restoreJobs);
            }
            default -> throw new InvalidInputException("store " + name + ": the backup names no known strategy ('"
                    + strategy + "'); was it written by PostgresStore?");
        }
    }

    // for tests and the benchmark in this package
    ConnectionSpec spec() {
        return spec;
    }
}
