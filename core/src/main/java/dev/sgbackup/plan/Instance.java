package dev.sgbackup.plan;

import dev.sgbackup.store.volume.VolumeStore;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.store.postgres.SourcegraphCatalog;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One job, so one file: a Sourcegraph instance as data, and what each {@link Scope} selects from it.
 *
 * <p>A Sourcegraph instance as data: where its configuration API, databases and volumes are. The same
 * description serves as the source of a backup and as the target of a restore ("the new instance").
 *
 * <pre>{@code
 * Instance old = Instance.builder()
 *         .sourcegraph(URI.create("https://sourcegraph.example.com"))   // token: SRC_ACCESS_TOKEN
 *         .database("frontend", "jdbc:postgresql://pgsql:5432/sg?user=sg")
 *         .database("codeintel", "jdbc:postgresql://codeintel-db:5432/sg?user=sg")
 *         .database("codeinsights", "jdbc:postgresql://codeinsights-db:5432/postgres?user=postgres")
 *         .volume("gitserver-0", Path.of("/var/lib/docker/volumes/gitserver-0/_data"))
 *         .volume("prometheus", Path.of("/var/lib/docker/volumes/prometheus/_data"))
 *         .build();
 * MigrationPlan plan = sg.planBackup(old, Scope.ESSENTIAL);
 * }</pre>
 */
public final class Instance {
    /** Name of the configuration store in backups. */
    public static final String CONFIG_STORE = "config";
    /** The databases Sourcegraph uses, by the store names this library gives them. */
    public static final List<String> DATABASES = List.of("frontend", "codeintel", "codeinsights");

    /**
     * The frontend categories scope {@link Scope#ESSENTIAL} backs up: every category of the Sourcegraph catalog that
     * cannot be recreated, without {@code event-logs} unless {@code includeEventLogs}. The backup adds the tables
     * these reference and, where they hold repository ids, the repositories (see {@code PostgresStore.Selection}).
     */
    public static Set<String> essentialCategories(boolean includeEventLogs) {
        Set<String> ids = new TreeSet<>();
        for (SourcegraphCatalog.Category c : SourcegraphCatalog.standard().categories()) {
            if (!c.recreatable() && (includeEventLogs || !c.id().equals("event-logs"))) {
                ids.add(c.id());
            }
        }
        return ids;
    }

    /** A database of the instance. */
    public record Database(String name, String jdbcUrl) {
        @Override
        public String toString() {
            return name + "=" + redact(jdbcUrl);
        }
    }

    /** A volume of the instance. */
    public record Volume(String name, Path dir, VolumeKind kind) {
    }

    private final URI sourcegraph;
    private final String token;
    private final boolean configFromDatabase;
    private final String configDatabase;
    private final Path secrets;
    private final Map<String, Database> databases;
    private final Map<String, Volume> volumes;
    private final Map<String, char[]> passwords;
    private final PostgresStore.Mode postgresMode;
    private final boolean externalPostgres;
    private final boolean externalRedis;
    private final boolean includeEventLogs;
    private final List<String> excludes;
    private final int pgRestoreJobs;

