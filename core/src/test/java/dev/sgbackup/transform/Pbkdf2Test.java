package dev.sgbackup.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.Random;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;

/** Our PBKDF2 must give the JDK's key for every passphrase: a difference would lock users out of their backups. */
class Pbkdf2Test {
    private static byte[] jdk(char[] password, byte[] salt, int iterations) throws Exception {
        return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec(password, salt, iterations, 256)).getEncoded();
    }

    @Test
    void rfc7914TestVectors() {
        // RFC 7914, section 11: PBKDF2-HMAC-SHA256; the first 32 of the 64 bytes given there are the first block
        assertThat(HexFormat.of().formatHex(Pbkdf2.hmacSha256("passwd".toCharArray(), "salt".getBytes(), 1)))
                .isEqualTo("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
        assertThat(HexFormat.of().formatHex(Pbkdf2.hmacSha256("Password".toCharArray(), "NaCl".getBytes(), 80000)))
                .isEqualTo("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
    }

    @Test
    void sameKeyAsTheJdkForAnyPassphrase() throws Exception {
        Random r = new Random(42);
        String[] fixed = {"x", "correct horse battery staple", "pässwörd ünïcödé", "密码🔑 with emoji",
                "a".repeat(64), "b".repeat(65), "c".repeat(200), "\uD800 lone surrogate", "tab\tand\nnewline"};
        for (int i = 0; i < 60; i++) {
            char[] password;
            if (i < fixed.length) {
                password = fixed[i].toCharArray();
            } else {
                password = new char[1 + r.nextInt(120)];
                for (int j = 0; j < password.length; j++) {
                    // ASCII, Latin-1, CJK and, now and then, a half of a surrogate pair
                    int kind = r.nextInt(10);
                    password[j] = (char) (kind < 6 ? 0x20 + r.nextInt(0x5f) : kind < 8 ? 0xa0 + r.nextInt(0x60)
                            : kind < 9 ? 0x4e00 + r.nextInt(0x1000) : 0xd800 + r.nextInt(0x800));
                }
            }
            byte[] salt = new byte[1 + r.nextInt(40)];
            r.nextBytes(salt);
            int iterations = 1 + r.nextInt(3000);
            assertThat(Pbkdf2.hmacSha256(password, salt, iterations))
                    .as("passphrase #%d, %d iterations", i, iterations)
                    .isEqualTo(jdk(password, salt, iterations));
        }
    }

    @Test
    void sameKeyAsTheJdkAtTheIterationsBackupsUse() throws Exception {
        char[] password = "dedup benchmark passphrase".toCharArray();
        byte[] salt = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
        assertThat(Pbkdf2.hmacSha256(password, salt, Encryption.DEFAULT_ITERATIONS)).isEqualTo(jdk(password, salt, Encryption.DEFAULT_ITERATIONS));
    }

    @Test
    void refusesZeroIterations() {
        assertThatThrownBy(() -> Pbkdf2.hmacSha256("x".toCharArray(), new byte[16], 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
