package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Transform;
import dev.sgbackup.transform.Transforms;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * One chunk's stored form, a blob: the plaintext, zstd-compressed when that makes it smaller (flag
 * {@link #ZSTD}), then, in an encrypted repository, sealed with AES-256-GCM under the blob key with a random
 * nonce and associated data {@code "sgbackup/dedup/blob/v1" ‖ flags ‖ chunk id} — so a blob cannot be passed
 * off as another chunk, nor its compression flag flipped.
 */
final class BlobCodec {
    /** The blob is a zstd frame of the plaintext (else the plaintext itself). */
    static final int ZSTD = 1;
    private static final byte[] AAD_LABEL = "sgbackup/dedup/blob/v1".getBytes(StandardCharsets.US_ASCII);
    private static final Transform.ArtifactContext CONTEXT = new Transform.ArtifactContext("dedup", "blob");

    private final RepoKeys keys;
    private final Transform zstd;
    private final ByteArrayOutputStream scratch = new ByteArrayOutputStream();

    /** @param compression zstd at some level, or none */
    BlobCodec(RepoKeys keys, Compression compression) {
        this.keys = keys;
        this.zstd = compression.transform();
        if (zstd != null && !zstd.id().equals("zstd")) {
            throw new IllegalArgumentException("deduplicated repositories compress chunks with zstd or not at all, not " + compression);
        }
    }

    /** A blob ready to be written: its bytes are {@code bytes[off, off + length)} (may be the caller's buffer). */
    record Blob(int flags, byte[] bytes, int off, int length) {
    }

    /** Encodes {@code buf[off, off + len)}, the plaintext of chunk {@code id}. Not thread-safe (one scratch buffer). */
    Blob encode(ChunkId id, byte[] buf, int off, int len) throws IOException {
        int flags = 0;
        byte[] data = buf;
        int dataOff = off;
        int dataLen = len;
        if (zstd != null) {
            scratch.reset();
            try (OutputStream z = zstd.wrap(scratch, CONTEXT)) {
                z.write(buf, off, len);
            }
            if (scratch.size() < len) {
                flags = ZSTD;
                data = scratch.toByteArray();
                dataOff = 0;
                dataLen = data.length;
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
    byte[] decode(IndexEntry e, byte[] stored, String where) throws IOException {
        byte[] data = keys.encrypted() ? Crypto.open(keys.blobKey(), stored, aad(e.flags(), e.id()), where) : stored;
        byte[] plain;
        if ((e.flags() & ZSTD) != 0) {
            try (InputStream in = Transforms.forId("zstd").unwrap(new ByteArrayInputStream(data), CONTEXT)) {
                plain = in.readNBytes(e.rawLength());
                if (plain.length != e.rawLength() || in.read() >= 0) {
                    throw new IntegrityException(where + " does not decompress to its recorded " + e.rawLength() + " bytes; it is damaged");
                }
            } catch (IOException ex) {
                throw new IntegrityException(where + " is not a valid zstd frame (" + ex.getMessage() + "); it is damaged", ex);
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

    private static byte[] aad(int flags, ChunkId id) {
        byte[] a = new byte[AAD_LABEL.length + 1 + ChunkId.BYTES];
        System.arraycopy(AAD_LABEL, 0, a, 0, AAD_LABEL.length);
        a[AAD_LABEL.length] = (byte) flags;
        id.copyTo(a, AAD_LABEL.length + 1);
        return a;
    }
}
