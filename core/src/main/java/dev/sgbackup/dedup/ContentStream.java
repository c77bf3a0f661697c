package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * An artifact's bytes read back from its content table: INLINE records' own bytes and the chunks of SEGMENT and FILE
 * records, in order. Chunks are fetched, authenticated, decompressed and hashed against their ids up to
 * {@link #DEPTH} fetches ahead on a shared pool, so reading packs and decoding overlap with the consumer; chunks
 * stored back to back in one pack are one fetch (a ranged read of the run). Memory is at most {@code DEPTH + 1}
 * fetches of {@link #RUN_BYTES} (or one chunk, if larger). At the end, the table's SHA-256 is compared with the
 * manifest's.
 */
final class ContentStream extends InputStream {
    /** Chunks fetched ahead: enough to keep two cores and an object store's latency busy, 8 × 1 MiB on average. */
    static final int DEPTH = 8;
    /** At most this many chunks in one fetch, and this many bytes (stored plus plain): bounds memory at DEPTH runs. */
    static final int RUN_CHUNKS = 256;
    static final int RUN_BYTES = 4 << 20;
    private static final ExecutorService FETCH = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sgbackup-fetch");
        t.setDaemon(true);
        return t;
    });

    private final Repo repo;
    private final TableInput table;
    private final Function<ChunkId, IndexEntry> lookup;
    private final String expectedSha256;
    private final String where;
    /** Fetches in flight, in order: each the bytes of one or more items of the table (see {@link #fill}). */
    private final Deque<Future<List<byte[]>>> ahead = new ArrayDeque<>();
    /** The fetched items not yet read, of the group at the head; the first is {@link #current}. */
    private final Deque<byte[]> group = new ArrayDeque<>();
    private List<ContentTable.Chunk> recordChunks = List.of();
    private int nextChunk;
    private boolean tableDone;
    private byte[] current = new byte[0];
    private int pos;
    private boolean verified;

    ContentStream(Repo repo, TableInput table, Function<ChunkId, IndexEntry> lookup, String expectedSha256, String where) {
        this.repo = repo;
        this.table = table;
        this.lookup = lookup;
        this.expectedSha256 = expectedSha256;
        this.where = where;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (pos == current.length) {
            if (group.isEmpty()) {
                fill();
                Future<List<byte[]>> next = ahead.poll();
                if (next == null) {
                    finish();
                    return -1;
                }
                group.addAll(await(next));
                continue;
            }
            current = group.poll();
            pos = 0;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    /**
     * Queues the next items of the table until {@link #DEPTH} fetches are in flight. Consecutive items whose chunks lie
     * back to back in one pack (a backup packs a directory's small files in walk order) are one fetch, with the inline
     * bytes between them: one ranged read and one hand-over for up to {@link #RUN_CHUNKS} chunks and
     * {@link #RUN_BYTES} bytes, instead of one each.
     */
    private void fill() throws IOException {
        while (!tableDone && ahead.size() < DEPTH) {
            List<Object> items = new ArrayList<>();
            List<IndexEntry> run = new ArrayList<>();
            long end = -1;
            long bytes = 0;
            while (!tableDone) {
                if (nextChunk < recordChunks.size()) {
                    IndexEntry e = entry(recordChunks.get(nextChunk));
                    boolean joins = run.isEmpty() || (e.pack().equals(run.get(0).pack()) && e.offset() == end
                            && bytes + e.rawLength() + e.length() <= RUN_BYTES && run.size() < RUN_CHUNKS);
                    if (!joins) {
                        break;
                    }
                    nextChunk++;
                    run.add(e);
                    items.add(e);
                    end = (long) e.offset() + e.length();
                    bytes += e.rawLength() + e.length();
                    continue;
                }
                if (items.size() >= RUN_CHUNKS) {
                    break;
                }
                ContentTable.Record r = table.next();
                if (r == null) {
                    tableDone = true;
                } else if (r.type() == ContentTable.INLINE) {
                    items.add(r.inline());
                } else {
                    recordChunks = r.chunks();
                    nextChunk = 0;
                }
            }
            if (items.isEmpty()) {
                continue;
            }
            if (run.isEmpty()) {
                List<byte[]> inline = new ArrayList<>(items.size());
                items.forEach(i -> inline.add((byte[]) i));
                ahead.add(CompletableFuture.completedFuture(inline));
            } else {
                ahead.add(FETCH.submit(() -> {
                    List<byte[]> plain = new PackReader(repo).readAll(run);
                    List<byte[]> out = new ArrayList<>(items.size());
                    int k = 0;
                    for (Object i : items) {
                        out.add(i instanceof byte[] b ? b : plain.get(k++));
                    }
                    return out;
                }));
            }
        }
    }

    /** The index entry of a table's chunk, checked against the table. */
    private IndexEntry entry(ContentTable.Chunk c) {
        IndexEntry e = lookup.apply(c.id());
        if (e == null) {
            throw new IntegrityException("chunk " + c.id() + " of " + where + " is not in the index; the repository is"
                    + " missing index objects or packs");
        }
        if (e.rawLength() != c.length()) {
            throw new IntegrityException("chunk " + c.id() + " of " + where + " has " + e.rawLength() + " bytes in the"
                    + " index, its content table says " + c.length() + "; the repository is damaged");
        }
        return e;
    }

    private List<byte[]> await(Future<List<byte[]>> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading " + where);
        } catch (CancellationException e) {
            throw new IOException("reading " + where + " was cancelled", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new UncheckedIOException(new IOException(c));
        }
    }

    private void finish() {
        if (verified) {
            return;
        }
        String actual = table.sha256();
        if (!actual.equals(expectedSha256)) {
            throw new IntegrityException(where + " is damaged: its content table does not match the manifest's SHA-256");
        }
        verified = true;
    }

    @Override
    public void close() {
        for (Future<List<byte[]>> f : ahead) {
            f.cancel(true);
        }
        ahead.clear();
        group.clear();
    }
}
