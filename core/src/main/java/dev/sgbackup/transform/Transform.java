package dev.sgbackup.transform;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One half-pair of the byte pipeline: {@link #wrap} on the way to the sink, {@link #unwrap} on the way back.
 * A transform is recorded in the manifest by {@link #id()} and rebuilt from it on restore, never from the
 * caller's configuration, so a restore can never miss an inverse.
 */
public interface Transform {

    /** The identifier recorded in the manifest, e.g. {@code zstd}, {@code gzip}. */
    String id();

    /** Wraps the stream towards the sink. Closing the returned stream must finish the format and close {@code out}. */
    OutputStream wrap(OutputStream out, ArtifactContext context) throws IOException;

    /** Unwraps a stream read from the sink. */
    InputStream unwrap(InputStream in, ArtifactContext context) throws IOException;

    /**
     * What a transform may bind the bytes to.
     *
     * @param backupId     the backup's id
     * @param artifactKey  the artifact's storage key
     */
    record ArtifactContext(String backupId, String artifactKey) {
    }
}
