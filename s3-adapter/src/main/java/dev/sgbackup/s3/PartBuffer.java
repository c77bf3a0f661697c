package dev.sgbackup.s3;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import okio.BufferedSink;

/**
 * The bytes of one part, kept so a failed request can be sent again: in heap chunks while the sink's memory
 * budget allows, the rest in a temp file. Hashes (MD5 for Content-MD5 and the multipart ETag, SHA-256 for
 * the signature) are computed once, by the thread that uploads the part.
 */
final class PartBuffer implements Body {
    static final int CHUNK = 1 << 20;

    /** Heap budget shared by all uploads of one sink, with a free list of chunks. */
    static final class Pool {
        final long budget;
        private final AtomicLong used = new AtomicLong();
        private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();
        final Path tempDir;

        Pool(long budget, Path tempDir) {
            this.budget = budget;
            this.tempDir = tempDir;
        }

        byte[] tryTake() {
            while (true) {
                long u = used.get();
                if (u + CHUNK > budget) {
                    return null;
                }
                if (used.compareAndSet(u, u + CHUNK)) {
                    byte[] b = free.poll();
                    return b != null ? b : new byte[CHUNK];
                }
            }
        }

        void give(byte[] chunk) {
            free.offer(chunk);
            used.addAndGet(-CHUNK);
        }

        long used() {
            return used.get();
        }
    }

    private final Pool pool;
    private final List<byte[]> chunks = new ArrayList<>();
    private int lastFill = CHUNK;
    private Path file;
    private FileChannel channel;
    private long fileBytes;
    private long size;
    private String sha256;
    private byte[] md5;
    private boolean released;

    PartBuffer(Pool pool) {
        this.pool = pool;
    }

    long size() {
        return size;
    }

    boolean spilled() {
        return file != null;
    }

    void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (file == null && lastFill == CHUNK) {
                byte[] c = pool.tryTake();
                if (c == null) {
                    file = Files.createTempFile(pool.tempDir, "sgbackup-s3-part-", ".tmp");
                    channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                } else {
                    chunks.add(c);
                    lastFill = 0;
                }
            }
            if (file != null) {
                ByteBuffer bb = ByteBuffer.wrap(b, off, len);
                while (bb.hasRemaining()) {
                    channel.write(bb, fileBytes + (len - bb.remaining()));
                }
                fileBytes += len;
                size += len;
                return;
            }
            int n = Math.min(len, CHUNK - lastFill);
            System.arraycopy(b, off, chunks.get(chunks.size() - 1), lastFill, n);
            lastFill += n;
            off += n;
            len -= n;
            size += n;
        }
    }

    @Override
    public long length() {
        return size;
    }

    private interface Consumer {
        void accept(byte[] b, int off, int len) throws IOException;
    }

    private void forEach(Consumer c) throws IOException {
        for (int i = 0; i < chunks.size(); i++) {
            int n = i == chunks.size() - 1 ? lastFill : CHUNK;
            c.accept(chunks.get(i), 0, n);
        }
        if (file != null) {
            ByteBuffer bb = ByteBuffer.allocate(256 * 1024);
            long pos = 0;
            while (pos < fileBytes) {
                bb.clear();
                int n = channel.read(bb, pos);
                if (n <= 0) {
                    throw new IOException("temp file " + file + " shorter than written");
                }
                c.accept(bb.array(), 0, n);
                pos += n;
            }
        }
    }

    @Override
    public void writeTo(BufferedSink sink) throws IOException {
        forEach(sink::write);
    }

    /** Computes both digests in one pass. */
    synchronized void hash() throws IOException {
        if (md5 != null) {
            return;
        }
        MessageDigest m = SigV4.md5();
        MessageDigest s = SigV4.sha256();
        forEach((b, off, len) -> {
            m.update(b, off, len);
            s.update(b, off, len);
        });
        md5 = m.digest();
        sha256 = SigV4.hex(s.digest());
    }

    /** MD5 only (HTTPS with UNSIGNED-PAYLOAD needs no SHA-256). */
    synchronized void md5Only() throws IOException {
        if (md5 != null) {
            return;
        }
        MessageDigest m = SigV4.md5();
        forEach(m::update);
        md5 = m.digest();
    }

    @Override
    public synchronized String sha256Hex() throws IOException {
        if (sha256 == null) {
            md5 = null;
            hash();
        }
        return sha256;
    }

    @Override
    public synchronized String md5Base64() throws IOException {
        if (md5 == null) {
            md5Only();
        }
        return Base64.getEncoder().encodeToString(md5);
    }

    synchronized byte[] md5() throws IOException {
        if (md5 == null) {
            md5Only();
        }
        return md5;
    }

    /** Returns the heap chunks to the pool and deletes the temp file. Safe to call twice. */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        for (byte[] c : chunks) {
            pool.give(c);
        }
        chunks.clear();
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // deleting below is what matters
            }
        }
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temp file left in the temp dir; nothing else to do
            }
        }
    }
}
