package dev.sgbackup.store.volume;

import dev.sgbackup.run.CancelledException;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Reads a source stream on its own thread, a few 1 MiB chunks ahead of the consumer. For a restore, the
 * source is the engine's stream (read from the sink, decrypt, decompress, hash) and the consumer writes
 * files: with the two on different cores, a restore takes about as long as the slower of them instead of
 * their sum. Memory is fixed: {@code DEPTH + 2} chunks.
 *
 * <p>Whatever the source throws (an {@code IntegrityException} at its end, an {@code IOException}) is
 * rethrown to the consumer at the same point of the stream, so "read to the end before trusting the bytes"
 * still holds.
 */
final class ReadAhead extends InputStream {
    private static final int CHUNK = 1 << 20;
    private static final int DEPTH = 4;

    private record Chunk(byte[] data, int length, Throwable failure) {
        boolean end() {
            return data == null;
        }
    }

    private final InputStream source;
    private final BlockingQueue<Chunk> full = new ArrayBlockingQueue<>(DEPTH + 3);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(DEPTH + 2);
    private final Thread reader;
    private volatile boolean closed;
    private Chunk current;
    private int pos;

    ReadAhead(InputStream source, String threadName) {
        this.source = source;
        for (int i = 0; i < DEPTH + 2; i++) {
            free.add(new byte[CHUNK]);
        }
        reader = new Thread(this::fill, threadName);
        reader.setDaemon(true);
        reader.start();
    }

    private void fill() {
        try {
            while (!closed) {
                byte[] b = free.take();
                int n = source.readNBytes(b, 0, b.length);
                if (n > 0) {
                    full.put(new Chunk(b, n, null));
                }
                if (n < b.length) {
                    full.put(new Chunk(null, 0, null));
                    return;
                }
            }
        } catch (InterruptedException e) {
            // closed by the consumer
        } catch (Throwable t) {
            full.offer(new Chunk(null, 0, t)); // never blocks: at most DEPTH + 2 data chunks exist
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (current != null && current.failure() != null) {
            ThreadFailure.rethrow(current.failure());
        }
        if (current == null || (!current.end() && pos == current.length())) {
            next();
        }
        if (current.end()) {
            return -1;
        }
        int n = Math.min(len, current.length() - pos);
        System.arraycopy(current.data(), pos, b, off, n);
        pos += n;
        return n;
    }

    private void next() throws IOException {
        if (current != null && current.data() != null) {
            free.add(current.data());
        }
        try {
            current = full.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("restore interrupted", e);
        }
        pos = 0;
        if (current.failure() != null) {
            ThreadFailure.rethrow(current.failure()); // and again on every later read
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        reader.interrupt();
        try {
            source.close();
        } finally {
            try {
                reader.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
