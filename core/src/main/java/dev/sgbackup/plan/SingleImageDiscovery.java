package dev.sgbackup.plan;

import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import dev.sgbackup.run.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The stores of a {@code sourcegraph/server} (single image) deployment, read from its data directory (the
 * container's {@code /var/opt/sourcegraph}): the databases of the one PostgreSQL cluster in {@code postgresql/}
 * (reached at 127.0.0.1:5432 inside the container as the superuser {@code postgres}; never copied as files), and each
 * other direct subdirectory as a volume of the kind its name says ({@code repos} is the gitserver's).
 */
final class SingleImageDiscovery {
    static final String ORIGIN = "container/sourcegraph-server";
    static final String PGDATA = "postgresql";

    private SingleImageDiscovery() {
    }

    static InstanceDescription discover(Path dataDir, Path configDir) {
        if (dataDir == null || !Files.isDirectory(dataDir)) {
            throw new InvalidInputException("--single-image " + dataDir + " is not a directory: give the directory mounted at"
                    + " /var/opt/sourcegraph (docker inspect <container> shows it under Mounts)");
        }
        Path data = dataDir.toAbsolutePath().normalize();
        List<String> warnings = new ArrayList<>();
        List<Store> stores = new ArrayList<>();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(data)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new InvalidInputException("cannot list " + data + ": " + e.getClass().getSimpleName());
        }
        Path pg = data.resolve(PGDATA);
        String pgVersion = null;
        if (Files.isRegularFile(pg.resolve("PG_VERSION"))) {
            try {
                pgVersion = Files.readString(pg.resolve("PG_VERSION")).strip();
            } catch (IOException e) {
                warnings.add("cannot read " + pg.resolve("PG_VERSION") + ": " + e.getClass().getSimpleName());
            }
            String origin = ORIGIN + " (" + PGDATA + "/, PostgreSQL " + pgVersion + ")";
            stores.add(new Store("frontend", InstanceDescription.POSTGRES, false, "the frontend database: users, repositories,"
                    + " settings, batch changes…", origin, Location.database(null, "127.0.0.1", 5432, "sourcegraph", "postgres", false),
                    "env:PGPASSWORD"));
            stores.add(new Store("codeintel", InstanceDescription.POSTGRES, true, "precise code-intel data", origin,
                    Location.database(null, "127.0.0.1", 5432, "sourcegraph-codeintel", "postgres", false), "env:PGPASSWORD"));
            warnings.add("codeinsights: the single image has a code insights database (sourcegraph-codeinsights) only when it runs"
                    + " with ALLOW_SINGLE_DOCKER_CODE_INSIGHTS=true; if it does, add --postgres"
                    + " 'codeinsights=jdbc:postgresql://127.0.0.1:5432/sourcegraph-codeinsights?user=postgres'");
        } else {
            warnings.add("no PostgreSQL data directory at " + pg + " (no PG_VERSION): is " + data + " the single image's"
                    + " /var/opt/sourcegraph? Databases left out");
        }
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            if (name.equals(PGDATA)) {
                continue;
            }
            if (Files.isRegularFile(d.resolve("PG_VERSION"))) {
                warnings.add(name + "/ is a PostgreSQL data directory: never copied as files; back its databases up with --postgres");
                continue;
            }
            VolumeKind k = kindOf(name);
            if (k == VolumeKind.OTHER) {
                warnings.add(name + "/ is not a directory the single image is known to write: backed up as a volume of kind other");
            }
            stores.add(new Store(name, InstanceDescription.kindId(k), k.recreatable(), k.holds(), ORIGIN + " (" + name + "/)",
                    Location.directory(null, d.toString()), null));
        }
        List<String> files = new ArrayList<>(List.of(data.toString()));
        if (configDir != null) {
            if (!Files.isDirectory(configDir)) {
                throw new InvalidInputException("--config-dir " + configDir + " is not a directory: give the directory mounted at"
                        + " /etc/sourcegraph");
            }
            Path c = configDir.toAbsolutePath().normalize();
            files.add(c.toString());
            stores.add(new Store("etc-sourcegraph", InstanceDescription.kindId(VolumeKind.OTHER), false,
                    "the container's /etc/sourcegraph (nginx.conf, TLS files; the site config and code hosts live in the frontend"
                            + " database)", ORIGIN + " (/etc/sourcegraph)", Location.directory(null, c.toString()), null));
        }
        return new InstanceDescription(InstanceDescription.FORMAT,
                new InstanceDescription.Deployment("single-image", null, files, "data-directory"), null, stores, warnings);
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
