package dev.sgbackup.dedup;

import dev.sgbackup.transform.Compression;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
    }

    private void committed(String pack, long size, List<IndexEntry> entries) throws IOException {
        for (IndexEntry e : entries) {
            index.add(e);
            inOpenPack.remove(e.id());
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
     * is stored already; returns whether it was new. Thread-safe: callers on several threads share one writer.
     */
    synchronized boolean store(ChunkId id, byte[] buf, int off, int len) throws IOException {
        boolean isNew = !index.contains(id) && !inOpenPack.contains(id);
        if (isNew) {
            inOpenPack.add(id);
            packs.add(id, buf, off, len);
            newBytes += len;
        } else {
            reusedBytes += len;
        }
        return isNew;
    }

    /** Plaintext bytes of chunks stored by this writer. */
    long newBytes() {
        return newBytes;
    }

    /** Plaintext bytes of chunks that were already stored. */
    long reusedBytes() {
        return reusedBytes;
    }

    /** Bytes of packs uploaded so far. */
    long packBytes() {
        return packs.bytesWritten();
    }

    /** Drops the pack being filled (on failure): nothing more is committed; what was committed stays, unreferenced. */
    synchronized void abort() throws IOException {
        packs.abort();
    }

    /** Commits the last pack, then the index objects for everything written. */
    @Override
    public synchronized void close() throws IOException {
        packs.close();
        indexWriter.close();
    }
}
