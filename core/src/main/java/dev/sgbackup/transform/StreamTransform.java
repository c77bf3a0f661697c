package dev.sgbackup.transform;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): the plaintext is cut
 * into 64 KiB segments, each sealed on its own, so memory is one segment whatever the size.
 *
 * <pre>
 * header  = "SGE1" ‖ log2(segment size) (1 byte) ‖ prefix (7 random bytes)            12 bytes
 * subkey  = HKDF-SHA256(ikm = data key, salt = prefix, info = "sgbackup/aes-256-gcm-stream/v1")
 * nonce_i = prefix ‖ i (4 bytes, big-endian) ‖ last (1 byte: 1 on the final segment, else 0)
 * aad     = header ‖ len(backup id) ‖ backup id ‖ len(artifact key) ‖ artifact key  (lengths 4 bytes, UTF-8)
 * body    = GCM(subkey, nonce_i, aad, segment_i) for i = 0..n, segment_n 0..64 KiB, all others exactly 64 KiB
 * </pre>
 *
 * The counter rejects reordered, dropped or duplicated segments; the last-segment flag rejects truncation at a
 * segment boundary; the associated data rejects an artifact moved to another key or another backup. An empty
 * plaintext is one empty final segment (a 16-byte tag). The per-artifact subkey means the 56-bit random
 * prefixes need not be unique across artifacts for GCM nonces to stay unique under one key.
 */
final class StreamTransform implements Transform {
    static final String ID = "aes-256-gcm-stream";
    static final int SEGMENT_LOG2 = 16;
    private static final byte[] MAGIC = "SGE1".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 12;
    static final int PREFIX = 7;
    static final int TAG = 16;
    private static final long MAX_SEGMENTS = 1L << 32;
    private static final SecureRandom RANDOM = new SecureRandom();
    private final SecretKey dataKey;

    StreamTransform(SecretKey dataKey) {
        this.dataKey = dataKey;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public OutputStream wrap(OutputStream out, ArtifactContext context) throws IOException {
        byte[] header = new byte[HEADER];
        System.arraycopy(MAGIC, 0, header, 0, 4);
        header[4] = SEGMENT_LOG2;
        byte[] prefix = new byte[PREFIX];
        RANDOM.nextBytes(prefix);
        System.arraycopy(prefix, 0, header, 5, PREFIX);
        out.write(header);
        return new Sealer(out, subkey(prefix), prefix, aad(header, context), 1 << SEGMENT_LOG2);
    }

    @Override
    public InputStream unwrap(InputStream in, ArtifactContext context) {
        return new Opener(in, context);
    }

    private SecretKey subkey(byte[] prefix) {
        byte[] ikm = dataKey.getEncoded();
        byte[] k = Hkdf.sha256(ikm, prefix, "sgbackup/" + ID + "/v1");
        SecretKeySpec s = new SecretKeySpec(k, "AES");
        Arrays.fill(k, (byte) 0);
        Arrays.fill(ikm, (byte) 0);
        return s;
    }

    static byte[] aad(byte[] header, ArtifactContext ctx) {
        byte[] id = ctx.backupId().getBytes(StandardCharsets.UTF_8);
        byte[] key = ctx.artifactKey().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(header.length + 8 + id.length + key.length)
                .put(header).putInt(id.length).put(id).putInt(key.length).put(key).array();
    }

    static byte[] nonce(byte[] prefix, long counter, boolean last) {
        byte[] n = new byte[12];
        System.arraycopy(prefix, 0, n, 0, PREFIX);
        n[7] = (byte) (counter >>> 24);
        n[8] = (byte) (counter >>> 16);
        n[9] = (byte) (counter >>> 8);
        n[10] = (byte) counter;
        n[11] = (byte) (last ? 1 : 0);
        return n;
    }

    private static Cipher gcm() throws IOException {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IOException("AES-GCM is not available in this JDK", e);
        }
    }

    /** Encrypting side: buffers one segment; a full segment is sealed only once more data proves it is not the last. */
    private static final class Sealer extends OutputStream {
        private final OutputStream out;
        private final SecretKey key;
        private final byte[] prefix;
        private final byte[] aad;
        private final byte[] buf;
        private final byte[] sealed;
        private final Cipher cipher;
        private int fill;
        private long counter;
        private boolean closed;

        Sealer(OutputStream out, SecretKey key, byte[] prefix, byte[] aad, int segment) throws IOException {
            this.out = out;
            this.key = key;
            this.prefix = prefix;
            this.aad = aad;
            this.buf = new byte[segment];
            this.sealed = new byte[segment + TAG];
            this.cipher = gcm();
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("stream closed");
            }
            while (len > 0) {
                if (fill == buf.length) {
                    seal(false);
                }
                int n = Math.min(len, buf.length - fill);
                System.arraycopy(b, off, buf, fill, n);
                fill += n;
                off += n;
                len -= n;
            }
        }

