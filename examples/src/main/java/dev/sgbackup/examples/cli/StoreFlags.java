package dev.sgbackup.examples.cli;

import dev.sgbackup.plan.InstanceDescription;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.Stores;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The stores and the instance the store flags name ({@code --instance FILE}, overridden by {@code --volume}, {@code --sourcegraph}, {@code --sourcegraph-db},
 * {@code --postgres} and their options), for plan, backup and restore; records in the {@link Session} where each
 * endpoint came from.
 */
final class StoreFlags {
    /** The flags that name stores, with a value; plan, backup and restore take them. */
    static final Set<String> STORE_FLAGS = Set.of("--volume", "--exclude", "--sourcegraph", "--sourcegraph-db", "--postgres",
            "--report", "--instance");
    /** Backup-side options of the PostgreSQL stores; a restore takes both from the manifest. */
    static final Set<String> PG_BACKUP_FLAGS = Set.of("--postgres-mode", "--tables");

    static final String ENDPOINT_ENV = "SRC_ENDPOINT";
    static final String TOKEN_ENV = "SRC_ACCESS_TOKEN";

    private StoreFlags() {
    }

    /** A command's own value flags and the store flags (with the PostgreSQL backup options when {@code backupSide}). */
    static Set<String> withStoreFlags(Set<String> own, boolean backupSide) {
        Set<String> all = new java.util.HashSet<>(own);
        all.addAll(STORE_FLAGS);
        if (backupSide) {
            all.addAll(PG_BACKUP_FLAGS);
        }
        return Set.copyOf(all);
    }

    /** Java under LANG=C cannot name non-ASCII files; refuse before anything runs. */
    static void checkFileNameEncoding() {
        String enc = System.getProperty("sun.jnu.encoding", "");
        if (!enc.equalsIgnoreCase("UTF-8")) {
            throw new InvalidInputException("the JVM's file-name encoding is " + enc + ", not UTF-8, so non-ASCII file names would be"
                    + " mangled; run with a UTF-8 locale, e.g. LANG=C.UTF-8 java -jar sgbackup.jar ...");
        }
    }

    /** The stores named by flags; for a backup they are sources, for a restore targets. */
    static List<DataStore> stores(Session s, Args a) {
        List<DataStore> stores = new ArrayList<>();
        List<String> excludes = a.all("--exclude");
        for (Map.Entry<String, String> v : a.pairs("--volume").entrySet()) {
            Path dir = Path.of(v.getValue()).toAbsolutePath();
            stores.add(excludes.isEmpty() ? Stores.directory(v.getKey(), dir) : Stores.directory(v.getKey(), dir, excludes));
        }
        URI sourcegraph = sourcegraph(s, a, false);
        String configDb = configDatabase(s, a);
        String secrets = a.one("--secrets");
        if (sourcegraph != null) {
            SourcegraphConfigStore.ApiBuilder b = SourcegraphConfigStore.api(sourcegraph);
            String token = s.env.apply(TOKEN_ENV);
            if (token != null && !token.isEmpty()) {
                b.token(token);
            }
            stores.add((secrets == null ? b : b.secrets(Path.of(secrets))).build());
        } else if (configDb != null) {
            SourcegraphConfigStore.DatabaseBuilder b = SourcegraphConfigStore.database(configDb).name(Instance.CONFIG_STORE);
            stores.add((secrets == null ? b : b.secrets(Path.of(secrets))).build());
        } else if (secrets != null) {
            throw new Args.UsageException("--secrets is for the configuration store: add --sourcegraph URL");
        }
        stores.addAll(postgres(a));
        InstanceDescription file = DiscoverCommand.instanceFile(s, a);
        if (file != null) {
            // the file's stores the flags do not give: volumes as directories, databases (not external) as PostgreSQL stores
            Instance fromFile = file.toInstance(s.env).build();
            for (Instance.Volume v : fromFile.volumes()) {
                stores.add(excludes.isEmpty() ? Stores.directory(v.name(), v.dir()) : Stores.directory(v.name(), v.dir(), excludes));
            }
            for (InstanceDescription.Store st : file.stores()) {
                InstanceDescription.Location l = st.location();
                if (InstanceDescription.POSTGRES.equals(st.kind()) && l != null && l.host() != null && !Boolean.TRUE.equals(l.external())) {
                    PostgresStore.Builder pb = PostgresStore.builder(st.name(), InstanceDescription.jdbcUrl(l)).mode(postgresMode(a));
                    char[] password = InstanceDescription.password(st, s.env);
                    stores.add((password == null ? pb : pb.password(password)).build());
                }
            }
        }
        return stores;
    }

