package dev.sgbackup.transform;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * PBKDF2-HMAC-SHA256 (RFC 8018, section 5.2) for one 32-byte block: the same key as the JDK's
 * {@code PBKDF2WithHmacSHA256} with a 256-bit key length (the password taken as the UTF-8 of its chars, as the JDK
 * does; {@code Pbkdf2Test} compares the two), in half its SHA-256 compressions. The JDK's HMAC absorbs the 64-byte
 * inner and outer pad blocks again in every iteration; here both are absorbed once, and each iteration starts from
 * copies of those two states, so an iteration is two compressions instead of four. Every backup or repository opened
 * with a passphrase runs 600,000 iterations before it can read anything, mostly before the JIT has compiled
 * SHA-256: this halves that wait. SHA-256 itself is the JDK's.
 */
final class Pbkdf2 {
    private static final int BLOCK = 64;
    private static final int HASH = 32;

    private Pbkdf2() {
    }

    /** The 32-byte derived key; the caller clears it. */
    static byte[] hmacSha256(char[] password, byte[] salt, int iterations) {
        if (iterations < 1) {
            throw new IllegalArgumentException("iterations must be at least 1");
        }
        byte[] key = utf8(password);
        try {
            MessageDigest inner = MessageDigest.getInstance("SHA-256");
            MessageDigest outer = MessageDigest.getInstance("SHA-256");
            if (key.length > BLOCK) {
                byte[] hashed = inner.digest(key); // resets inner
                Arrays.fill(key, (byte) 0);
                key = hashed;
            }
            byte[] pad = new byte[BLOCK];
            for (int i = 0; i < BLOCK; i++) {
                pad[i] = (byte) ((i < key.length ? key[i] : 0) ^ 0x36);
            }
            inner.update(pad);
            for (int i = 0; i < BLOCK; i++) {
                pad[i] = (byte) ((i < key.length ? key[i] : 0) ^ 0x5c);
            }
            outer.update(pad);
            Arrays.fill(pad, (byte) 0);
            Arrays.fill(key, (byte) 0);

            // U1 = HMAC(P, S || INT(1)); T = U1 ^ U2 ^ ... ^ Uc
            byte[] u = new byte[HASH];
            MessageDigest work = (MessageDigest) inner.clone();
            work.update(salt);
            work.update(new byte[] {0, 0, 0, 1});
            work.digest(u, 0, HASH);
            work = (MessageDigest) outer.clone();
            work.update(u);
            work.digest(u, 0, HASH);
            byte[] t = u.clone();
            for (int n = 1; n < iterations; n++) {
                work = (MessageDigest) inner.clone();
                work.update(u);
                work.digest(u, 0, HASH);
                work = (MessageDigest) outer.clone();
                work.update(u);
                work.digest(u, 0, HASH);
                for (int j = 0; j < HASH; j++) {
                    t[j] ^= u[j];
                }
            }
            Arrays.fill(u, (byte) 0);
            return t;
        } catch (NoSuchAlgorithmException | CloneNotSupportedException | DigestException e) {
            throw new IllegalStateException("SHA-256 is not available in this JDK", e);
        }
    }

    /** The password's bytes as the JDK's PBKDF2 takes them (its {@code getPasswordBytes}): UTF-8, unpairable chars as '?'. */
    private static byte[] utf8(char[] password) {
        ByteBuffer b = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] out = new byte[b.remaining()];
        b.get(out);
        if (b.hasArray()) {
            Arrays.fill(b.array(), (byte) 0);
        }
        return out;
    }
}
