package dev.sgbackup.dedup;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.transform.Compression;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * One chunk's stored form, a blob: the plaintext, as a zstd frame when that makes it smaller (flag
 * {@link #ZSTD}), then, in an encrypted repository, sealed with AES-256-GCM under the blob key with a random
 * nonce and associated data {@code "sgbackup/dedup/blob/v1" ‖ flags ‖ chunk id} — so a blob cannot be passed
 * off as another chunk, nor its compression flag flipped.
 *
 * <p>zstd through zstd-jni's one-shot context, reused for every chunk, not through {@code ZstdTransform}: that
 * stream opens a multi-threaded zstd context per stream, which costs 1.4–1.7 ms per 64 KiB chunk against
 * 0.3 ms one-shot (measured on the 2-core build machine); the frames are the same format. No zstd checksum:
 * the chunk id already verifies the plaintext.
 */
final class BlobCodec implements AutoCloseable {
    /** The blob is a zstd frame of the plaintext (else the plaintext itself). */
    static final int ZSTD = 1;
    private static final byte[] AAD_LABEL = "sgbackup/dedup/blob/v1".getBytes(StandardCharsets.US_ASCII);

    private final RepoKeys keys;
    private final ZstdCompressCtx zstd; // null: no compression
    /**
     * The decompression context, made on the first decode and kept until {@link #releaseDecompression()} or
     * {@link #close()}: one per chunk (what {@code Zstd.decompress} does) costs more than a small file's chunk.
     * zstd-jni frees a context's native memory only when it is closed (no cleaner), so it belongs to this codec and
     * its owner releases it, never to a thread.
     */
    private ZstdDecompressCtx unzstd;
    private byte[] scratch = new byte[0];

    /** @param compression zstd at some level, or none */
    BlobCodec(RepoKeys keys, Compression compression) {
        this.keys = keys;
        this.zstd = switch (compression.codec()) {
            case ZSTD -> new ZstdCompressCtx().setLevel(compression.level()).setChecksum(false);
            case NONE -> null;
            case GZIP -> throw new IllegalArgumentException("deduplicated repositories compress chunks with zstd or not at all, not " + compression);
        };
    }

    /** A blob ready to be written: its bytes are {@code bytes[off, off + length)} (may be the caller's buffer). */
    record Blob(int flags, byte[] bytes, int off, int length) {
    }

    /**
     * Encodes {@code buf[off, off + len)}, the plaintext of chunk {@code id}. The blob is valid until the next
     * call. Not thread-safe (one context, one scratch buffer).
     */
    Blob encode(ChunkId id, byte[] buf, int off, int len) {
        int flags = 0;
        byte[] data = buf;
        int dataOff = off;
        int dataLen = len;
        if (zstd != null) {
            int bound = (int) Zstd.compressBound(len);
            if (scratch.length < bound) {
                scratch = new byte[bound];
            }
            int n = zstd.compressByteArray(scratch, 0, scratch.length, buf, off, len);
            if (n < len) {
                flags = ZSTD;
                data = scratch;
                dataOff = 0;
                dataLen = n;
            }
        }
        if (!keys.encrypted()) {
            return new Blob(flags, data, dataOff, dataLen);
        }
        byte[] sealed = Crypto.seal(keys.blobKey(), data, dataOff, dataLen, aad(flags, id));
        return new Blob(flags, sealed, 0, sealed.length);
    }

    /**
     * The plaintext of a blob read back, verified against its id.
     *
     * @param where names the blob in errors: "chunk ID in pack P"
     * @throws IntegrityException if it does not authenticate, decompress to {@code rawLength} bytes, or hash to its id
     */
    byte[] decode(IndexEntry e, byte[] stored, String where) {
        byte[] data = keys.encrypted() ? Crypto.open(keys.blobKey(), stored, aad(e.flags(), e.id()), where) : stored;
        byte[] plain;
        if ((e.flags() & ZSTD) != 0) {
            try {
                if (unzstd == null) {
                    unzstd = new ZstdDecompressCtx();
                }
                plain = unzstd.decompress(data, e.rawLength());
            } catch (ZstdException ex) {
                releaseDecompression(); // a context that met a bad frame is not reused
                throw new IntegrityException(where + " does not decompress to its recorded " + e.rawLength()
                        + " bytes (" + ex.getMessage() + "); it is damaged", ex);
            }
        } else {
            plain = data;
        }
        if (plain.length != e.rawLength()) {
            throw new IntegrityException(where + " has " + plain.length + " bytes, its index entry says " + e.rawLength() + "; it is damaged");
        }
        if (!MessageDigest.isEqual(keys.id(plain, 0, plain.length).bytes(), e.id().bytes())) {
            throw new IntegrityException(where + " does not hash to its id: the pack is damaged or the index points at the wrong bytes");
        }
        return plain;
    }

    @Override
    public void close() {
        if (zstd != null) {
            zstd.close();
        }
        releaseDecompression();
    }

    /** Frees the decompression context's native memory; the next decode makes a new one. */
    void releaseDecompression() {
        if (unzstd != null) {
            unzstd.close();
            unzstd = null;
        }
    }

    private static byte[] aad(int flags, ChunkId id) {
        byte[] a = new byte[AAD_LABEL.length + 1 + ChunkId.BYTES];
        System.arraycopy(AAD_LABEL, 0, a, 0, AAD_LABEL.length);
        a[AAD_LABEL.length] = (byte) flags;
        id.copyTo(a, AAD_LABEL.length + 1);
        return a;
    }
}
