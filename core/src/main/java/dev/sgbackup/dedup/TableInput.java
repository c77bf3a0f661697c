package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/**
 * Reads an artifact's content table back, record by record, from the table's chunks (listed by its tree object),
 * a batch of chunks in memory at a time, and computes the SHA-256 of the table's bytes on the way (the artifact's
 * recorded {@code sha256}).
 */
final class TableInput {
    private final DataInputStream in;
    private final ChunkBytes bytes;
    private final String where;

    /**
     * @param lookup where each table chunk is (the store's index); a chunk it does not know fails as damage
     * @param where  names the artifact in errors
     */
    TableInput(Repo repo, Function<ChunkId, IndexEntry> lookup, List<ChunkId> tableIds, String where) {
        this(repo, lookup, tableIds, where, false);
    }

    /**
     * @param digest whether to compute the SHA-256 of the table's bytes ({@link #sha256()}); each chunk is checked
     *               against its id either way, so only a reader that compares the whole table with the manifest's
     *               {@code sha256} (a restore) needs it
     */
    TableInput(Repo repo, Function<ChunkId, IndexEntry> lookup, List<ChunkId> tableIds, String where, boolean digest) {
        this.bytes = new ChunkBytes(new PackReader(repo), lookup, tableIds.iterator(), where, digest ? Crypto.sha256() : null);
        this.in = new DataInputStream(bytes);
        this.where = where;
    }

    /** The next record, or null after the last. */
    ContentTable.Record next() throws IOException {
        return ContentTable.read(in, where);
    }

    /** Told about each content chunk the table names. */
    @FunctionalInterface
    interface ChunkVisitor {
        void visit(ContentTable.Chunk chunk) throws IOException;
    }

    /** Every content chunk the remaining records name, in order, one record in memory at a time. */
    void forEachChunk(ChunkVisitor visitor) throws IOException {
        for (ContentTable.Record r; (r = next()) != null; ) {
            for (ContentTable.Chunk c : r.chunks()) {
                visitor.visit(c);
            }
        }
    }

    /**
     * Hex SHA-256 of the table bytes read so far (of the whole table once {@link #next()} returned null); only if
     * made with {@code digest}.
     */
    String sha256() {
        if (bytes.md == null) {
            throw new IllegalStateException("this table input computes no SHA-256");
        }
        return Crypto.hex(bytes.md.digest());
    }

    /** A content-table chunk the index does not know. */
    static final class NotIndexed extends IntegrityException {
        final transient ChunkId id;

        NotIndexed(ChunkId id, String message) {
            super(message);
            this.id = id;
        }
    }

    /** The bytes of a list of chunks, in order, read one at a time. */
    private static final class ChunkBytes extends InputStream {
        /** Table chunks read per batch: one zstd context per batch instead of per chunk. */
        static final int BATCH = 16;
        private final PackReader packs;
        private final Function<ChunkId, IndexEntry> lookup;
        private final Iterator<ChunkId> ids;
        private final String where;
        private final MessageDigest md; // or null
        /** Chunks read ahead and not yet served. */
        private final ArrayDeque<byte[]> ready = new ArrayDeque<>();
        /** The next chunk's id when a batch stopped before it (the index does not know it). */
        private ChunkId pending;
        private byte[] chunk = new byte[0];
        private int pos;

        ChunkBytes(PackReader packs, Function<ChunkId, IndexEntry> lookup, Iterator<ChunkId> ids, String where, MessageDigest md) {
            this.packs = packs;
            this.md = md;
            this.lookup = lookup;
            this.ids = ids;
            this.where = where;
        }

        @Override
        public int read() throws IOException {
            if (!fill()) {
                return -1;
            }
            int b = chunk[pos++] & 0xff;
            if (md != null) {
                md.update((byte) b);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk, pos, b, off, n);
            if (md != null) {
                md.update(b, off, n);
            }
            pos += n;
            return n;
        }

        private boolean fill() throws IOException {
            while (pos == chunk.length) {
                if (ready.isEmpty() && !fetch()) {
                    return false;
                }
                chunk = ready.poll();
                pos = 0;
            }
            return true;
        }

        /**
         * Reads the next few chunks ({@link #BATCH}, at most {@code BATCH × max} chunk bytes in memory) with one
         * decompression context; stops before a chunk the index does not know, and throws when that chunk is next.
         */
        private boolean fetch() throws IOException {
            List<IndexEntry> batch = new ArrayList<>(BATCH);
            while (batch.size() < BATCH && (pending != null || ids.hasNext())) {
                ChunkId id = pending != null ? pending : ids.next();
                pending = null;
                IndexEntry e = lookup.apply(id);
                if (e == null) {
                    if (batch.isEmpty()) {
                        throw new NotIndexed(id, "chunk " + id + " is not in the index (it holds part of the content table of "
                                + where + "); the repository is missing index objects or packs");
                    }
                    pending = id;
                    break;
                }
                batch.add(e);
            }
            if (batch.isEmpty()) {
                return false;
            }
            ready.addAll(packs.readAll(batch));
            return true;
        }
    }
}
