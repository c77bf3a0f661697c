package dev.sgbackup.sink;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A sink that fails its Nth operation, as if the process died there: create, each commit, read, ranged read, stat,
 * list page, delete and each key of a batch delete count as one operation each. From the failing one on, every
 * operation fails (a dead process does nothing more). {@link #failAt(int)} 0: never fail; {@link #ops()} counts.
 */
public final class FaultySink extends ForwardingSink {
    private final AtomicInteger ops = new AtomicInteger();
    private volatile int failAt;

    public FaultySink(BackupSink inner) {
        super(inner);
    }

    /** Fails operation {@code n} (from 1) and every one after it; 0 never fails. Resets the count. */
    public FaultySink failAt(int n) {
        ops.set(0);
        failAt = n;
        return this;
    }

    public int ops() {
        return ops.get();
    }

    /** Whether the fault has fired. */
    public boolean fired() {
        return failAt > 0 && ops.get() >= failAt;
    }

    private void op(String what) throws IOException {
        int n = ops.incrementAndGet();
        if (failAt > 0 && n >= failAt) {
            throw new IOException("injected fault at operation " + n + " (" + what + ")");
        }
    }

    @Override
    public PendingObject create(String key) throws IOException {
        op("create " + key);
        PendingObject p = inner.create(key);
        return new PendingObject() {
            @Override
            public OutputStream stream() {
                return p.stream();
            }

            @Override
            public void commit() throws IOException {
                op("commit " + key);
                p.commit();
            }

            @Override
            public void close() throws IOException {
                p.close();
            }
        };
    }

    @Override
    public PendingObject create(String key, long expectedSize) throws IOException {
        return create(key);
    }

    @Override
    public InputStream read(String key) throws IOException {
        op("read " + key);
        return inner.read(key);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        op("read " + key + " at " + offset);
        return inner.read(key, offset, length);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        op("stat " + key);
        return inner.stat(key);
    }

    @Override
    public ListPage list(String prefix, String pageToken) throws IOException {
        op("list " + prefix);
        return inner.list(prefix, pageToken);
    }

    @Override
    public void delete(String key) throws IOException {
        op("delete " + key);
        inner.delete(key);
    }

    @Override
    public void deleteAll(Collection<String> keys) throws IOException {
        for (String k : keys) {
            delete(k);
        }
    }
}
