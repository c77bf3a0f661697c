package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A tree object, {@code ROOT/trees/HEX}: the chunk list of one artifact's {@link ContentTable} in one backup, named by
 * the SHA-256 of its bytes. {@code "SGT" ‖ version (1 byte, = 2) ‖ body}; the body, sealed in an encrypted repository
 * (AES-256-GCM, blob key, associated data {@code "sgbackup/dedup/tree/v1"}), is {@code backupIdLength (1) ‖
 * backup id (ASCII) ‖ count (uint32) ‖ count × chunk id (32)}. The backup id makes a tree belong to one backup, so
 * deleting a backup deletes its trees without asking whether another backup shares them. Memory: 32 bytes per
 * table chunk: a table holds about 40 bytes per content chunk and the bytes between file contents.
 */
final class TreeObject {
    static final int VERSION = 2; // 1: the chunk list was the artifact's own (before content tables)
    private static final byte[] MAGIC = {'S', 'G', 'T', VERSION};
    private static final byte[] AAD = "sgbackup/dedup/tree/v1".getBytes(StandardCharsets.US_ASCII);

    private TreeObject() {
    }

    static byte[] encode(String backupId, List<ChunkId> ids, RepoKeys keys) {
        byte[] id = backupId.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(1 + id.length + 4 + ids.size() * ChunkId.BYTES);
        b.put((byte) id.length).put(id).putInt(ids.size());
        byte[] one = new byte[ChunkId.BYTES];
        for (ChunkId c : ids) {
            c.copyTo(one, 0);
            b.put(one);
        }
        byte[] body = b.array();
        byte[] stored = keys.encrypted() ? Crypto.seal(keys.blobKey(), body, 0, body.length, AAD) : body;
        byte[] out = Arrays.copyOf(MAGIC, MAGIC.length + stored.length);
        System.arraycopy(stored, 0, out, MAGIC.length, stored.length);
        return out;
    }

    /**
     * Reads the tree object {@code key} of backup {@code backupId} and checks it against the size and SHA-256 its
     * manifest records; returns its chunk list (the artifact's content-table chunks).
     *
     * @throws IntegrityException if it does not match or decode
     * @throws dev.sgbackup.sink.NoSuchObjectException if it is missing
     */
    static List<ChunkId> load(Repo repo, String backupId, String key, long size, String sha256) throws java.io.IOException {
        byte[] bytes;
        try (java.io.InputStream in = repo.sink().read(key)) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, size + 1));
        }
        if (bytes.length != size || !java.security.MessageDigest.isEqual(Crypto.hex(Crypto.sha256().digest(bytes)).getBytes(
                StandardCharsets.US_ASCII), sha256.getBytes(StandardCharsets.US_ASCII))) {
            throw new IntegrityException("tree object " + key + " is damaged: it does not match the manifest (" + bytes.length
                    + " bytes, " + size + " recorded, or its SHA-256 differs)");
        }
        return decode(bytes, backupId, repo.keys(), key);
    }

    /**
     * Every chunk a stored tree references: what garbage collection must keep for it — the chunks of the artifact's
     * content table, and every chunk its records name (read from the table through {@code lookup}, the store's
     * index). The one place the collector learns a tree's chunks. {@code where} names the tree in errors.
     *
     * @throws IntegrityException if a table chunk is not in {@code lookup} or the table is damaged
     */
    static List<ChunkId> referencedChunks(Repo repo, byte[] bytes, String backupId, String where,
                                          java.util.function.Function<ChunkId, IndexEntry> lookup) throws java.io.IOException {
        List<ChunkId> table = decode(bytes, backupId, repo.keys(), where);
        List<ChunkId> out = new ArrayList<>(table);
        new TableInput(repo, lookup, table, where).forEachChunk(c -> out.add(c.id()));
        return out;
    }

    /** The chunk list of a tree read back; {@code where} names it in errors. */
    static List<ChunkId> decode(byte[] bytes, String backupId, RepoKeys keys, String where) {
        if (bytes.length < MAGIC.length || bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1] || bytes[2] != MAGIC[2]) {
            throw new IntegrityException("tree object " + where + " is not a tree object; it is damaged");
        }
        if (bytes[3] < VERSION) {
            throw new IntegrityException("tree object " + where + " has format version " + bytes[3] + ", written by a development"
                    + " build before content tables; this sgbackup cannot read it. Delete that backup");
        }
        if (bytes[3] != VERSION) {
            throw new IntegrityException("tree object " + where + " has format version " + bytes[3] + ", this sgbackup reads "
                    + VERSION + "; upgrade sgbackup");
        }
        byte[] stored = Arrays.copyOfRange(bytes, MAGIC.length, bytes.length);
        byte[] body = keys.encrypted() ? Crypto.open(keys.blobKey(), stored, AAD, "tree object " + where) : stored;
        try {
            ByteBuffer b = ByteBuffer.wrap(body);
            byte[] id = new byte[b.get() & 0xff];
            b.get(id);
            if (!new String(id, StandardCharsets.US_ASCII).equals(backupId)) {
                throw new IntegrityException("tree object " + where + " belongs to backup " + new String(id, StandardCharsets.US_ASCII)
                        + ", not " + backupId + "; it was swapped");
            }
            int n = b.getInt();
            if (n < 0 || b.remaining() != (long) n * ChunkId.BYTES) {
                throw new IntegrityException("tree object " + where + " is damaged: " + b.remaining() + " bytes for " + n + " chunk ids");
            }
            List<ChunkId> ids = new ArrayList<>(n);
            byte[] one = new byte[ChunkId.BYTES];
            for (int i = 0; i < n; i++) {
                b.get(one);
                ids.add(ChunkId.of(one));
            }
            return ids;
        } catch (BufferUnderflowException e) {
            throw new IntegrityException("tree object " + where + " is damaged: it ends early", e);
        }
    }
}
