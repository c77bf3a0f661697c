package dev.sgbackup.sink;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;

/**
 * An object being written. Write the bytes to {@link #stream()}, then {@link #commit()}: only then does the
 * object become visible. {@link #close()} without a commit aborts and removes everything written so far
 * (temp file, multipart upload, resumable session). Closing {@link #stream()} does not commit.
 *
 * <pre>{@code
 * try (PendingObject o = sink.create("data/x")) {
 *     o.stream().write(bytes);
 *     o.commit();
 * }   // an exception before commit() leaves nothing behind
 * }</pre>
 */
public interface PendingObject extends Closeable {

    /** The stream to write the object's bytes to. Not thread-safe. */
    OutputStream stream();

    /** Makes the object visible under its key. Idempotent once it has returned. */
    void commit() throws IOException;

    /** Aborts if not committed; otherwise releases resources. Never throws for an abort that cleans up. */
    @Override
    void close() throws IOException;
}
