package dev.sgbackup.sink;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Collection;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Where bytes rest: a local directory, an S3 bucket, a GCS bucket, memory. A sink never knows what the
 * bytes mean; the layout of keys ({@code data/<id>/...}, {@code manifests/<id>.json}) is owned by core.
 *
 * <p>Keys are relative to the sink's root (the URI's path or prefix) and use only {@code [a-z0-9._/-]}.
 * Implementations must be safe for concurrent use by several threads.
 *
 * <p>Writing goes through a {@link PendingObject}: nothing is visible under the key until
 * {@link PendingObject#commit()} returns; {@link PendingObject#close()} without a commit aborts, so a
 * try-with-resources block that exits by an exception never publishes half an object.
 */
public interface BackupSink extends Closeable {

    /** The sink's location, with any secret removed; safe to print. */
    URI uri();

    /** Starts writing {@code key}. The object becomes visible only when the pending object is committed. */
    PendingObject create(String key) throws IOException;

    /**
     * Starts writing {@code key} when its size is known in advance (lets a sink choose single-request
     * uploads or a part size). {@code expectedSize} is a hint; the bytes written decide.
     */
    default PendingObject create(String key, long expectedSize) throws IOException {
        return create(key);
    }

    /** Reads a committed object. Throws {@link NoSuchObjectException} if it does not exist. */
    InputStream read(String key) throws IOException;

    /**
     * Reads {@code length} bytes starting at {@code offset} (fewer if the object ends first). The default
     * skips; sinks that can serve ranges natively override it.
     */
    default InputStream read(String key, long offset, long length) throws IOException {
        InputStream in = read(key);
        try {
            in.skipNBytes(offset);
        } catch (java.io.EOFException e) {
            // offset past the end: an empty range
            in.close();
            return InputStream.nullInputStream();
        }
        return new LimitedInputStream(in, length);
    }

    /** Size and time of a committed object, or empty if there is none. */
    Optional<ObjectInfo> stat(String key) throws IOException;

    /**
     * One page of committed objects whose key starts with {@code prefix}, in ascending key order.
     *
     * @param pageToken null for the first page, else {@link ListPage#nextPageToken()} of the previous page
     */
    ListPage list(String prefix, String pageToken) throws IOException;

    /**
     * Creates {@code key} with {@code content} only if no object {@code key} exists, as one atomic step: of several
     * writers (threads, processes, machines) racing for one key, exactly one gets {@code true}; the others get
     * {@code false} and the object holds the winner's bytes. For small objects (locks, leases, key objects); what
     * coordinates writers sharing a sink is built on it. A request retried after its first attempt succeeded
     * unseen still answers {@code true} (the object's bytes are this writer's own).
     *
     * @throws UnsupportedOperationException when this sink cannot do it atomically ({@link #conditionalCreate()}
     *                                       is false); never silently overwrites
     */
    default boolean putIfAbsent(String key, byte[] content) throws IOException {
        throw new UnsupportedOperationException(uri() + " cannot create an object only if it is absent, atomically;"
                + " sgbackup cannot coordinate several writers on it");
    }

    /**
     * Whether {@link #putIfAbsent} works on this sink: local directories and memory always; S3 when the endpoint
     * honours {@code If-None-Match: *} (AWS since 2024, not every S3-compatible server: checked once per sink by
     * writing a probe object twice); GCS always ({@code ifGenerationMatch=0}).
     */
    default boolean conditionalCreate() throws IOException {
        return false;
    }

    /**
     * Commits the finished local file {@code file} as object {@code key} by taking the file over, where this sink can
     * do that without copying it (a local directory on the same file system moves it into place), with the same
     * guarantees as {@link #create} and commit: atomic, durable. Returns false, leaving the file where it is, when it
     * cannot; then write the object the usual way. For writers that must finish a file before knowing its key (a
     * deduplicated repository's packs are named by their hash). Default: false.
     */
    default boolean adopt(String key, java.nio.file.Path file) throws IOException {
        return false;
    }

    /** Deletes an object; deleting a missing object is not an error. */
    void delete(String key) throws IOException;

    /** Deletes several objects; sinks with a batch API override it. */
    default void deleteAll(Collection<String> keys) throws IOException {
        for (String key : keys) {
            delete(key);
        }
    }

    /**
     * Housekeeping hook for prune: removes sink-specific leftovers under {@code prefix} older than the
     * grace period (e.g. unfinished multipart uploads, abandoned temp files). Returns how many were removed.
     */
    default int removeStaleUploads(String prefix, java.time.Duration gracePeriod) throws IOException {
        return 0;
    }

    /** Every committed object under {@code prefix}, fetched page by page as the stream is consumed. */
    default Stream<ObjectInfo> listAll(String prefix) {
        BackupSink sink = this;
        Iterator<ObjectInfo> it = new Iterator<>() {
            private Iterator<ObjectInfo> page = null;
            private String token = null;
            private boolean last = false;

            @Override
            public boolean hasNext() {
                while (page == null || !page.hasNext()) {
                    if (last) {
                        return false;
                    }
                    ListPage p;
                    try {
                        p = sink.list(prefix, token);
                    } catch (IOException e) {
                        throw new dev.sgbackup.run.SinkException(
                                "listing '" + prefix + "' in " + sink.uri() + " failed: " + e.getMessage(), e);
                    }
                    page = p.objects().iterator();
                    token = p.nextPageToken();
                    last = token == null;
                }
                return true;
            }

            @Override
            public ObjectInfo next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return page.next();
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED), false);
    }

    @Override
    default void close() throws IOException {
    }
}
