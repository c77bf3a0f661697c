package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/** The primitives of the repository format: SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-256-GCM with a random nonce. */
final class Crypto {
    static final int NONCE_BYTES = 12;
    static final int TAG_BYTES = 16;
    /** What sealing adds to a plaintext: nonce and tag. */
    static final int OVERHEAD = NONCE_BYTES + TAG_BYTES;
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * One AES-GCM cipher per thread, initialised afresh for each blob: a provider lookup and a cipher object per blob
     * cost more than a small file's blob itself (a restore opens one per file), and the JDK keeps the expanded AES key
     * while the key stays the same.
     */
    private static final ThreadLocal<Cipher> GCM = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JDK", e);
        }
    });

    private Crypto() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JDK", e);
        }
    }

    static Mac hmacSha256(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JDK", e);
        }
    }

    /** HMAC-SHA256 of the concatenated parts. */
    static byte[] hmac(byte[] key, byte[]... parts) {
        Mac mac = hmacSha256(key);
        for (byte[] p : parts) {
            mac.update(p);
        }
        return mac.doFinal();
    }

    /**
     * One 32-byte HKDF-SHA256 output (RFC 5869) with an empty salt: the same construction as the backup data
     * keys' subkeys ({@code dev.sgbackup.transform}), which keeps its helper to itself.
     */
    static byte[] hkdf(byte[] ikm, String info) {
        byte[] prk = hmac(new byte[32], ikm);
        return hmac(prk, info.getBytes(StandardCharsets.UTF_8), new byte[]{1});
    }

    static byte[] random(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    /** {@code nonce(12) ‖ AES-256-GCM(plain) ‖ tag(16)} with a fresh random nonce. */
    static byte[] seal(SecretKey key, byte[] plain, int off, int len, byte[] aad) {
        byte[] nonce = random(NONCE_BYTES);
        try {
            Cipher c = GCM.get();
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
            c.updateAAD(aad);
            byte[] out = new byte[NONCE_BYTES + len + TAG_BYTES];
            System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
            c.doFinal(plain, off, len, out, NONCE_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JDK", e);
        }
    }

    /**
     * Opens what {@link #seal} made.
     *
     * @param what names the sealed thing in the error, e.g. "chunk X in pack Y"
     * @throws IntegrityException if the bytes, the associated data or the key differ
     */
    static byte[] open(SecretKey key, byte[] sealed, byte[] aad, String what) {
        if (sealed.length < OVERHEAD) {
            throw new IntegrityException(what + " is too short to be sealed (" + sealed.length + " bytes); it is damaged");
        }
        try {
            Cipher c = GCM.get();
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, sealed, 0, NONCE_BYTES));
            c.updateAAD(aad);
            return c.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new IntegrityException(what + " does not authenticate: it was altered or damaged, or the repository key is not the one it was written with");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JDK", e);
        }
    }

    private static final java.util.concurrent.atomic.AtomicBoolean WARMED = new java.util.concurrent.atomic.AtomicBoolean();
    /**
     * Once per JVM, on a daemon thread: seals, opens and hashes small buffers some 20,000 times, so that the JIT
     * compiles the AES-GCM and SHA-256 paths with their CPU intrinsics (CLMUL GHASH, AES-NI, SHA-NI) before the first
     * chunks arrive. A 1 MiB chunk is one call into the cipher, so real chunks alone take hundreds of megabytes to get
     * there, and until then the JDK runs them as plain Java: opening 280 MB of 28 KB blobs took 1.44 s on a fresh JVM
     * and 0.26 s after this warm-up on the 2-core build machine. It costs about 0.3 s of the other core, so the engine
     * starts it only for runs that move many chunks ({@link DedupRepository#warmUp}): early (at planning) for a restore
     * and a first backup, when a step starts for a store without a parent, when a large file is read again
     * ({@link ArtifactWriter#WARM_UP_FILE}). Starting it only once a run had sealed eight chunks was tried and
     * measured slower (docs/dedup.md): the SHA-256 of chunk ids ran on the Java path meanwhile.
     */
    static void warmUp() {
        if (!WARMED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            SecretKey key = new javax.crypto.spec.SecretKeySpec(new byte[32], "AES");
            byte[] small = new byte[256];
            byte[] aad = {1};
            byte[] sealed = seal(key, small, 0, small.length, aad);
            byte[] mac = new byte[32];
            // FastCDC's loop too, on small windows (the method is the same whatever the sizes): a large file's first
            // chunks otherwise run at interpreter speed until C2 compiles it on its own (0.8 s for 137 MiB measured)
            FastCdc tiny = new FastCdc(new ChunkParams(64, 256, 1024, 2), FastCdc.defaultGear());
            byte[] window = new byte[1024];
            RANDOM.nextBytes(window);
            for (int i = 0; i < 20_000; i++) {
                open(key, sealed, aad, "warm-up");
                tiny.cutPoint(window, window.length);
                if (i % 4 == 0) {
                    seal(key, small, 0, small.length, aad);
                    hmac(mac, small);
                    sha256().digest(small);
                }
            }
        }, "sgbackup-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }
}
