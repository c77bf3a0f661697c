package dev.sgbackup.transform;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HKDF-SHA256 (RFC 5869) for one 32-byte output block, which is all sgbackup derives. */
final class Hkdf {
    private Hkdf() {
    }

    /** {@code HKDF-Expand(HKDF-Extract(salt, ikm), info, 32)}. */
    static byte[] sha256(byte[] ikm, byte[] salt, String info) {
        return sha256(ikm, salt, info.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] sha256(byte[] ikm, byte[] salt, byte[] info) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // RFC 5869 2.2: an absent salt is HashLen zero bytes
            mac.init(new SecretKeySpec(salt == null || salt.length == 0 ? new byte[32] : salt, "HmacSHA256"));
            byte[] prk = mac.doFinal(ikm);
            mac.init(new SecretKeySpec(prk, "HmacSHA256"));
            mac.update(info);
            mac.update((byte) 1);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JDK", e);
        }
    }
}
