package dev.sgbackup.store.volume;

import dev.sgbackup.run.CancelledException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands 1 MiB chunks to a thread that writes them to the target. For a backup, the target is the engine's
 * artifact stream (hash, compress, encrypt, upload) and the producer reads files and formats tar: on two
 * cores a backup then takes about as long as the slower of them instead of their sum. Memory is fixed:
 * {@code DEPTH + 2} chunks. {@link #finish()} waits until everything was written and rethrows the writer's
 * failure; the target is never closed here.
 */
final class WriteBehind extends OutputStream {
    private static final int CHUNK = 1 << 20;
    private static final int DEPTH = 4;
    private static final byte[] END = new byte[0];

    private record Chunk(byte[] data, int length) {
    }

    private final OutputStream target;
    private final BlockingQueue<Chunk> full = new ArrayBlockingQueue<>(DEPTH + 3);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(DEPTH + 2);
    private final Thread writer;
    private volatile Throwable failure;
    private byte[] buffer;
    private int pos;
    private boolean finished;

    WriteBehind(OutputStream target, String threadName) {
        this.target = target;
        for (int i = 0; i < DEPTH + 1; i++) {
            free.add(new byte[CHUNK]);
        }
        buffer = new byte[CHUNK];
        writer = new Thread(this::drain, threadName);
        writer.setDaemon(true);
        writer.start();
    }

    private void drain() {
        try {
            while (true) {
                Chunk c = full.take();
                if (c.data() == END) {
                    return;
                }
                target.write(c.data(), 0, c.length());
                free.put(c.data());
            }
        } catch (InterruptedException e) {
            // aborted by the producer
        } catch (Throwable t) {
            failure = t;
            free.offer(new byte[0]); // wake a producer waiting for a buffer; it will see the failure
        }
    }

    @Override
    public void write(int b) throws IOException {
        if (pos == buffer.length) {
            handOff();
        }
        buffer[pos++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (pos == buffer.length) {
                handOff();
            }
            int n = Math.min(len, buffer.length - pos);
            System.arraycopy(b, off, buffer, pos, n);
            pos += n;
            off += n;
            len -= n;
        }
    }

    private void handOff() throws IOException {
        checkFailure();
        try {
            full.put(new Chunk(buffer, pos));
            buffer = free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("backup interrupted", e);
        }
        checkFailure();
        pos = 0;
    }

    private void checkFailure() throws IOException {
        ThreadFailure.rethrow(failure);
    }

    /** Writes what is buffered, waits for the writer thread, and rethrows its failure. */
    void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        try {
            if (pos > 0) {
                checkFailure();
                full.put(new Chunk(buffer, pos));
            }
            full.put(new Chunk(END, 0));
            writer.join();
        } catch (InterruptedException e) {
            abort();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("backup interrupted");
        }
        checkFailure();
    }

    /** Stops the writer thread without writing what is left. */
    void abort() {
        finished = true;
        writer.interrupt();
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void flush() {
        // chunks go out when full; finish() writes the rest
    }

    @Override
    public void close() throws IOException {
        finish();
    }
}