    private Instance(Builder b) {
        this.sourcegraph = b.sourcegraph;
        this.token = b.token;
        this.configFromDatabase = b.configFromDatabase;
        this.configDatabase = b.configDatabase;
        this.pgRestoreJobs = b.pgRestoreJobs;
        this.secrets = b.secrets;
        this.databases = Map.copyOf(b.databases);
        this.volumes = Map.copyOf(b.volumes);
        this.passwords = Map.copyOf(b.passwords);
        this.postgresMode = b.postgresMode;
        this.externalPostgres = b.externalPostgres;
        this.externalRedis = b.externalRedis;
        this.includeEventLogs = b.includeEventLogs;
        this.excludes = List.copyOf(b.excludes);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Discovers a deployment's stores: {@code Instance.discover(Deployments.compose(Path.of("compose.json")))}, then
     * {@link InstanceDescription#toInstance()} to plan from it. Reads only; the description references credentials,
     * never holds them.
     */
    public static InstanceDescription discover(Deployments.Query where) {
        return where.discover();
    }

    public URI sourcegraph() {
        return sourcegraph;
    }

    public List<Database> databases() {
        return orderedDatabases();
    }

    public List<Volume> volumes() {
        return new ArrayList<>(new java.util.TreeMap<>(volumes).values());
    }

    private List<Database> orderedDatabases() {
        List<Database> out = new ArrayList<>();
        for (String n : DATABASES) {
            if (databases.containsKey(n)) {
                out.add(databases.get(n));
            }
        }
        new java.util.TreeMap<>(databases).forEach((n, d) -> {
            if (!DATABASES.contains(n)) {
                out.add(d);
            }
        });
        return out;
    }

    /** The parts of a plan that come from the instance: the stores to run and the rows for what is left out. */
    public record Selection(List<DataStore> stores, Map<String, PlanStep.Recreatable> recreatable, Map<String, String> holds,
                            List<PlanStep> leftOut, List<String> notes) {
    }

    private PostgresStore.Builder withPassword(PostgresStore.Builder b, String name) {
        char[] p = passwords.get(name);
        return p == null ? b : b.password(p);
    }

    /** Sourcegraph's databases: codeintel can be re-uploaded, the frontend partly recreated, the rest not. */
    private static PlanStep.Recreatable recreatableDb(String name) {
        return switch (name) {
            case "codeintel" -> PlanStep.Recreatable.YES;
            case "frontend" -> PlanStep.Recreatable.PARTLY;
            default -> PlanStep.Recreatable.NO;
        };
    }

    /** The stores a backup of {@code scope} runs, with what is left out and why. */
    public Selection select(Scope scope) {
        List<DataStore> stores = new ArrayList<>();
        Map<String, PlanStep.Recreatable> recreatable = new LinkedHashMap<>();
        Map<String, String> holds = new LinkedHashMap<>();
        List<PlanStep> leftOut = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        boolean wantConfig = scope == Scope.CONFIG || scope == Scope.ALL || scope == Scope.ESSENTIAL;
        boolean wantDatabases = scope == Scope.POSTGRES || scope == Scope.ALL || scope == Scope.ESSENTIAL;
        boolean wantVolumes = scope == Scope.ALL || scope == Scope.ESSENTIAL;

        // configuration (a backup of a scope with configuration may take the endpoint from SRC_ENDPOINT)
        DataStore config = configStore(true);
        if (config == null) {
            if (wantConfig) {
                notes.add("configuration: no Sourcegraph endpoint given (--sourcegraph URL or SRC_ENDPOINT); "
                        + (databases.containsKey("frontend") && scope != Scope.CONFIG
                        ? "the frontend database holds it too" : "site config, code hosts and settings are NOT in this backup"));
            }
        } else if (wantConfig) {
            stores.add(config);
            recreatable.put(config.name(), PlanStep.Recreatable.NO);
            holds.put(config.name(), "site config, code host connections, global/org/user settings");
        } else {
            leftOut.add(new PlanStep(config.name(), config.kind().id(), PlanStep.Action.SKIP, "site config, code hosts, settings", PlanStep.Recreatable.NO, -1,
                    "not in scope " + scope.id()));
        }

        // databases
        for (Database d : orderedDatabases()) {
            if (externalPostgres) {
                leftOut.add(new PlanStep(d.name(), "postgres", PlanStep.Action.SKIP, redact(d.jdbcUrl()), PlanStep.Recreatable.UNKNOWN, -1,
                        "external database: the new instance reuses it in place; nothing to move"));
                continue;
            }
            if (!wantDatabases) {
                leftOut.add(new PlanStep(d.name(), "postgres", PlanStep.Action.SKIP, redact(d.jdbcUrl()), recreatableDb(d.name()), -1, "not in scope " + scope.id()));
                continue;
            }
            PostgresStore.Builder pb = withPassword(PostgresStore.builder(d.name(), d.jdbcUrl()), d.name()).mode(postgresMode);
            if (scope == Scope.ESSENTIAL) {
                if (d.name().equals("codeintel")) {
                    leftOut.add(new PlanStep(d.name(), "postgres", PlanStep.Action.SKIP, "precise code-intel data", PlanStep.Recreatable.YES, -1,
                            "recreatable: re-upload precise indexes (LSIF/SCIP) from CI"));
                    continue;
                }
                if (d.name().equals("frontend")) {
                    Set<String> ids = essentialCategories(includeEventLogs);
                    pb.categories(dev.sgbackup.store.postgres.Category.parseAll(ids));
                    notes.add("frontend: only non-recreatable categories (" + String.join(",", ids)
                            + "), the tables they reference and, where they hold repository ids, the repositories"
                            + " (repo, external_service_repos, repo_kvps); clone state, permissions and code-intel"
                            + " upload records are recreated by the new instance"
                            + (includeEventLogs ? "" : "; event-logs left out (opt in with includeEventLogs / --tables)"));
                }
            }
            DataStore store = pb.build();
            stores.add(store);
            recreatable.put(d.name(), recreatableDb(d.name()));
            holds.put(d.name(), switch (d.name()) {
                case "frontend" -> scope == Scope.ESSENTIAL
                        ? "users, orgs, settings, tokens, batch changes, code-intel configuration, insights, notebooks,"
                        + " the repositories they refer to (non-recreatable)"
                        : "users, orgs, settings, tokens, batch changes, repo metadata, permissions, events";
                case "codeintel" -> "precise code-intel data (recreatable by re-uploading indexes)";
                case "codeinsights" -> "code insights definitions and series (backfill recreates points only)";
                default -> "PostgreSQL database";
            });
        }
        if (wantDatabases && databases.isEmpty() && !externalPostgres) {
            notes.add("databases: none given (--postgres NAME=JDBC_URL); Option 2/3 data is NOT in this backup");
        }
        if (databases.isEmpty() && externalPostgres) {
            leftOut.add(new PlanStep("postgres", "postgres", PlanStep.Action.SKIP, "external PostgreSQL", PlanStep.Recreatable.UNKNOWN, -1,
                    "external database: the new instance reuses it in place; nothing to move"));
        }

        // volumes
        for (Volume v : volumes()) {
            boolean take = wantVolumes && (scope != Scope.ESSENTIAL || !v.kind().recreatable());
            if (take) {
                DataStore store = VolumeStore.builder(v.name(), v.dir()).exclude(excludes.toArray(String[]::new)).build();
                stores.add(store);
                recreatable.put(v.name(), PlanStep.Recreatable.of(v.kind().recreatable()));
                holds.put(v.name(), v.kind().holds());
            } else {
                leftOut.add(new PlanStep(v.name(), "volume", PlanStep.Action.SKIP, v.kind().holds() + " at " + v.dir(), PlanStep.Recreatable.of(v.kind().recreatable()), -1,
                        (wantVolumes ? "recreatable: " : "not in scope " + scope.id() + "; the new instance must ") + v.kind().regenerate()));
            }
        }

        // what is never backed up
        leftOut.add(new PlanStep("redis", "redis", PlanStep.Action.SKIP, "sessions and caches", PlanStep.Recreatable.YES, -1,
                externalRedis ? "external Redis: the new instance reuses it in place" : "ephemeral: never backed up; users sign in again"));
        return new Selection(stores, recreatable, holds, leftOut, notes);
    }

    /**
     * The configuration store: the GraphQL API, or a database when configured so. {@code fromEnvironment}: without
     * an endpoint given, take it from SRC_ENDPOINT (for a backup only; a restore writes only to what was named).
     */
    DataStore configStore(boolean fromEnvironment) {
        if (configDatabase != null) {
            SourcegraphConfigStore.DatabaseBuilder b = SourcegraphConfigStore.database(configDatabase).name(CONFIG_STORE);
            if (secrets != null) {
                b.secrets(secrets);
            }
            return b.build();
        }
        if (configFromDatabase && databases.containsKey("frontend")) {
            return SourcegraphConfigStore.database(databases.get("frontend").jdbcUrl()).name(CONFIG_STORE).build();
        }
        URI endpoint = sourcegraph;
        if (endpoint == null) {
            String env = fromEnvironment ? System.getenv("SRC_ENDPOINT") : null;
            if (env == null || env.isBlank()) {
                return null;
            }
            endpoint = URI.create(env);
        }
        SourcegraphConfigStore.ApiBuilder b = SourcegraphConfigStore.api(endpoint).name(CONFIG_STORE);
        if (token != null) {
            b.token(token);
        }
        if (secrets != null) {
            b.secrets(secrets);
        }
        return b.build();
    }

    /**
     * The restore target for a store of a backup, by name and kind, or null when this instance has none. Only what
     * the instance names is a target: the environment (SRC_ENDPOINT) never adds one.
     */
    public DataStore target(String storeName, String kind) {
        return switch (kind) {
            case "postgres" -> databases.containsKey(storeName)
                    ? withPassword(PostgresStore.builder(storeName, databases.get(storeName).jdbcUrl()), storeName).restoreJobs(pgRestoreJobs).build()
                    : null;
            case "volume" -> volumes.containsKey(storeName) ? VolumeStore.of(storeName, volumes.get(storeName).dir()) : null;
            case SourcegraphConfigStore.KIND -> storeName.equals(CONFIG_STORE) ? configStore(false) : null;
            default -> null;
        };
    }

    /** {@code url} (JDBC or sink) with passwords, as a parameter or in the user part, replaced by {@code ***}. */
    public static String redact(String jdbcUrl) {
        return jdbcUrl.replaceAll("(?i)(password=)[^&]*", "$1***").replaceAll("//([^/@:]+):([^/@]+)@", "//$1:***@");
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Instance[");
        if (sourcegraph != null) {
            sb.append("sourcegraph=").append(sourcegraph).append(", ");
        }
        sb.append("databases=").append(orderedDatabases()).append(", volumes=").append(volumes().stream().map(Volume::name).toList());
        if (configDatabase != null) {
            sb.append(", config=database ").append(redact(configDatabase));
        }
        if (externalPostgres) {
            sb.append(", external postgres");
        }
        if (externalRedis) {
            sb.append(", external redis");
        }
        return sb.append(']').toString();
    }

    /** Builder for {@link Instance}. */
    public static final class Builder {
        private URI sourcegraph;
        private String token;
        private boolean configFromDatabase;
        private String configDatabase;
        private int pgRestoreJobs = 1;
        private Path secrets;
        private final Map<String, Database> databases = new LinkedHashMap<>();
        private final Map<String, Volume> volumes = new LinkedHashMap<>();
        private final Map<String, char[]> passwords = new LinkedHashMap<>();
        private PostgresStore.Mode postgresMode = PostgresStore.Mode.AUTO;
        private boolean externalPostgres;
        private boolean externalRedis;
        private boolean includeEventLogs;
        private final List<String> excludes = new ArrayList<>();

        private Builder() {
        }

        /**
         * The password of a database given with {@link #database}, e.g. read from the environment variable an instance
         * file references; without it a run takes PGPASSWORD or the password file. Never printed.
         */
        public Builder databasePassword(String name, char[] password) {
            passwords.put(name, password.clone());
            return this;
        }

        /** Globs of files to leave out of every volume backup (e.g. {@code *.tmp}, {@code cache/**}). */
        public Builder exclude(List<String> globs) {
            excludes.addAll(globs);
            return this;
        }

        /** The instance's URL (its GraphQL API serves the configuration); the token comes from SRC_ACCESS_TOKEN. */
        public Builder sourcegraph(URI endpoint) {
            this.sourcegraph = Objects.requireNonNull(endpoint);
            return this;
        }

        /** An access token (site admin) instead of SRC_ACCESS_TOKEN. Never printed. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Read and write the configuration through the frontend database (complete, unredacted) instead of the API. */
        public Builder configFromDatabase(boolean yes) {
            this.configFromDatabase = yes;
            return this;
        }

        /**
         * Read and write the configuration through the database at {@code jdbcUrl} (the frontend database of the
         * instance: complete, unredacted) instead of the API.
         */
        public Builder configDatabase(String jdbcUrl) {
            this.configDatabase = Objects.requireNonNull(jdbcUrl);
            return this;
        }

        /** pg_restore jobs (-j) for restores of pg_dump backups into this instance's databases (default 1). */
        public Builder pgRestoreJobs(int jobs) {
            if (jobs < 1) {
                throw new InvalidInputException("pg_restore jobs must be at least 1, was " + jobs);
            }
            this.pgRestoreJobs = jobs;
            return this;
        }

        /** For restores of API-backed configuration: replacements for redacted secrets (JSON file). */
        public Builder secrets(Path file) {
            this.secrets = file;
            return this;
        }

        /** A database: {@code frontend}, {@code codeintel}, {@code codeinsights}. Password: PGPASSWORD or ~/.pgpass. */
        public Builder database(String name, String jdbcUrl) {
            DataStore.checkName(name);
            if (databases.put(name, new Database(name, Objects.requireNonNull(jdbcUrl))) != null) {
                throw new InvalidInputException("database '" + name + "' is given twice");
            }
            return this;
        }

        /** A volume; its kind is guessed from the name (gitserver, zoekt, lsif/bundles, blobstore, prometheus…). */
        public Builder volume(String name, Path dir) {
            return volume(name, dir, VolumeKind.guess(name));
        }

        public Builder volume(String name, Path dir, VolumeKind kind) {
            DataStore.checkName(name);
            if (volumes.put(name, new Volume(name, dir.toAbsolutePath(), kind)) != null) {
                throw new InvalidInputException("volume '" + name + "' is given twice");
            }
            return this;
        }

        public Builder postgresMode(PostgresStore.Mode mode) {
            this.postgresMode = Objects.requireNonNull(mode);
            return this;
        }

        /** The databases are external (e.g. RDS): a migration reuses them in place. */
        public Builder externalPostgres(boolean yes) {
            this.externalPostgres = yes;
            return this;
        }

        /** Redis is external: a migration reuses it in place. */
        public Builder externalRedis(boolean yes) {
            this.externalRedis = yes;
            return this;
        }

        /** Include event logs in the essential scope (large; not needed to run). */
        public Builder includeEventLogs(boolean yes) {
            this.includeEventLogs = yes;
            return this;
        }

        public Instance build() {
            Set<String> names = new TreeSet<>(databases.keySet());
            if (sourcegraph != null && configDatabase != null) {
                throw new InvalidInputException("the configuration comes from the API (sourcegraph) or a database (configDatabase), not both");
            }
            boolean config = sourcegraph != null || configFromDatabase || configDatabase != null;
            if (config && names.contains(CONFIG_STORE)) {
                throw new InvalidInputException("store name 'config' is used twice; the configuration store is named 'config'");
            }
            for (String v : volumes.keySet()) {
                if (!names.add(v) || (config && v.equals(CONFIG_STORE))) {
                    throw new InvalidInputException("store name '" + v + "' is used twice; databases, volumes and 'config' need distinct names");
                }
            }
            return new Instance(this);
        }
    }
}
