package dev.sgbackup.store.postgres;

import dev.sgbackup.run.CancelledException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads its source on a thread of its own, a few chunks ahead (bounded memory), so that decoding an artifact
 * (decryption, decompression, hashing) overlaps with sending it to the server. An exception of the source —
 * e.g. the {@link dev.sgbackup.run.IntegrityException} a damaged artifact throws at its end — is thrown by
 * {@link #read} in the caller's thread at the same position, before the end of the stream is reported.
 */
final class PrefetchInputStream extends InputStream {
    private static final byte[] END = new byte[0];

    private final BlockingQueue<byte[]> queue;
    private final Thread reader;
    private volatile Throwable failure;
    private volatile boolean closed;
    private byte[] current = new byte[0];
    private int pos;
    private boolean ended;

    PrefetchInputStream(InputStream source, int chunkSize, int chunks) {
        this.queue = new ArrayBlockingQueue<>(chunks);
        this.reader = new Thread(() -> {
            try (InputStream in = source) {
                while (!closed) {
                    byte[] buf = new byte[chunkSize];
                    int n = in.readNBytes(buf, 0, chunkSize);
                    if (n > 0) {
                        put(n == chunkSize ? buf : Arrays.copyOf(buf, n));
                    }
                    if (n < chunkSize) {
                        break;
                    }
                }
            } catch (Throwable t) {
                failure = t;
            }
            try {
                put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sgbackup-pg-prefetch");
        reader.setDaemon(true);
        reader.start();
    }

    private void put(byte[] b) throws InterruptedException {
        while (!closed) {
            if (queue.offer(b, 100, TimeUnit.MILLISECONDS)) {
                return;
            }
        }
    }

    private boolean fill() throws IOException {
        while (pos >= current.length) {
            if (ended) {
                return false;
            }
            try {
                current = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading an artifact");
            }
            pos = 0;
            if (current == END) {
                ended = true;
                Throwable f = failure;
                if (f instanceof IOException io) {
                    throw io;
                }
                if (f instanceof RuntimeException re) {
                    throw re;
                }
                if (f instanceof Error err) {
                    throw err;
                }
                if (f != null) {
                    throw new CancelledException("artifact reader stopped: " + f);
                }
                return false;
            }
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        if (!fill()) {
            return -1;
        }
        return current[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public void close() {
        closed = true;
        queue.clear();
        reader.interrupt();
        try {
            reader.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
