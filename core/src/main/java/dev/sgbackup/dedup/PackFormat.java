package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A pack: {@code blob₁ ‖ … ‖ blobₙ ‖ header ‖ headerLength (uint32 BE) ‖ "SGP" ‖ version (1)}. The header lists
 * every blob: {@code count (uint32) ‖ n × [chunk id (32) ‖ flags (1) ‖ offset (uint32) ‖ length (uint32) ‖
 * raw length (uint32)]}; in an encrypted repository it is sealed (AES-256-GCM, blob key, associated data
 * {@code "sgbackup/dedup/pack-header/v1"}). A pack thus describes itself, and a lost index can be rebuilt by
 * reading the tails of the packs. All integers big-endian.
 */
final class PackFormat {
    static final int VERSION = 1;
    static final int TRAILER_BYTES = 8;
    static final int ENTRY_BYTES = ChunkId.BYTES + 1 + 4 + 4 + 4;
    private static final byte[] MAGIC = {'S', 'G', 'P'};
    private static final byte[] HEADER_AAD = "sgbackup/dedup/pack-header/v1".getBytes(StandardCharsets.US_ASCII);

    private PackFormat() {
    }

    /** The stored header of a pack of {@code entries} (the pack field of the entries is ignored). */
    static byte[] header(List<IndexEntry> entries, RepoKeys keys) {
        ByteBuffer b = ByteBuffer.allocate(4 + entries.size() * ENTRY_BYTES);
        b.putInt(entries.size());
        for (IndexEntry e : entries) {
            b.put(e.id().bytes()).put((byte) e.flags()).putInt(e.offset()).putInt(e.length()).putInt(e.rawLength());
        }
        byte[] plain = b.array();
        return keys.encrypted() ? Crypto.seal(keys.blobKey(), plain, 0, plain.length, HEADER_AAD) : plain;
    }

    /** The stored size of the header of a pack of {@code count} blobs. */
    static int headerBytes(int count, RepoKeys keys) {
        return 4 + count * ENTRY_BYTES + (keys.encrypted() ? Crypto.OVERHEAD : 0);
    }

    static byte[] trailer(int headerLength) {
        return ByteBuffer.allocate(TRAILER_BYTES).putInt(headerLength).put(MAGIC).put((byte) VERSION).array();
    }

    /** The header length a trailer records; checks magic and version. */
    static int headerLength(byte[] trailer, String pack, long packSize) {
        ByteBuffer b = ByteBuffer.wrap(trailer);
        int len = b.getInt();
        if (trailer.length != TRAILER_BYTES || b.get() != MAGIC[0] || b.get() != MAGIC[1] || b.get() != MAGIC[2]) {
            throw new IntegrityException("pack " + pack + " does not end with a pack trailer; it is damaged or not a pack");
        }
        int version = b.get() & 0xff;
        if (version != VERSION) {
            throw new IntegrityException("pack " + pack + " has format version " + version + ", this sgbackup reads " + VERSION + "; upgrade sgbackup");
        }
        if (len < 4 || len > packSize - TRAILER_BYTES) {
            throw new IntegrityException("pack " + pack + " records a header of " + len + " bytes in a pack of " + packSize + "; it is damaged");
        }
        return len;
    }

    /** The entries of a stored header, checked for consistency with the pack's size. */
    static List<IndexEntry> parseHeader(byte[] stored, String pack, long packSize, RepoKeys keys) {
        byte[] plain = keys.encrypted() ? Crypto.open(keys.blobKey(), stored, HEADER_AAD, "the header of pack " + pack) : stored;
        ByteBuffer b = ByteBuffer.wrap(plain);
        int n = b.getInt();
        if (n < 0 || plain.length != 4 + (long) n * ENTRY_BYTES) {
            throw new IntegrityException("the header of pack " + pack + " is damaged: " + plain.length + " bytes for " + n + " entries");
        }
        long blobsEnd = packSize - TRAILER_BYTES - stored.length;
        List<IndexEntry> out = new ArrayList<>(n);
        byte[] id = new byte[ChunkId.BYTES];
        for (int i = 0; i < n; i++) {
            b.get(id);
            int flags = b.get() & 0xff;
            int off = b.getInt();
            int len = b.getInt();
            int raw = b.getInt();
            if (off < 0 || len < 0 || raw < 0 || (long) off + len > blobsEnd) {
                throw new IntegrityException("the header of pack " + pack + " is damaged: entry " + i + " lies outside the pack");
            }
            out.add(new IndexEntry(ChunkId.of(id), pack, off, len, raw, flags));
        }
        return out;
    }
}
