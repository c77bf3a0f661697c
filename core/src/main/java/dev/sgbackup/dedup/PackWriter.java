package dev.sgbackup.dedup;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.transform.Compression;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Packs blobs into packs of about {@code targetSize} bytes and uploads each as one object named by the SHA-256
 * of its bytes. The name is known only once the pack is complete, so a pack is spooled to a temp file first
 * (restic does the same): memory stays one I/O buffer and one compressed chunk, whatever the pack size.
 *
 * <p>A pack's entries reach {@code onPack} only after the pack object is committed, so an index written from
 * them never points at a pack that is not there. Not thread-safe: use one writer per thread.
 */
final class PackWriter implements Closeable {
    /** Told about every committed pack, with its entries. */
    @FunctionalInterface
    interface PackListener {
        void committed(String pack, long size, List<IndexEntry> entries) throws IOException;
    }

    private final BackupSink sink;
    private final Layout layout;
    private final RepoKeys keys;
    private final BlobCodec codec;
    private final long targetSize;
    private final Path tmpDir;
    private final PackListener listener;

    private Path tmp;
    private MessageDigest digest;
    private OutputStream out;
    private long size;
    private final List<IndexEntry> entries = new ArrayList<>();
    private long packsWritten;
    private long bytesWritten;

    /**
     * @param targetSize a pack is closed when it reaches this many bytes (e.g. 16 MiB)
     * @param tmpDir     where packs are spooled before upload
     */
    PackWriter(Repo repo, Compression compression, long targetSize, Path tmpDir, PackListener listener) {
        if (targetSize < 1) {
            throw new IllegalArgumentException("pack target size must be positive");
        }
        this.sink = repo.sink();
        this.layout = repo.layout();
        this.keys = repo.keys();
        this.codec = new BlobCodec(keys, compression);
        this.targetSize = targetSize;
        this.tmpDir = tmpDir;
        this.listener = listener;
    }

    /** Adds chunk {@code id} with plaintext {@code buf[off, off + len)}; uploads the pack when it is full. */
    void add(ChunkId id, byte[] buf, int off, int len) throws IOException {
        BlobCodec.Blob blob = codec.encode(id, buf, off, len);
        append(id, blob, len);
    }

    /**
     * Adds a blob as stored in another pack ({@code e} locates it there), without decoding it: a blob's associated
     * data binds its flags and chunk id, not its pack or offset, so its bytes are valid in any pack. For repacking.
     */
    void addStored(IndexEntry e, byte[] stored) throws IOException {
        append(e.id(), new BlobCodec.Blob(e.flags(), stored, 0, stored.length), e.rawLength());
    }

    /** Adds chunk {@code id} already encoded (by a codec of the same repository), of {@code rawLength} plain bytes. */
    void addEncoded(ChunkId id, BlobCodec.Blob blob, int rawLength) throws IOException {
        append(id, blob, rawLength);
    }

    private void append(ChunkId id, BlobCodec.Blob blob, int len) throws IOException {
        if (out == null) {
            // created as a sink's own objects are (the umask's permissions, not a temp file's 0600): a local sink may
            // adopt it as the pack itself
            tmp = tmpDir.resolve("sgbackup-pack-" + java.util.UUID.randomUUID() + ".tmp");
            Files.newOutputStream(tmp, java.nio.file.StandardOpenOption.CREATE_NEW).close();
            digest = Crypto.sha256();
            out = new BufferedOutputStream(new DigestOutputStream(Files.newOutputStream(tmp), digest), 1 << 16);
            size = 0;
        }
        if (size + blob.length() > Integer.MAX_VALUE) {
            throw new IOException("a pack cannot exceed 2 GiB; use a smaller pack target size");
        }
        out.write(blob.bytes(), blob.off(), blob.length());
        entries.add(new IndexEntry(id, null, (int) size, blob.length(), len, blob.flags()));
        size += blob.length();
        if (size >= targetSize) {
            flush();
        }
    }

    /** Bytes in the pack being filled (0 when none). */
    long pendingBytes() {
        return size;
    }

    /** Uploads the pack being filled, if any. */
    void flush() throws IOException {
        if (out == null) {
            return;
        }
        try {
            byte[] header = PackFormat.header(entries, keys);
            out.write(header);
            out.write(PackFormat.trailer(header.length));
            out.close();
            out = null;
            long total = size + header.length + PackFormat.TRAILER_BYTES;
            String name = Crypto.hex(digest.digest());
            if (!sink.adopt(layout.pack(name), tmp)) { // a local sink on this file system takes the file as it is
                try (PendingObject o = sink.create(layout.pack(name), total)) {
                    Files.copy(tmp, o.stream());
                    o.commit();
                }
            }
            List<IndexEntry> done = new ArrayList<>(entries.size());
            for (IndexEntry e : entries) {
                done.add(new IndexEntry(e.id(), name, e.offset(), e.length(), e.rawLength(), e.flags()));
            }
            entries.clear();
            size = 0;
            packsWritten++;
            bytesWritten += total;
            listener.committed(name, total, done);
        } finally {
            discard();
        }
    }

    long packsWritten() {
        return packsWritten;
    }

    long bytesWritten() {
        return bytesWritten;
    }

    private void discard() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
        entries.clear();
        size = 0;
        if (tmp != null) {
            Files.deleteIfExists(tmp);
            tmp = null;
        }
    }

    /** Uploads the last pack. To abandon a pack instead (on failure), use {@link #abort()}. */
    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            codec.close();
        }
    }

    /** Drops the pack being filled without uploading it. */
    void abort() throws IOException {
        try {
            discard();
        } finally {
            codec.close();
        }
    }
}
