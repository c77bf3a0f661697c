package dev.sgbackup.dedup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
 * Approach for Data Deduplication", USENIX ATC 2016): a gear rolling hash {@code fp = (fp << 1) + gear[b]},
 * cut-point skipping (no boundary before {@code min} bytes), and normalized chunking with two masks — a harder
 * one ({@code log2(avg) + level} bits) before {@code avg} bytes and an easier one ({@code log2(avg) - level}
 * bits) after it — and a forced cut at {@code max}. The masks test the top bits of the 64-bit hash, which depend
 * on the last 64 bytes (the sliding window of the gear hash).
 *
 * <p>Streaming with bounded memory: one {@code max}-byte buffer, whatever the input size. Boundaries depend only
 * on the bytes, the parameters and the gear table, so they are the same across runs and JVMs.
 *
 * <p>The gear table is 256 64-bit values expanded from a 32-byte seed with HMAC-SHA256 in counter mode
 * ({@link #gear(byte[])}). Unencrypted repositories use {@link #DEFAULT_SEED}; encrypted ones a seed derived
 * from the repository key, so chunk boundaries (and thus chunk sizes, visible on the sink) do not fingerprint
 * content for anyone without the key — restic and borg key their chunkers the same way.
 *
 * <p>Written here rather than taken from Maven Central: the two Java ports there (FastCDC4J,
 * fastcdc-java) are one-person projects without recent releases, and neither takes a keyed gear table.
 */
final class FastCdc {
    /** The seed of the public gear table (unencrypted repositories): fixed, so the table is the same everywhere. */
    static final byte[] DEFAULT_SEED = "sgbackup/fastcdc/gear/v1".getBytes(StandardCharsets.US_ASCII);

    /** Receives chunks; {@code buf[off, off + len)} is only valid during the call. */
    @FunctionalInterface
    interface ChunkConsumer {
        void accept(long offset, byte[] buf, int off, int len) throws IOException;
    }

    private final int min;
    private final int avg;
    private final int max;
    private final long maskS;
    private final long maskL;
    private final long[] gear;
    /** The one buffer, kept across streams: chunking many small files must not allocate max bytes each. */
    private byte[] buf;

    /** A chunker with sizes {@code p} (its level is the paper's normalization level: masks of log2(avg) ± level bits). */
    FastCdc(ChunkParams p, long[] gear) {
        int bits = Integer.numberOfTrailingZeros(p.avg());
        if (p.level() < 0 || bits - p.level() < 1 || bits + p.level() > 63 || p.max() > (1 << 30)) {
            throw new IllegalArgumentException("chunk parameters " + p + " are out of range");
        }
        if (gear.length != 256) {
            throw new IllegalArgumentException("a gear table has 256 entries");
        }
        this.min = p.min();
        this.avg = p.avg();
        this.max = p.max();
        this.maskS = topBits(bits + p.level());
        this.maskL = topBits(bits - p.level());
        this.gear = gear.clone();
    }

    private static long topBits(int n) {
        return -1L << (64 - n);
    }

    /** The gear table expanded from {@code seed}: entry i is bytes 8(i mod 4).. of HMAC-SHA256(seed, label ‖ i / 4). */
    static long[] gear(byte[] seed) {
        long[] g = new long[256];
        for (int block = 0; block < 64; block++) {
            byte[] h = Crypto.hmac(seed, "sgbackup/fastcdc/gear/v1".getBytes(StandardCharsets.US_ASCII),
                    new byte[]{(byte) block});
            ByteBuffer bb = ByteBuffer.wrap(h);
            for (int j = 0; j < 4; j++) {
                g[block * 4 + j] = bb.getLong();
            }
        }
        return g;
    }

    /** The public gear table (unencrypted repositories). */
    static long[] defaultGear() {
        return gear(DEFAULT_SEED);
    }

    /**
     * Cuts {@code in} into chunks and hands each to {@code out} in order; returns the number of bytes read. An
     * empty stream gives no chunk. Does not close {@code in}. Not thread-safe: one buffer per chunker.
     */
    long chunk(InputStream in, ChunkConsumer out) throws IOException {
        if (buf == null) {
            buf = new byte[max];
        }
        byte[] buf = this.buf;
        int filled = 0;
        long offset = 0;
        boolean eof = false;
        while (true) {
            if (!eof && filled < max) {
                int n = in.readNBytes(buf, filled, max - filled);
                filled += n;
                eof = filled < max;
            }
            if (filled == 0) {
                return offset;
            }
            int cut = cutPoint(buf, filled);
            out.accept(offset, buf, 0, cut);
            offset += cut;
            System.arraycopy(buf, cut, buf, 0, filled - cut);
            filled -= cut;
        }
    }

    /**
     * The push side of {@link #chunk}: an output stream that cuts what is written to it into the same chunks
     * {@link #chunk} would cut from the same bytes, handing each to {@code out}; {@link Splitter#cut()} forces a
     * boundary (a file's end), {@link OutputStream#close()} cuts the rest. For writers that push bytes (a store
     * writing an artifact). Holds its own {@code max}-byte buffer.
     */
    Splitter splitter(ChunkConsumer out) {
        return new Splitter(out);
    }

    /** See {@link #splitter}. Not thread-safe. */
    final class Splitter extends OutputStream {
        private final ChunkConsumer out;
        private final byte[] buf = new byte[max];
        private int filled;
        private long offset;
        private boolean closed;

        private Splitter(ChunkConsumer out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("stream closed");
            }
            while (len > 0) {
                int n = Math.min(len, max - filled);
                System.arraycopy(b, off, buf, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == max) {
                    cutOne(max);
                }
            }
        }

        private void cutOne(int n) throws IOException {
            int cut = cutPoint(buf, n);
            out.accept(offset, buf, 0, cut);
            offset += cut;
            System.arraycopy(buf, cut, buf, 0, filled - cut);
            filled -= cut;
        }

        /**
         * Ends the current chunk here: what is buffered is cut into chunks as if the input ended, and the next byte
         * starts a new chunk. Chunks after a cut are those {@link #chunk} cuts from the bytes after it alone.
         */
        void cut() throws IOException {
            while (filled > 0) {
                cutOne(filled);
            }
        }

        /** Bytes written so far. */
        long position() {
            return offset + filled;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            cut();
        }
    }

    /** The length of the next chunk at the start of {@code buf[0, n)} (n is max, or less at the end of input). */
    int cutPoint(byte[] buf, int n) {
        if (n <= min) {
            return n;
        }
        int normal = Math.min(avg, n);
        int end = Math.min(max, n);
        long fp = 0;
        long[] g = gear;
        int i = min;
        for (; i < normal; i++) {
            fp = (fp << 1) + g[buf[i] & 0xff];
            if ((fp & maskS) == 0) {
                return i + 1;
            }
        }
        for (; i < end; i++) {
            fp = (fp << 1) + g[buf[i] & 0xff];
            if ((fp & maskL) == 0) {
                return i + 1;
            }
        }
        return end;
    }

    @Override
    public String toString() {
        return "FastCdc[min " + min + ", avg " + avg + ", max " + max + "]";
    }
}
