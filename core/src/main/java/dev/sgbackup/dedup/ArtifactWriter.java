package dev.sgbackup.dedup;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.BackupOutput.FileStamp;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes one artifact of a deduplicated backup: its bytes are cut into chunks (new ones go to the store's packs), and
 * its {@link ContentTable} records which chunks, in which order, make it up. Where the store marks files
 * ({@link #beginFile}), each file's content is chunked on its own and, if the parent backup holds the same path with
 * the same stamp, the parent's chunks are taken without the file being read; the bytes between contents go into the
 * table itself. {@link #close()} cuts the table into chunks and writes the tree object that lists them.
 *
 * <p>Memory: the content chunker's buffer ({@code max} bytes), the table chunker's, up to
 * {@link ContentTable#MAX_INLINE} bytes between contents, and the chunk list of the file being written (36 bytes
 * per chunk). Not thread-safe: one writer thread per artifact.
 */
final class ArtifactWriter extends OutputStream {
    private enum State { OUTSIDE, CONTENT, DISCARD, VERIFY }

    /** A file this large that must be read starts the JIT warm-up ({@link Crypto#warmUp}). */
    static final long WARM_UP_FILE = 16 << 20;

    private final Repo repo;
    private final ChunkWriter chunks;
    private final String backupId;
    private final FastCdc.Splitter content;
    private final FastCdc.Splitter table;
    private final MessageDigest tableDigest = Crypto.sha256();
    private final ByteArrayOutputStream record = new ByteArrayOutputStream();
    private final DataOutputStream recordOut = new DataOutputStream(record);
    private final List<ChunkId> tableIds = new ArrayList<>();
    private final ParentTable parent;
    private final List<ContentTable.Chunk> pending = new ArrayList<>();
    private final int maxChunk;
    /**
     * VERIFY: the parent's chunks of the file being read (a file whose stamp changed), all but its last, which was cut
     * where the file ended; {@link #verifyBuf} collects the bytes of the next one.
     */
    private List<ContentTable.Chunk> expected = List.of();
    private int expectedNext;
    private byte[] verifyBuf = new byte[0];
    private int verifyFilled;
    private long chunksVerified;
    private final byte[] inline = new byte[ContentTable.MAX_INLINE];
    private int inlineLength;
    private boolean streaming; // bytes outside contents overflowed the inline buffer and go to the chunker
    private State state = State.OUTSIDE;
    private String lastDirectory;
    private Entry entry;
    private long size;
    private long chunkCount;
    private long newBytes;
    private long reusedBytes;
    private long filesReused;
    private boolean closed;
    private String treeKey;
    private long treeSize;
    private String treeSha256;
    private String sha256;

    /** @param parent the same artifact's table in the parent backup, or null */
    ArtifactWriter(Repo repo, ChunkWriter chunks, ChunkParams params, String backupId, ParentTable parent) {
        this.repo = repo;
        this.chunks = chunks;
        this.backupId = backupId;
        this.parent = parent;
        this.maxChunk = params.max();
        this.content = repo.keys().chunker(params).splitter((offset, buf, off, len) -> {
            ChunkId id = repo.keys().id(buf, off, len);
            account(chunks.store(id, buf, off, len), len);
            pending.add(new ContentTable.Chunk(id, len));
            chunkCount++;
            if (state == State.OUTSIDE && pending.size() >= ContentTable.MAX_SEGMENT_CHUNKS) {
                emit(ContentTable.Record.segment(pending));
                pending.clear();
            }
        });
        this.table = repo.keys().chunker(ContentTable.PARAMS).splitter((offset, buf, off, len) -> {
            ChunkId id = repo.keys().id(buf, off, len);
            if (chunks.store(id, buf, off, len)) {
                newBytes += len; // the table's own chunks count when new; their bytes are not the artifact's
            }
            tableIds.add(id);
        });
    }

    private void account(boolean isNew, long len) {
        if (isNew) {
            newBytes += len;
        } else {
            reusedBytes += len;
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[]{(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("artifact closed");
        }
        size += len;
        switch (state) {
            case CONTENT -> content.write(b, off, len);
            case VERIFY -> verify(b, off, len);
            case DISCARD -> {
                entry.discarded += len;
                if (entry.discarded > entry.reused.length()) {
                    throw new StoreException("file " + entry.path + ": the store wrote more than the " + entry.reused.length()
                            + " bytes of content the parent backup has for it; this is a bug in the store");
                }
            }
            case OUTSIDE -> {
                if (!streaming && inlineLength + len <= inline.length) {
                    System.arraycopy(b, off, inline, inlineLength, len);
                    inlineLength += len;
                    return;
                }
                if (!streaming) {
                    streaming = true;
                    content.write(inline, 0, inlineLength);
                    inlineLength = 0;
                }
                content.write(b, off, len);
            }
        }
    }

    /**
     * Content of a changed file, checked against the parent's chunks of the same file before any chunking: while the
     * file's bytes are those of the parent's next chunk (the same length, the same id), that chunk is the file's next
     * one, as FastCDC would cut it: a cut depends only on the bytes from the chunk's start up to the cut, and only the
     * parent's last chunk was cut where its file ended. A file that grew at its end (a log, a database file) is thus
     * hashed up to its old end, not chunked again. From the first chunk that differs, the bytes go to the chunker.
     */
    private void verify(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (state != State.VERIFY) {
                content.write(b, off, len);
                return;
            }
            ContentTable.Chunk c = expected.get(expectedNext);
            int n = Math.min(len, c.length() - verifyFilled);
            System.arraycopy(b, off, verifyBuf, verifyFilled, n);
            verifyFilled += n;
            off += n;
            len -= n;
            if (verifyFilled == c.length()) {
                ChunkId id = repo.keys().id(verifyBuf, 0, verifyFilled);
                if (id.equals(c.id())) {
                    account(chunks.store(id, verifyBuf, 0, verifyFilled), verifyFilled);
                    pending.add(c);
                    chunkCount++;
                    chunksVerified++;
                    verifyFilled = 0;
                    if (++expectedNext == expected.size()) {
                        state = State.CONTENT;
                    }
                } else {
                    endVerify();
                }
            }
        }
    }

    /** Leaves VERIFY: the bytes collected for the parent's next chunk go to the chunker, which takes over from there. */
    private void endVerify() throws IOException {
        state = State.CONTENT;
        content.write(verifyBuf, 0, verifyFilled);
        verifyFilled = 0;
    }

    /** Ends the bytes outside contents written since the last mark: as an INLINE record, or as chunks. */
    private void flushOutside() throws IOException {
        if (streaming) {
            content.cut();
            if (!pending.isEmpty()) {
                emit(ContentTable.Record.segment(pending));
                pending.clear();
            }
            streaming = false;
        } else if (inlineLength > 0) {
            emit(ContentTable.Record.inline(Arrays.copyOf(inline, inlineLength)));
            inlineLength = 0;
        }
    }

    private void emit(ContentTable.Record r) throws IOException {
        record.reset();
        ContentTable.write(recordOut, r);
        byte[] bytes = record.toByteArray();
        tableDigest.update(bytes);
        table.write(bytes);
    }

    /** See {@link BackupOutput.ArtifactStream#beginFile}. */
    BackupOutput.FileEntry beginFile(String path, FileStamp stamp) throws IOException {
        if (state != State.OUTSIDE || entry != null) {
            throw new IllegalStateException("beginFile(" + path + ") inside the entry of " + (entry == null ? "?" : entry.path)
                    + "; end() it first");
        }
        String dir = ContentTable.directory(path);
        if (!dir.equals(lastDirectory)) {
            // a directory's records start a table chunk: unchanged directories give the parent's table chunks
            table.cut();
            lastDirectory = dir;
        }
        flushOutside();
        ContentTable.Record before = parent == null ? null : parent.find(path);
        boolean reuse = before != null && before.stamp().equals(stamp) && chunks.containsAll(before.chunks());
        if (!reuse && stamp != null && stamp.size() >= WARM_UP_FILE) {
            // a large file read again (a log grown, an image replaced) is chunked and hashed on cold code: warm it now
            // (once per JVM), as a run without a parent does from its start
            Crypto.warmUp();
        }
        entry = new Entry(path, racy(stamp) ? unmatchable(stamp) : stamp, reuse ? before : null, reuse ? null : before);
        return entry;
    }

    /**
     * Whether the file changed so shortly before now that a later change could leave the same stamp: file systems
     * stamp times from a coarse clock (a few milliseconds; 1–2 s on some), so a write right after this read can keep
     * mtime and ctime as they are now ("racy git"). Such a file is recorded with a stamp no file has, so the next
     * backup reads it again.
     */
    private static boolean racy(FileStamp stamp) {
        long now = System.currentTimeMillis() * 1_000_000L;
        return now - Math.max(stamp.modifiedNanos(), stamp.changedNanos()) < RACY_NANOS;
    }

    private static FileStamp unmatchable(FileStamp s) {
        return new FileStamp(s.size(), s.modifiedNanos(), -1, s.inode());
    }

    /** How recent a change makes a file racy: above the coarsest common file-system timestamp granularity (2 s, FAT). */
    static final long RACY_NANOS = 3_000_000_000L;

    private final class Entry implements BackupOutput.FileEntry {
        final String path;
        final FileStamp stamp;
        final ContentTable.Record reused;
        /** The parent's record of a file whose stamp changed: its chunks are checked first ({@link #verify}). */
        final ContentTable.Record earlier;
        long discarded;
        boolean inContent;

        Entry(String path, FileStamp stamp, ContentTable.Record reused, ContentTable.Record earlier) {
            this.path = path;
            this.stamp = stamp;
            this.reused = reused;
            this.earlier = earlier;
        }

        @Override
        public boolean reused() {
            return reused != null;
        }

        @Override
        public void content() throws IOException {
            check();
            if (inContent) {
                throw new IllegalStateException("content() twice for " + path);
            }
            inContent = true;
            flushOutside(); // the entry's header, inline
            state = reused != null ? State.DISCARD : State.CONTENT;
            if (earlier != null && earlier.chunks().size() > 1) {
                // all but the last chunk, the one cut where the file ended; each no longer than this chunker cuts
                expected = earlier.chunks().subList(0, earlier.chunks().size() - 1);
                if (expected.stream().allMatch(c -> c.length() <= maxChunk)) {
                    if (verifyBuf.length < maxChunk) {
                        verifyBuf = new byte[maxChunk];
                    }
                    expectedNext = 0;
                    verifyFilled = 0;
                    state = State.VERIFY;
                }
            }
        }

        @Override
        public void end() throws IOException {
            check();
            entry = null;
            if (!inContent) {
                return; // nothing of the file was written (it vanished): what was written stays outside bytes
            }
            ContentTable.Record r;
            if (state == State.DISCARD) {
                if (discarded == 0) {
                    size += reused.length(); // the store wrote no filler: the parent's bytes stand in all the same
                } else if (discarded != reused.length()) {
                    throw new StoreException("file " + path + ": the store wrote " + discarded + " bytes for content the parent"
                            + " backup has as " + reused.length() + "; this is a bug in the store (run with --force-read to"
                            + " read every file)");
                }
                discarded = reused.length();
                r = ContentTable.Record.file(path, stamp, reused.chunks());
                reusedBytes += discarded;
                chunkCount += reused.chunks().size();
                filesReused++;
            } else {
                if (state == State.VERIFY) {
                    endVerify(); // the file ended inside one of the parent's chunks
                }
                content.cut();
                r = ContentTable.Record.file(path, stamp, pending);
                pending.clear();
            }
            state = State.OUTSIDE;
            emit(r);
        }

        private void check() {
            if (entry != this) {
                throw new IllegalStateException("the entry of " + path + " has ended");
            }
        }
    }

    /** Cuts the last chunks, cuts the table into chunks and writes the tree object. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        if (entry != null) {
            throw new IllegalStateException("artifact closed inside the entry of " + entry.path);
        }
        closed = true;
        flushOutside();
        content.close();
        table.close();
        sha256 = Crypto.hex(tableDigest.digest());
        byte[] tree = TreeObject.encode(backupId, tableIds, repo.keys());
        treeSha256 = Crypto.hex(Crypto.sha256().digest(tree));
        String key = repo.layout().tree(treeSha256);
        try (var o = repo.sink().create(key, tree.length)) {
            o.stream().write(tree);
            o.commit();
        }
        treeSize = tree.length;
        treeKey = key;
    }

    String treeKey() {
        return treeKey;
    }

    long treeSize() {
        return treeSize;
    }

    String treeSha256() {
        return treeSha256;
    }

    /** Hex SHA-256 of the content table's bytes: what the manifest records as the artifact's {@code sha256}. */
    String sha256() {
        return sha256;
    }

    long size() {
        return size;
    }

    long chunks() {
        return chunkCount;
    }

    long newBytes() {
        return newBytes;
    }

    long reusedBytes() {
        return reusedBytes;
    }

    long filesReused() {
        return filesReused;
    }

    /** Content chunks of changed files found equal to the parent's, by hash, without being chunked ({@link #verify}). */
    long chunksVerified() {
        return chunksVerified;
    }
}
