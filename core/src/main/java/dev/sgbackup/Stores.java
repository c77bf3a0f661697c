package dev.sgbackup;

import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import dev.sgbackup.store.volume.VolumeStore;
import java.net.URI;
import java.nio.file.Path;
import java.util.Collection;

/**
 * Factories for data stores, named by intent. A store built here serves as a backup source and, built with
 * the new instance's coordinates, as a restore target.
 */
public final class Stores {
    private Stores() {
    }

    /** A directory (a Docker volume, a PVC mount, gitserver's repos) streamed as one tar artifact. */
    public static DataStore directory(String name, Path dir) {
        return VolumeStore.of(name, dir);
    }

    /** A directory without the files matching {@code excludeGlobs} (e.g. {@code "*.tmp"}, {@code "cache/**"}). */
    public static DataStore directory(String name, Path dir, Collection<String> excludeGlobs) {
        return VolumeStore.builder(name, dir).exclude(excludeGlobs.toArray(String[]::new)).build();
    }

    /**
     * A PostgreSQL database ({@code frontend}, {@code codeintel}, {@code codeinsights}) at {@code jdbcUrl}, backed
     * up with pg_dump when usable and over JDBC otherwise. Password: PGPASSWORD or ~/.pgpass. For more options use
     * {@link PostgresStore#builder(String, String)}.
     */
    public static DataStore postgres(String name, String jdbcUrl) {
        return PostgresStore.builder(name, jdbcUrl).build();
    }

    /**
     * The configuration of the instance at {@code endpoint} (site config, code host connections, settings) through
     * its GraphQL API; the token comes from SRC_ACCESS_TOKEN. For more options use
     * {@link SourcegraphConfigStore#api(URI)}.
     */
    public static DataStore sourcegraph(URI endpoint) {
        return SourcegraphConfigStore.api(endpoint).build();
    }

    /** The same configuration documents read straight from the frontend database (complete, unredacted). */
    public static DataStore sourcegraphDatabase(String jdbcUrl) {
        return SourcegraphConfigStore.database(jdbcUrl).build();
    }
}
