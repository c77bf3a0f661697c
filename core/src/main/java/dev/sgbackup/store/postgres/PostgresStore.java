package dev.sgbackup.store.postgres;

import dev.sgbackup.store.StoreKind;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.run.CheckReport;
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
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 *
 * <p>This class is the store's public face: its options ({@link Builder}), the backup properties it writes, and the
 * {@link DataStore} operations, which it hands to {@link PostgresBackup} (selection, checks, backup) and
 * {@link PostgresRestore} (restore and its checks, by the backup's strategy).
 */
public final class PostgresStore implements DataStore {
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
    private final PostgresBackup backups;
    private final PostgresRestore restores;

    private PostgresStore(Builder b) {
        this.name = b.name;
        this.spec = ConnectionSpec.resolve(b.url, b.password, (int) Math.max(1, b.connectTimeout.toSeconds()));
        this.mode = b.mode;
        this.catalog = SourcegraphCatalog.standard();
        this.categories = ids(b.categories); // sorted ids: what selections, properties and descriptions use
        this.backups = new PostgresBackup(name, spec, mode, categories, catalog, b.binDir, b.splitBytes, b.dedupKeyOrder);
        this.restores = new PostgresRestore(name, spec, b.binDir, b.restoreJobs, b.stageFromBytes);
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
        private boolean dedupKeyOrder = true;
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
         * Deduplicated JDBC backups copy each table that has a primary key in key order, a large one in parts of fixed
         * key ranges, so that rows deleted from the start, rows appended and rows updated in place change only the
         * chunks they sit in, wherever VACUUM put them (see docs/dedup.md, "Databases"). Default true; false copies in
         * physical order as full backups do (to compare). Full backups are not affected.
         */
        public Builder dedupKeyOrder(boolean keyOrder) {
            this.dedupKeyOrder = keyOrder;
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
    public StoreKind kind() {
        return StoreKind.POSTGRES;
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
    public long estimateSize() {
        try (Connection c = spec.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void checkBackup(CheckReport report) {
        backups.checkBackup(report);
    }

    /** Which tables a backup would take now, and why (connects and reads the schema). */
    public Selection selection() {
        return backups.selection();
    }

    @Override
    public void backup(BackupOutput out) throws IOException {
        backups.backup(out);
    }

    @Override
    public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        restores.checkRestore(backup, options, report);
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        restores.restore(in);
    }

    // for tests and the benchmark in this package
    ConnectionSpec spec() {
        return spec;
    }

    /**
     * Whether a stored frontend database carries Sourcegraph's configuration (site config, code host connections,
     * settings), so a restore of it needs no separate configuration step: a pg_dump backup holds every table, a
     * JDBC one holds it when its table list includes {@code critical_and_site_config}.
     */
    public static boolean carriesConfiguration(StoreBackup backup) {
        return backup.kind().equals(StoreKind.POSTGRES.id()) && ("pg_dump".equals(backup.properties().get(PROP_STRATEGY))
                || backup.artifacts().stream().anyMatch(a -> a.name().endsWith("critical_and_site_config")));
    }
}
