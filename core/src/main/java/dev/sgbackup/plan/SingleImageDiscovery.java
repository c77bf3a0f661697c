package dev.sgbackup.plan;

import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import dev.sgbackup.run.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The stores of a {@code sourcegraph/server} (single image) deployment, read from its data directory (the
 * container's {@code /var/opt/sourcegraph}) and, when given, its configuration directory ({@code /etc/sourcegraph}).
 *
 * <p>What the image does, as its entrypoint ({@code cmd/server/shared} in Sourcegraph's repository) shows: one
 * PostgreSQL cluster in {@code postgresql/} listening on 127.0.0.1:5432, superuser {@code postgres}, with the databases
 * {@code sourcegraph}, {@code sourcegraph-codeintel} and, with {@code ALLOW_SINGLE_DOCKER_CODE_INSIGHTS},
 * {@code sourcegraph-codeinsights}, each recorded by a marker file in {@code postgresql-markers/}; a database whose
 * {@code PGHOST} or {@code PGDATASOURCE} (with its prefix) is set in {@code /etc/sourcegraph/env} is external and not
 * in the container. Data: {@code repos/} (gitserver), {@code zoekt/} (search indexes), {@code blobstore/} (uploads;
 * earlier {@code minio/}, and {@code lsif-storage/} in 3.x), {@code prometheus/}, {@code grafana/}, {@code redis/} and
 * {@code redis-cache/} (never backed up), {@code cache/} (searcher and symbols scratch space, never backed up).
 */
final class SingleImageDiscovery {
    static final String ORIGIN = "container/sourcegraph-server";
    static final String PGDATA = "postgresql";
    static final String MARKERS = "postgresql-markers";
    /** Store name, database name and environment prefix of the image's databases. */
    private record Db(String store, String database, String prefix) {
    }

    private static final List<Db> DATABASES = List.of(new Db("frontend", "sourcegraph", ""),
            new Db("codeintel", "sourcegraph-codeintel", "CODEINTEL_"), new Db("codeinsights", "sourcegraph-codeinsights", "CODEINSIGHTS_"));

    private SingleImageDiscovery() {
    }

    static InstanceDescription discover(Path dataDir, Path configDir) {
        if (dataDir == null || !Files.isDirectory(dataDir)) {
            throw new InvalidInputException("--single-image " + dataDir + " is not a directory: give the host directory mounted at"
                    + " /var/opt/sourcegraph (docker inspect <container> lists it under Mounts)");
        }
        Path data = dataDir.toAbsolutePath().normalize();
        List<String> warnings = new ArrayList<>();
        List<Store> stores = new ArrayList<>();
        List<String> files = new ArrayList<>(List.of(data.toString()));
        Path config = null;
        Map<String, String> env = Map.of();
        if (configDir != null) {
            if (!Files.isDirectory(configDir)) {
                throw new InvalidInputException("--config-dir " + configDir + " is not a directory: give the host directory mounted at"
                        + " /etc/sourcegraph");
            }
            config = configDir.toAbsolutePath().normalize();
            files.add(config.toString());
            if (Files.isRegularFile(config.resolve("env"))) {
                env = Deployments.readEnvFile(config.resolve("env"));
            }
        } else {
            warnings.add("no --config-dir: /etc/sourcegraph/env (external databases, ALLOW_SINGLE_DOCKER_CODE_INSIGHTS) not read;"
                    + " databases assumed to be the container's own");
        }

        Path pg = data.resolve(PGDATA);
        String pgVersion = read(pg.resolve("PG_VERSION"), warnings);
        Path markers = data.resolve(MARKERS);
        boolean insights = "true".equalsIgnoreCase(env.getOrDefault("ALLOW_SINGLE_DOCKER_CODE_INSIGHTS", "").strip())
                || Files.exists(markers.resolve("sourcegraph-codeinsights"));
        for (Db db : DATABASES) {
            String prefix = db.prefix();
            if (configured(env, prefix)) {
                Store s = external(db.store(), prefix, env, config, warnings);
                if (s != null) {
                    stores.add(s);
                }
                continue;
            }
            if (db.store().equals("codeinsights") && !insights) {
                if (!Files.isDirectory(markers)) {
                    warnings.add("codeinsights: the image has a code insights database only with ALLOW_SINGLE_DOCKER_CODE_INSIGHTS=true and"
                            + " no " + MARKERS + "/ says whether it was created; if it was, add --postgres"
                            + " 'codeinsights=jdbc:postgresql://127.0.0.1:5432/sourcegraph-codeinsights?user=postgres'");
                }
                continue;
            }
            if (pgVersion == null) {
                warnings.add(db.store() + ": no PostgreSQL data directory at " + pg + " (no PG_VERSION) and no " + prefix + "PGHOST in"
                        + " /etc/sourcegraph/env: is " + data + " the single image's /var/opt/sourcegraph? Database left out");
                continue;
            }
            if (Files.isDirectory(markers) && !Files.exists(markers.resolve(db.database()))) {
                warnings.add(db.store() + ": " + MARKERS + "/ has no marker for database " + db.database() + ": it may not exist yet");
            }
            stores.add(new Store(db.store(), InstanceDescription.POSTGRES, db.store().equals("codeintel"), Discovery.holds(db.store()),
                    ORIGIN + " (" + PGDATA + "/, PostgreSQL " + pgVersion + ")",
                    Location.database(null, "127.0.0.1", 5432, db.database(), "postgres", false), "env:" + prefix + "PGPASSWORD"));
        }

        List<Path> dirs;
        try (Stream<Path> s = Files.list(data)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new InvalidInputException("cannot list " + data + ": " + e.getClass().getSimpleName());
        }
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            if (name.equals(PGDATA) || name.equals(MARKERS)) {
                continue; // the databases go logically; the markers only say which exist
            }
            if (Files.isRegularFile(d.resolve("PG_VERSION"))) {
                warnings.add(name + "/ is a PostgreSQL data directory: never copied as files; back its databases up with --postgres");
                continue;
            }
            String kind;
            boolean recreatable;
            String holds;
            if (name.equals("cache")) {
                kind = InstanceDescription.CACHE;
                recreatable = true;
                holds = "searcher and symbols scratch space";
            } else {
                VolumeKind k = kindOf(name);
                if (k == VolumeKind.OTHER) {
                    warnings.add(name + "/ is not a directory the single image is known to write: backed up as a volume of kind other");
                }
                kind = InstanceDescription.kindId(k);
                recreatable = k.recreatable();
                holds = k.holds();
            }
            stores.add(new Store(name, kind, recreatable, holds, ORIGIN + " (" + name + "/)", Location.directory(null, d.toString()), null));
        }
        if (config != null) {
            stores.add(new Store("etc-sourcegraph", InstanceDescription.kindId(VolumeKind.OTHER), false,
                    "the container's /etc/sourcegraph: env, nginx.conf, TLS and SSH files (the site config and code hosts live in the"
                            + " frontend database)", ORIGIN + " (/etc/sourcegraph)", Location.directory(null, config.toString()), null));
        }
        return new InstanceDescription(InstanceDescription.FORMAT,
                new InstanceDescription.Deployment("single-image", null, files, "data-directory"), null, stores, warnings);
    }

    /** As the image decides: a database is external when its PGHOST or PGDATASOURCE is set. */
    private static boolean configured(Map<String, String> env, String prefix) {
        return !env.getOrDefault(prefix + "PGHOST", "").isBlank() || !env.getOrDefault(prefix + "PGDATASOURCE", "").isBlank();
    }

    private static Store external(String name, String prefix, Map<String, String> env, Path config, List<String> warnings) {
        String where = config.resolve("env").toString();
        String host;
        Integer port;
        String db;
        String user;
        String credentials;
        String dsn = env.getOrDefault(prefix + "PGDATASOURCE", "");
        if (!dsn.isBlank()) {
            Discovery.Dsn u = Discovery.Dsn.parse(dsn);
            if (u == null) {
                warnings.add(name + ": " + prefix + "PGDATASOURCE in " + where + " is not a URL: database left out");
                return null;
            }
            host = u.host();
            port = u.port();
            db = u.database();
            user = u.user();
            credentials = "env:" + prefix + "PGDATASOURCE@" + where;
        } else {
            host = env.get(prefix + "PGHOST").strip();
            port = Discovery.parsePort(env.get(prefix + "PGPORT"), name, warnings);
            db = env.get(prefix + "PGDATABASE");
            user = env.get(prefix + "PGUSER");
            credentials = "env:" + prefix + "PGPASSWORD" + (env.containsKey(prefix + "PGPASSWORD") ? "@" + where : "");
        }
        boolean local = host == null || host.equals("127.0.0.1") || host.equals("localhost") || host.startsWith("/");
        return new Store(name, InstanceDescription.POSTGRES, name.equals("codeintel"), Discovery.holds(name), local ? ORIGIN + " (" + where + ")"
                : "external/" + host + " (from " + where + ")", Location.database(null, host, port, db, user, !local), credentials);
    }

    private static String read(Path f, List<String> warnings) {
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            return Files.readString(f).strip();
        } catch (IOException e) {
            warnings.add("cannot read " + f + ": " + e.getClass().getSimpleName());
            return null;
        }
    }

    /** The kind of a direct subdirectory of /var/opt/sourcegraph, by the names the image's releases used. */
    static VolumeKind kindOf(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("repos")) {
            return VolumeKind.GITSERVER;
        }
        if (n.equals("lsif-storage")) {
            return VolumeKind.LSIF_BUNDLES;
        }
        return VolumeKind.guess(n);
    }
}