    /** {@link #stores}, and a usage error if the flags name none. */
    static List<DataStore> requireStores(Session s, Args a) {
        List<DataStore> stores = stores(s, a);
        if (stores.isEmpty()) {
            throw new Args.UsageException("'" + a.command + "' needs at least one store, e.g. --volume NAME=DIR, --sourcegraph URL,"
                    + " --sourcegraph-db JDBC_URL or --postgres NAME=JDBC_URL");
        }
        return stores;
    }

    /**
     * The instance the store flags describe: --sourcegraph or --sourcegraph-db, --postgres, --volume (+ --exclude,
     * --postgres-mode, --secrets, --pg-restore-jobs). {@code scopeWantsConfig}: a backup scope with configuration, whose
     * endpoint SRC_ENDPOINT may supply; a restore passes false, so only flags name its targets.
     */
    static Instance.Builder instance(Session s, Args a, boolean scopeWantsConfig) {
        InstanceDescription file = DiscoverCommand.instanceFile(s, a);
        Instance.Builder b = file == null ? Instance.builder() : file.toInstance(s.env); // passwords from the referenced variables
        URI sourcegraph = sourcegraph(s, a, scopeWantsConfig);
        String configDb = configDatabase(s, a);
        if (sourcegraph != null) {
            b.sourcegraph(sourcegraph);
            String token = s.env.apply(TOKEN_ENV);
            if (token != null && !token.isEmpty()) {
                b.token(token);
            }
        } else if (configDb != null) {
            b.configDatabase(configDb);
        }
        String secrets = a.one("--secrets");
        if (secrets != null) {
            if (sourcegraph == null && configDb == null) {
                throw new Args.UsageException("--secrets is for the configuration store: add --sourcegraph URL");
            }
            b.secrets(Path.of(secrets));
        }
        a.pairs("--postgres").forEach(b::database);
        a.pairs("--volume").forEach((n, d) -> b.volume(n, Path.of(d).toAbsolutePath()));
        b.exclude(a.all("--exclude"));
        String m = a.one("--postgres-mode");
        if (m != null) {
            b.postgresMode(postgresMode(m));
        }
        String jobs = a.one("--pg-restore-jobs");
        if (jobs != null) {
            int n;
            try {
                n = Integer.parseInt(jobs.strip());
            } catch (NumberFormatException e) {
                n = 0;
            }
            if (n < 1) {
                throw new Args.UsageException("--pg-restore-jobs takes a whole number of at least 1, got '" + jobs + "'");
            }
            if (a.pairs("--postgres").isEmpty() && a.one("--instance") == null) {
                throw new Args.UsageException("--pg-restore-jobs is for PostgreSQL targets: add --postgres NAME=JDBC_URL");
            }
            b.pgRestoreJobs(n);
        }
        return b;
    }

    /**
     * The configuration API's URL: {@code --sourcegraph URL} (flag), or SRC_ENDPOINT for {@code --sourcegraph} without
     * a URL or, when {@code scopeWantsConfig}, for a backup scope that includes the configuration (environment).
     * Null when the user asked for no configuration store: the environment alone never adds one. Records where it came from.
     */
    private static URI sourcegraph(Session s, Args a, boolean scopeWantsConfig) {
        String flag = a.one("--sourcegraph");
        String value;
        String from;
        String source;
        if (flag != null && !flag.isEmpty()) {
            value = flag;
            from = "flag";
            source = "--sourcegraph";
        } else if (flag != null || (scopeWantsConfig && a.one("--sourcegraph-db") == null)) {
            value = s.env.apply(ENDPOINT_ENV);
            if (value == null || value.isBlank()) {
                if (flag == null) {
                    return null; // a scope with configuration, and no endpoint: the plan notes it
                }
                throw new Args.UsageException("--sourcegraph without a URL takes it from " + ENDPOINT_ENV + ", which is not set");
            }
            from = "environment";
            source = ENDPOINT_ENV;
        } else {
            return null;
        }
        if (a.one("--sourcegraph-db") != null) {
            throw new Args.UsageException("the configuration comes from --sourcegraph (the API) or --sourcegraph-db (the database), not both");
        }
        URI uri;
        try {
            uri = URI.create(value.strip());
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("'" + value + "' (" + source + ") is not a URL");
        }
        String token = s.env.apply(TOKEN_ENV);
        if (s.endpoints.stream().noneMatch(e -> Instance.CONFIG_STORE.equals(e.store()))) {
            s.endpoints.add(new RunJson.Endpoint(Instance.CONFIG_STORE, SourcegraphConfigStore.KIND, uri.toString(), from, source,
                    token == null || token.isEmpty() ? null : "environment " + TOKEN_ENV));
        }
        return uri;
    }

