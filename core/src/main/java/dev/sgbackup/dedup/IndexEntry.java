package dev.sgbackup.dedup;

/**
 * Where a chunk is stored: in {@code pack} (the pack's hex name), {@code length} stored bytes from
 * {@code offset}, {@code rawLength} bytes of plaintext, {@code flags} as in {@link BlobCodec}.
 */
record IndexEntry(ChunkId id, String pack, int offset, int length, int rawLength, int flags) {
}
