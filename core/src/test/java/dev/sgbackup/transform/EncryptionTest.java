package dev.sgbackup.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EncryptionTest {
    static final String ID = "20261125T170744Z-3fa9c1";
    static final Transform.ArtifactContext CTX = new Transform.ArtifactContext(ID, "data/" + ID + "/s01/000001.sgenc");

    static Encryption fast(String passphrase) {
        return Encryption.passphraseForTests(passphrase.toCharArray(), 1000);
    }

    @Test
    void passphraseWrapsAndUnwrapsTheDataKey() throws Exception {
        Encryption.DataKey k = fast("correct horse battery").newDataKey();
        Map<String, String> p = k.parameters();
        assertThat(p).containsEntry("kdf", "pbkdf2-hmac-sha256").containsEntry("iterations", "1000")
                .containsEntry("cipher", "aes-256-gcm").containsEntry("transform", "aes-256-gcm-stream")
                .containsKeys("salt", "keyNonce", "wrappedKey");
        assertThat(Base64.getDecoder().decode(p.get("salt"))).hasSizeGreaterThanOrEqualTo(16);
        // a fresh instance (no cache) with the same passphrase opens what the first one sealed
        Encryption.DataKey again = fast("correct horse battery").unlock(p, ID);
        byte[] sealed = StreamTransformTest.encrypt(k.transform(), "hello".getBytes(), CTX);
        assertThat(StreamTransformTest.decrypt(again.transform(), sealed, CTX)).isEqualTo("hello".getBytes());
        assertThat(again.open(k.seal("m".getBytes(), "ad".getBytes()), "ad".getBytes())).isEqualTo("m".getBytes());
    }

    @Test
    void eachBackupGetsItsOwnDataKeyAndOneProcessDerivesOneKeyEncryptionKey() {
        Encryption e = fast("correct horse battery");
        Map<String, String> a = e.newDataKey().parameters();
        Map<String, String> b = e.newDataKey().parameters();
        // one PBKDF2 run per instance: the salt is reused, the data keys and their nonces are not
        assertThat(a.get("salt")).isEqualTo(b.get("salt"));
        assertThat(a.get("wrappedKey")).isNotEqualTo(b.get("wrappedKey"));
        assertThat(a.get("keyNonce")).isNotEqualTo(b.get("keyNonce"));
        // another process (instance) starts from a fresh salt
        assertThat(fast("correct horse battery").newDataKey().parameters().get("salt")).isNotEqualTo(a.get("salt"));
    }

    @Test
    void aSaltIsReusedOnlyAfterItsWrapAuthenticated() {
        Map<String, String> theirs = fast("another passphrase").newDataKey().parameters();
        Encryption e = fast("correct horse battery");
        assertThatThrownBy(() -> e.unlock(theirs, ID)).isInstanceOf(InvalidInputException.class);
        // a salt planted by someone without the passphrase is not taken up
        assertThat(e.newDataKey().parameters().get("salt")).isNotEqualTo(theirs.get("salt"));
        Map<String, String> mine = fast("correct horse battery").newDataKey().parameters();
        Encryption f = fast("correct horse battery");
        f.unlock(mine, ID);
        assertThat(f.newDataKey().parameters().get("salt")).isEqualTo(mine.get("salt"));
    }

    @Test
    void wrongPassphraseIsRefusedClearly() {
        Map<String, String> p = fast("correct horse battery").newDataKey().parameters();
        assertThatThrownBy(() -> fast("correct horse battery!").unlock(p, ID)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("wrong passphrase for backup " + ID);
    }

    @Test
    void wrongRawKeyIsRefusedClearly() {
        byte[] k = new byte[32];
        Map<String, String> p = Encryption.key(k).newDataKey().parameters();
        assertThat(p).containsEntry("kdf", "raw").doesNotContainKeys("salt", "iterations");
        k[0] = 1;
        assertThatThrownBy(() -> Encryption.key(k).unlock(p, ID)).isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong key");
        k[0] = 0;
        assertThat(Encryption.key(k).unlock(p, ID)).isNotNull();
    }

    @Test
    void passphraseAndKeyAreNotInterchangeable() {
        Map<String, String> byKey = Encryption.key(new byte[32]).newDataKey().parameters();
        Map<String, String> byPass = fast("correct horse battery").newDataKey().parameters();
        assertThatThrownBy(() -> fast("correct horse battery").unlock(byKey, ID)).hasMessageContaining("raw key, not a passphrase");
        assertThatThrownBy(() -> Encryption.key(new byte[32]).unlock(byPass, ID)).hasMessageContaining("passphrase, not a raw key");
    }

    @Test
    void alteredParametersAreDetected() {
        Map<String, String> p = fast("correct horse battery").newDataKey().parameters();
        Map<String, String> more = new HashMap<>(p);
        more.put("iterations", "1001");
        assertThatThrownBy(() -> fast("correct horse battery").unlock(more, ID)).isInstanceOf(InvalidInputException.class);
        Map<String, String> nonce = new HashMap<>(p);
        byte[] n = Base64.getDecoder().decode(p.get("keyNonce"));
        n[0] ^= 1;
        nonce.put("keyNonce", Base64.getEncoder().encodeToString(n));
        assertThatThrownBy(() -> fast("correct horse battery").unlock(nonce, ID)).isInstanceOf(InvalidInputException.class);
        Map<String, String> none = new HashMap<>(p);
        none.remove("wrappedKey");
        assertThatThrownBy(() -> fast("correct horse battery").unlock(none, ID)).isInstanceOf(IntegrityException.class);
    }

    @Test
    void defaultIterationsAndTheMinimumFromAManifestAreAtLeast600k() {
        assertThat(Encryption.DEFAULT_ITERATIONS).isGreaterThanOrEqualTo(600_000);
        assertThat(Encryption.MIN_ITERATIONS).isGreaterThanOrEqualTo(600_000);
        assertThat(Encryption.passphrase("correct horse battery").toString()).contains("600000 iterations");
        // a manifest written with few iterations (e.g. forged) is refused by the public API before any PBKDF2 work
        Map<String, String> weak = fast("correct horse battery").newDataKey().parameters();
        assertThatThrownBy(() -> Encryption.passphrase("correct horse battery").unlock(weak, ID)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("1000 PBKDF2 iterations").hasMessageContaining("600000");
        Map<String, String> huge = new HashMap<>(weak);
        huge.put("iterations", "2000000000");
        assertThatThrownBy(() -> Encryption.passphrase("correct horse battery").unlock(huge, ID)).isInstanceOf(IntegrityException.class);
    }

    @Test
    void badInputIsRefused() {
        assertThatThrownBy(() -> Encryption.passphrase("")).isInstanceOf(InvalidInputException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Encryption.passphrase("short")).isInstanceOf(InvalidInputException.class).hasMessageContaining("too short");
        assertThatThrownBy(() -> Encryption.passphrase((char[]) null)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Encryption.key(new byte[16])).isInstanceOf(InvalidInputException.class).hasMessageContaining("32 bytes");
        assertThatThrownBy(() -> Encryption.key(null)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void theCallersArraysAreCopied() {
        char[] p = "correct horse battery".toCharArray();
        Encryption e = Encryption.passphraseForTests(p, 1000);
        Map<String, String> params = e.newDataKey().parameters();
        java.util.Arrays.fill(p, 'x'); // the caller wipes its copy
        assertThat(fast("correct horse battery").unlock(params, ID)).isNotNull();
    }

    @Test
    void toStringNeverShowsTheSecret() {
        String pass = "correct horse battery";
        Encryption e = fast(pass);
        Encryption.DataKey k = e.newDataKey();
        byte[] raw = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        Encryption byKey = Encryption.key(raw);
        assertThat(e.toString()).doesNotContain(pass).doesNotContain("horse").contains("***");
        assertThat(byKey.toString()).doesNotContain("0123456789").doesNotContain(Base64.getEncoder().encodeToString(raw)).contains("***");
        assertThat(k.toString()).isEqualTo("DataKey[***]");
        assertThat(k.transform().toString()).doesNotContain("horse");
    }

    @Test
    void sealAuthenticatesTheAssociatedData() {
        Encryption.DataKey k = Encryption.key(new byte[32]).newDataKey();
        byte[] sealed = k.seal("artifact list".getBytes(), "clear part".getBytes());
        assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("artifact list");
        assertThat(k.open(sealed, "clear part".getBytes())).isEqualTo("artifact list".getBytes());
        assertThatThrownBy(() -> k.open(sealed, "clear parT".getBytes())).isInstanceOf(IntegrityException.class);
        byte[] bad = sealed.clone();
        bad[bad.length - 1] ^= 1;
        assertThatThrownBy(() -> k.open(bad, "clear part".getBytes())).isInstanceOf(IntegrityException.class);
        assertThatThrownBy(() -> k.open(new byte[5], "clear part".getBytes())).isInstanceOf(IntegrityException.class);
        Encryption.DataKey other = Encryption.key(new byte[32]).newDataKey();
        assertThatThrownBy(() -> other.open(sealed, "clear part".getBytes())).isInstanceOf(IntegrityException.class);
    }

    @Test
    void withoutAKeyTheEncryptedTransformCannotBeResolved() {
        assertThatThrownBy(() -> Transforms.forId(Encryption.TRANSFORM_ID)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("encrypted").hasMessageContaining("SGBACKUP_PASSPHRASE");
    }

    @Test
    void hkdfMatchesRfc5869TestCase1() {
        // RFC 5869 A.1 (first 32 bytes of OKM)
        byte[] ikm = new byte[22];
        java.util.Arrays.fill(ikm, (byte) 0x0b);
        byte[] salt = java.util.HexFormat.of().parseHex("000102030405060708090a0b0c");
        byte[] info = java.util.HexFormat.of().parseHex("f0f1f2f3f4f5f6f7f8f9");
        byte[] okm = Hkdf.sha256(ikm, salt, info);
        assertThat(java.util.HexFormat.of().formatHex(okm)).isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }
}
