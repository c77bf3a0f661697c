package dev.sgbackup.dedup;

import java.util.Arrays;
import java.util.HexFormat;

/** A chunk's 32-byte id: SHA-256 of its plaintext, or HMAC-SHA256 with the repository's id key when encrypted. */
final class ChunkId implements Comparable<ChunkId> {
    static final int BYTES = 32;
    private final byte[] bytes;

    private ChunkId(byte[] bytes) {
        this.bytes = bytes;
    }

    static ChunkId of(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a chunk id has 32 bytes, not " + bytes.length);
        }
        return new ChunkId(bytes.clone());
    }

    static ChunkId of(byte[] buf, int off) {
        return new ChunkId(Arrays.copyOfRange(buf, off, off + BYTES));
    }

    static ChunkId parse(String hex) {
        return of(HexFormat.of().parseHex(hex));
    }

    byte[] bytes() {
        return bytes.clone();
    }

    void copyTo(byte[] dst, int off) {
        System.arraycopy(bytes, 0, dst, off, BYTES);
    }

    String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkId c && Arrays.equals(c.bytes, bytes);
    }

    @Override
    public int hashCode() {
        // ids are uniformly distributed: the first four bytes are as good a hash as any
        return (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8 | (bytes[3] & 0xff);
    }

    @Override
    public int compareTo(ChunkId o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    /** The hex id: an id is not a secret (keyed ids reveal nothing without the key). */
    @Override
    public String toString() {
        return hex();
    }
}