    /** {@code --sourcegraph-db JDBC_URL}: the configuration through the frontend database. */
    private static String configDatabase(Session s, Args a) {
        String url = a.one("--sourcegraph-db");
        if (url != null && s.endpoints.stream().noneMatch(e -> Instance.CONFIG_STORE.equals(e.store()))) {
            s.endpoints.add(new RunJson.Endpoint(Instance.CONFIG_STORE, SourcegraphConfigStore.KIND, Instance.redact(url), "flag",
                    "--sourcegraph-db", null));
        }
        return url;
    }

    /** The endpoints the flags name (sink, databases, volumes), in order; the configuration is added where it is resolved. */
    static void flagEndpoints(Session s, Args a, String sinkFlag) {
        s.endpoints.add(new RunJson.Endpoint(null, "sink", Instance.redact(a.required(sinkFlag)), "flag", sinkFlag, null));
        a.pairs("--postgres").forEach((n, u) -> s.endpoints.add(new RunJson.Endpoint(n, "postgres", Instance.redact(u), "flag", "--postgres",
                null)));
        a.pairs("--volume").forEach((n, d) -> s.endpoints.add(new RunJson.Endpoint(n, "volume", Path.of(d).toAbsolutePath().toString(), "flag",
                "--volume", null)));
        InstanceDescription file = DiscoverCommand.instanceFile(s, a);
        if (file != null) {
            // each store of the file, with the deployment object it came from (flags override: those are left out)
            String f = a.one("--instance");
            for (InstanceDescription.Store st : file.stores()) {
                InstanceDescription.Location l = st.location();
                if (InstanceDescription.POSTGRES.equals(st.kind()) && l != null && l.host() != null) {
                    s.endpoints.add(new RunJson.Endpoint(st.name(), "postgres", InstanceDescription.jdbcUrl(l), "instance", f + " " + st.origin()
                            + (st.credentials() == null ? "" : ", password " + st.credentials()), null));
                } else if (l != null && l.directory() != null && !InstanceDescription.FILES.equals(st.kind())
                        && !InstanceDescription.CACHE.equals(st.kind()) && !"redis".equals(st.kind())) {
                    s.endpoints.add(new RunJson.Endpoint(st.name(), "volume", l.directory(), "instance", f + " " + st.origin(), null));
                }
            }
            s.instanceNotes.addAll(file.notes());
            // what discovery could not settle (e.g. uploads in external object storage) belongs in the plan too
            file.warnings().forEach(w -> s.instanceNotes.add("instance file: " + w));
        }
    }

    /** --postgres NAME=JDBC_URL (repeatable) with --postgres-mode and --tables. */
    private static List<DataStore> postgres(Args a) {
        String m = a.one("--postgres-mode");
        PostgresStore.Mode mode = m == null ? PostgresStore.Mode.AUTO : postgresMode(m);
        Set<String> categories = new java.util.TreeSet<>();
        String tables = a.one("--tables");
        if (tables != null) {
            for (String t : tables.split(",")) {
                if (!t.isBlank()) {
                    categories.add(t.trim());
                }
            }
        }
        Map<String, String> dbs = a.pairs("--postgres");
        if (dbs.isEmpty() && a.one("--instance") == null && (m != null || tables != null)) {
            throw new Args.UsageException("--postgres-mode and --tables are for PostgreSQL stores: add --postgres NAME=JDBC_URL");
        }
        List<DataStore> out = new ArrayList<>();
        for (Map.Entry<String, String> e : dbs.entrySet()) {
            out.add(PostgresStore.builder(e.getKey(), e.getValue()).mode(mode).categories(dev.sgbackup.store.postgres.Category.parseAll(categories)).build());
        }
        return out;
    }

    private static PostgresStore.Mode postgresMode(Args a) {
        String m = a.one("--postgres-mode");
        return m == null ? PostgresStore.Mode.AUTO : postgresMode(m);
    }

    private static PostgresStore.Mode postgresMode(String m) {
        return switch (m) {
            case "pg_dump" -> PostgresStore.Mode.PG_DUMP;
            case "jdbc" -> PostgresStore.Mode.JDBC;
            case "auto" -> PostgresStore.Mode.AUTO;
            default -> throw new Args.UsageException("--postgres-mode takes pg_dump, jdbc or auto, got '" + m + "'");
        };
    }
}
