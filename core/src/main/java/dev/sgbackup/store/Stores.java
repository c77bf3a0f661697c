package dev.sgbackup.store;

import dev.sgbackup.store.volume.VolumeStore;
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
}
