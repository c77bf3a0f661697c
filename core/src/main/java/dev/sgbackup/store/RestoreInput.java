package dev.sgbackup.store;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** What a {@link DataStore} restores from: the artifacts and facts its backup recorded. */
public interface RestoreInput {

    /** The store's part of the backup: its kind, properties and artifacts. */
    StoreBackup backup();

    /**
     * Opens an artifact's plain bytes. Sizes and SHA-256 are checked while reading: reaching the end of a
     * damaged artifact throws {@link dev.sgbackup.run.IntegrityException} instead of returning -1, so a store
     * must read each artifact to its end before it makes the restored data visible.
     */
    InputStream open(ArtifactInfo artifact) throws IOException;

    default List<ArtifactInfo> artifacts() {
        return backup().artifacts();
    }

    RestoreOptions options();

    /** Reports a warning to the listener (and the result). */
    void warn(String message);

    /** How many artifacts the store may read concurrently. */
    int parallelism();

    /** Throws {@link dev.sgbackup.run.CancelledException} if the run was cancelled or the thread interrupted. */
    void checkCancelled();
}