        private void seal(boolean last) throws IOException {
            if (counter >= MAX_SEGMENTS) {
                throw new IOException("artifact too large to encrypt: more than 2^32 segments of " + buf.length + " bytes");
            }
            try {
                cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce(prefix, counter, last)));
                cipher.updateAAD(aad);
                int n = cipher.doFinal(buf, 0, fill, sealed, 0);
                out.write(sealed, 0, n);
            } catch (GeneralSecurityException e) {
                throw new IOException("encrypting segment " + counter + " failed: " + e, e);
            }
            counter++;
            fill = 0;
        }

        @Override
        public void flush() throws IOException {
            out.flush(); // a segment is sealed only when full or at close
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                seal(true);
                Arrays.fill(buf, (byte) 0);
            } finally {
                out.close();
            }
        }
    }

    /** Decrypting side: reads the header, then one sealed segment at a time; never returns unauthenticated bytes. */
    private final class Opener extends InputStream {
        private final InputStream in;
        private final ArtifactContext context;
        private SecretKey key;
        private byte[] prefix;
        private byte[] aad;
        private byte[] sealed;
        private byte[] plain;
        private Cipher cipher;
        private int pos;
        private int len;
        private long counter;
        private int carry = -1;
        private boolean finished;

        Opener(InputStream in, ArtifactContext context) {
            this.in = in;
            this.context = context;
        }

        private void start() throws IOException {
            byte[] header = new byte[HEADER];
            int n = in.readNBytes(header, 0, HEADER);
            if (n < HEADER) {
                throw new EOFException("encrypted stream is truncated: " + n + " bytes, shorter than its " + HEADER + "-byte header");
            }
            if (!Arrays.equals(header, 0, 4, MAGIC, 0, 4)) {
                throw new IOException("not an sgbackup encrypted stream (bad header)");
            }
            int log2 = header[4];
            if (log2 < 10 || log2 > 24) {
                throw new IOException("encrypted stream header names an invalid segment size 2^" + log2);
            }
            prefix = Arrays.copyOfRange(header, 5, HEADER);
            key = subkey(prefix);
            aad = aad(header, context);
            sealed = new byte[(1 << log2) + TAG];
            plain = new byte[1 << log2];
            cipher = gcm();
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int n) throws IOException {
            if (n == 0) {
                return 0;
            }
            while (pos == len) {
                if (finished) {
                    return -1;
                }
                next();
            }
            int k = Math.min(n, len - pos);
            System.arraycopy(plain, pos, b, off, k);
            pos += k;
            return k;
        }

        private void next() throws IOException {
            if (key == null) {
                start();
            }
            int n = 0;
            if (carry >= 0) {
                sealed[n++] = (byte) carry;
                carry = -1;
            }
            n += in.readNBytes(sealed, n, sealed.length - n);
            boolean last;
            if (n < sealed.length) {
                last = true;
            } else {
                carry = in.read();
                last = carry < 0;
            }
            if (n < TAG) {
                throw new EOFException("encrypted stream is truncated: segment " + counter + " has " + n + " bytes, less than its tag");
            }
            if (counter >= MAX_SEGMENTS) {
                throw new IOException("encrypted stream has more than 2^32 segments");
            }
            try {
                len = decrypt(n, last);
            } catch (AEADBadTagException e) {
                if (last && authenticates(n, false)) {
                    throw new EOFException("encrypted stream is truncated: it ends after segment " + counter
                            + ", which is not marked as the last one");
                }
                if (!last && authenticates(n, true)) {
                    throw new IOException("encrypted stream has data after its final segment " + counter);
                }
                throw new IOException("segment " + counter + " does not authenticate: the bytes were altered, cut, reordered,"
                        + " or belong to another artifact or backup (or the key is wrong)");
            }
            pos = 0;
            counter++;
            finished = last;
        }

        private int decrypt(int n, boolean last) throws IOException, AEADBadTagException {
            try {
                cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, nonce(prefix, counter, last)));
                cipher.updateAAD(aad);
                return cipher.doFinal(sealed, 0, n, plain, 0);
            } catch (AEADBadTagException e) {
                throw e;
            } catch (GeneralSecurityException e) {
                throw new IOException("decrypting segment " + counter + " failed: " + e, e);
            }
        }

        private boolean authenticates(int n, boolean last) throws IOException {
            try {
                decrypt(n, last);
                Arrays.fill(plain, (byte) 0);
                return true;
            } catch (AEADBadTagException e) {
                return false;
            }
        }

        @Override
        public void close() throws IOException {
            if (plain != null) {
                Arrays.fill(plain, (byte) 0);
            }
            in.close();
        }
    }
}
