package dev.sgbackup.dedup;

import dev.sgbackup.transform.Compression;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stores streams as chunks: cuts them with the repository's chunker, skips every chunk the index (or the pack
 * being filled) already has, packs the rest, and adds the entries of each committed pack to the in-memory index
 * and to the shard's index objects. What a backup writes per artifact is the ordered list of chunk ids that
 * {@link #write} reports; it is the caller's to record (in a tree object the manifest references).
 *
 * <p>Order on the sink: a pack is committed before any index entry pointing into it; {@link #close()} commits the
 * last pack, then the last index object. {@link #write} is not thread-safe; {@link #store} is.
 */
final class ChunkWriter implements Closeable {
    /** Told about every chunk of a stream, in order. */
    @FunctionalInterface
    interface ChunkListener {
        void chunk(ChunkId id, long offset, int length, boolean isNew) throws IOException;
    }

    private final RepoKeys keys;
    private final FastCdc chunker;
    private final ChunkIndex index;
    private final PackWriter packs;
    private final IndexStore.Writer indexWriter;
    private final Set<ChunkId> inOpenPack = new HashSet<>();
    private final Object packLock = new Object();
    private final ExecutorService pool;
    private final int threads;
    private final Semaphore inFlight;
    private final Queue<BlobCodec> codecs = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<BlobCodec> codec;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** Chunks handed to the pool, and appended to packs, in order (guarded by packLock). */
    private long submitted;
    private long appended;
    private long newBytes;
    private long reusedBytes;

    /**
     * @param index      what is already stored (usually {@code new IndexStore(repo).load(shard)}); grows as packs commit
     * @param shard      the index shard the new entries go to (e.g. the store's {@link RepoKeys#shardName})
     * @param packSize   the pack target size, e.g. 16 MiB
     * @param tmpDir     where packs are spooled before upload
     */
    ChunkWriter(Repo repo, ChunkParams params, ChunkIndex index, String shard, Compression compression, long packSize,
                Path tmpDir) {
        this.keys = repo.keys();
        this.chunker = keys.chunker(params);
        this.index = index;
        this.indexWriter = new IndexStore(repo).new Writer(shard);
        this.packs = new PackWriter(repo, compression, packSize, tmpDir, this::committed);
        this.threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        this.inFlight = new Semaphore(2 * threads);
        this.codec = ThreadLocal.withInitial(() -> {
            BlobCodec c = new BlobCodec(keys, compression);
            codecs.add(c);
            return c;
        });
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "sgbackup-compress");
            t.setDaemon(true);
            return t;
        });
    }

    private void committed(String pack, long size, List<IndexEntry> entries) throws IOException {
        synchronized (this) {
            for (IndexEntry e : entries) {
                index.add(e);
                inOpenPack.remove(e.id());
            }
        }
        indexWriter.add(entries);
    }

    /** Stores {@code in} (not closed); returns its length. */
    long write(InputStream in, ChunkListener listener) throws IOException {
        return chunker.chunk(in, (offset, buf, off, len) -> {
            ChunkId id = keys.id(buf, off, len);
            listener.chunk(id, offset, len, store(id, buf, off, len));
        });
    }

    /**
     * Stores one chunk cut elsewhere (e.g. by a {@link FastCdc#splitter} per artifact, several at once), unless it
     * is stored already; returns whether it was new. The chunk is copied and compressed (and sealed) on a pool of
     * one thread per core, at most two per thread in flight, then appended to the pack being filled. Thread-safe:
     * callers on several threads share one writer.
     */
    boolean store(ChunkId id, byte[] buf, int off, int len) throws IOException {
        rethrow();
        synchronized (this) {
            boolean isNew = !index.contains(id) && !inOpenPack.contains(id);
            if (!isNew) {
                reusedBytes += len;
                return false;
            }
            inOpenPack.add(id);
            newBytes += len;
        }
        byte[] copy = java.util.Arrays.copyOfRange(buf, off, off + len);
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while storing chunks");
        }
        // numbered and queued under one lock: the queue holds the tasks in their turn's order, so a task waiting for
        // its turn only ever waits for one that is already running (several writer threads store into one writer)
        synchronized (packLock) {
            long seq = submitted++;
            try {
                pool.execute(taskFor(seq, id, copy));
            } catch (RuntimeException e) {
                submitted--; // never queued: the next one takes this turn
                inFlight.release();
                failure.compareAndSet(null, e);
                throw e;
            }
        }
        return true;
    }

    /** Compresses and seals chunk {@code id}, then appends it to the pack in turn {@code seq}. */
    private Runnable taskFor(long seq, ChunkId id, byte[] copy) {
        return () -> {
            try {
                BlobCodec.Blob blob = failure.get() == null ? codec.get().encode(id, copy, 0, copy.length) : null;
                synchronized (packLock) {
                    // in the order the chunks came: a pack's layout depends on the input only. No deadlock: tasks are
                    // queued in turn order and the pool starts them in order, so every earlier one is running or done
                    awaitTurn(seq);
                    try {
                        if (blob != null && failure.get() == null) {
                            packs.addEncoded(id, blob, copy.length);
                        }
                    } finally {
                        appended++;
                        packLock.notifyAll();
                    }
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                inFlight.release();
            }
        };
    }

    /** Waits (holding packLock) until chunk {@code seq} is the next to append; interrupts are deferred. */
    private void awaitTurn(long seq) {
        boolean interrupted = false;
        while (appended != seq) {
            try {
                packLock.wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Where chunk {@code id} is stored, or null (not yet, or only in the pack being filled). */
    synchronized IndexEntry lookup(ChunkId id) {
        return index.get(id);
    }

    /** Whether every chunk is stored in a committed pack or on its way into one. */
    synchronized boolean containsAll(List<ContentTable.Chunk> chunks) {
        for (ContentTable.Chunk c : chunks) {
            if (!index.contains(c.id()) && !inOpenPack.contains(c.id())) {
                return false;
            }
        }
        return true;
    }

    private void rethrow() throws IOException {
        Throwable t = failure.get();
        if (t instanceof IOException io) {
            throw new IOException(io.getMessage(), io);
        }
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IOException(t);
        }
    }

    /** Waits for every chunk in flight to reach its pack. */
    private void drain() throws IOException {
        try {
            inFlight.acquire(2 * threads);
            inFlight.release(2 * threads);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while storing chunks");
        }
    }

    /** Plaintext bytes of chunks stored by this writer. */
    synchronized long newBytes() {
        return newBytes;
    }

    /** Plaintext bytes of chunks that were already stored. */
    synchronized long reusedBytes() {
        return reusedBytes;
    }

    /** Bytes of packs uploaded so far. */
    long packBytes() {
        synchronized (packLock) {
            return packs.bytesWritten();
        }
    }

    /** Drops the pack being filled (on failure): nothing more is committed; what was committed stays, unreferenced. */
    void abort() throws IOException {
        failure.compareAndSet(null, new IOException("aborted"));
        try {
            drain();
            synchronized (packLock) {
                packs.abort();
            }
        } finally {
            shutdown();
        }
    }

    /** Commits the last pack, then the index objects for everything written. */
    @Override
    public void close() throws IOException {
        try {
            drain();
            rethrow();
            synchronized (packLock) {
                packs.close();
            }
            indexWriter.close();
        } finally {
            shutdown();
        }
    }

    private void shutdown() {
        pool.shutdown();
        BlobCodec c;
        while ((c = codecs.poll()) != null) {
            c.close();
        }
    }
}
