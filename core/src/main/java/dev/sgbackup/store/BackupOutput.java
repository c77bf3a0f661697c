package dev.sgbackup.store;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * What a {@link DataStore} writes its backup to. Thread-safe: a store may write several artifacts at once
 * from its own threads (up to {@link #parallelism()}).
 */
public interface BackupOutput {

    /**
     * Starts an artifact. Its name is free text (a table name, a document name) recorded in the manifest;
     * the storage key is derived by core. Close the returned stream to finish the artifact; closing it is
     * what records the artifact. A stream abandoned because of an exception must be closed through
     * {@link ArtifactStream#abort()} or left to the engine, which then fails the backup.
     *
     * @param attributes small string facts about the artifact (e.g. row count, columns), kept in the manifest
     */
    ArtifactStream artifact(String name, Map<String, String> attributes) throws IOException;

    default ArtifactStream artifact(String name) throws IOException {
        return artifact(name, Map.of());
    }

    /** Records a fact about the store in the manifest (server version, schema fingerprint...). No secrets. */
    void property(String key, String value);

    /** Records a warning in the manifest and reports it to the listener (e.g. a file that vanished). */
    void warn(String message);

    /** How many artifacts this store may write concurrently. */
    int parallelism();

    /** Throws {@link dev.sgbackup.run.CancelledException} if the run was cancelled or the thread interrupted. */
    void checkCancelled();

    /** An artifact being written. */
    abstract class ArtifactStream extends OutputStream {
        /** Abandons the artifact; the backup will not be committed. */
        public abstract void abort();
    }
}
