package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
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
 * {@link #DEPTH} ahead on a shared pool, so reading a pack's ranges and decoding overlap with the consumer; memory is
 * at most {@code DEPTH + 1} chunks. At the end, the table's SHA-256 is compared with the manifest's.
 */
final class ContentStream extends InputStream {
    /** Chunks fetched ahead: enough to keep two cores and an object store's latency busy, 8 × 1 MiB on average. */
    static final int DEPTH = 8;
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
    private final Deque<Future<byte[]>> ahead = new ArrayDeque<>();
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
            fill();
            Future<byte[]> next = ahead.poll();
            if (next == null) {
                finish();
                return -1;
            }
            current = await(next);
            pos = 0;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    /** Queues the next items of the table until {@link #DEPTH} chunks are in flight (inline bytes cost nothing). */
    private void fill() throws IOException {
        while (!tableDone && ahead.size() < DEPTH) {
            if (nextChunk < recordChunks.size()) {
                ContentTable.Chunk c = recordChunks.get(nextChunk++);
                IndexEntry e = lookup.apply(c.id());
                if (e == null) {
                    throw new IntegrityException("chunk " + c.id() + " of " + where + " is not in the index; the repository is"
                            + " missing index objects or packs");
                }
                if (e.rawLength() != c.length()) {
                    throw new IntegrityException("chunk " + c.id() + " of " + where + " has " + e.rawLength() + " bytes in the"
                            + " index, its content table says " + c.length() + "; the repository is damaged");
                }
                ahead.add(FETCH.submit(() -> new PackReader(repo).read(e)));
                continue;
            }
            ContentTable.Record r = table.next();
            if (r == null) {
                tableDone = true;
            } else if (r.type() == ContentTable.INLINE) {
                ahead.add(CompletableFuture.completedFuture(r.inline()));
            } else {
                recordChunks = r.chunks();
                nextChunk = 0;
            }
        }
    }

    private byte[] await(Future<byte[]> f) throws IOException {
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
        for (Future<byte[]> f : ahead) {
            f.cancel(true);
        }
        ahead.clear();
    }
}
