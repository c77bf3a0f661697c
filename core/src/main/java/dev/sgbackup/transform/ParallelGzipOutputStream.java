package dev.sgbackup.transform;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Compresses fixed-size blocks on a small pool and writes each as its own gzip member, in order. At most
 * {@code 2 × threads} blocks are in flight, so memory is bounded by block size × that number.
 */
final class ParallelGzipOutputStream extends OutputStream {
    private static final ExecutorService POOL = Executors.newCachedThreadPool(new ThreadFactory() {
        private int n;

        @Override
        public synchronized Thread newThread(Runnable r) {
            Thread t = new Thread(r, "sgbackup-gzip-" + (n++));
            t.setDaemon(true);
            return t;
        }
    });

    private final OutputStream out;
    private final int level;
    private final int blockSize;
    private final int maxInFlight;
    private final ArrayDeque<CompletableFuture<byte[]>> inFlight = new ArrayDeque<>();
    private byte[] block;
    private int fill;
    private boolean closed;

    ParallelGzipOutputStream(OutputStream out, int level, int blockSize, int threads) {
        this.out = out;
        this.level = level;
        this.blockSize = blockSize;
        this.maxInFlight = Math.max(1, threads) * 2;
        this.block = new byte[blockSize];
    }

    @Override
    public void write(int b) throws IOException {
        if (fill == blockSize) {
            submit();
        }
        block[fill++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (fill == blockSize) {
                submit();
            }
            int n = Math.min(len, blockSize - fill);
            System.arraycopy(b, off, block, fill, n);
            fill += n;
            off += n;
            len -= n;
        }
    }

    private void submit() throws IOException {
        if (fill == 0) {
            return;
        }
        byte[] data = block;
        int len = fill;
        inFlight.add(CompletableFuture.supplyAsync(() -> member(data, len, level), POOL));
        block = new byte[blockSize];
        fill = 0;
        while (inFlight.size() >= maxInFlight) {
            drainOne();
        }
    }

    private void drainOne() throws IOException {
        CompletableFuture<byte[]> f = inFlight.poll();
        try {
            out.write(f.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("gzip compression interrupted");
        } catch (ExecutionException e) {
            throw new IOException("gzip compression failed: " + e.getCause(), e.getCause());
        }
    }

    /** One complete gzip member (header, deflate data, CRC32, ISIZE) for {@code len} bytes. */
    static byte[] member(byte[] data, int len, int level) {
        Deflater d = new Deflater(level, true);
        try {
            d.setInput(data, 0, len);
            d.finish();
            byte[] buf = new byte[len + len / 1000 + 64 + 18];
            // header: magic, CM=8, no flags, mtime 0, XFL, OS=255 (unknown)
            buf[0] = 0x1f;
            buf[1] = (byte) 0x8b;
            buf[2] = 8;
            buf[9] = (byte) 0xff;
            int pos = 10;
            while (!d.finished()) {
                if (pos == buf.length - 8) {
                    buf = java.util.Arrays.copyOf(buf, buf.length * 2);
                }
                pos += d.deflate(buf, pos, buf.length - 8 - pos);
            }
            CRC32 crc = new CRC32();
            crc.update(data, 0, len);
            long c = crc.getValue();
            for (int i = 0; i < 4; i++) {
                buf[pos++] = (byte) (c >>> (8 * i));
            }
            for (int i = 0; i < 4; i++) {
                buf[pos++] = (byte) (len >>> (8 * i));
            }
            return java.util.Arrays.copyOf(buf, pos);
        } finally {
            d.end();
        }
    }

    @Override
    public void flush() throws IOException {
        // gzip members are only written whole; flushing mid-block would cut small members needlessly
        out.flush();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (fill > 0 || inFlight.isEmpty()) {
                // an empty input still becomes one valid (empty) gzip member
                byte[] data = block;
                int len = fill;
                inFlight.add(CompletableFuture.supplyAsync(() -> member(data, len, level), POOL));
                fill = 0;
            }
            while (!inFlight.isEmpty()) {
                drainOne();
            }
        } finally {
            inFlight.forEach(f -> f.cancel(true));
            out.close();
        }
    }
}
