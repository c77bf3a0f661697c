package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class RepoKeysTest {
    static final byte[] DATA = "INSERT INTO event_logs VALUES (1, 'ViewBlob')".getBytes(StandardCharsets.UTF_8);

    @Test
    void unkeyedIdsArePlainSha256() throws Exception {
        ChunkId id = RepoKeys.unencrypted().id(DATA, 0, DATA.length);
        assertThat(id.bytes()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(DATA));
        assertThat(RepoKeys.unencrypted().encrypted()).isFalse();
        assertThat(RepoKeys.unencrypted().gear()).isEqualTo(FastCdc.defaultGear());
    }

    @Test
    void keyedIdsAreHmacWithAnHkdfSubkey() throws Exception {
        byte[] master = FastCdcTest.random(51, 32);
        // HKDF-SHA256 by hand (RFC 5869): PRK = HMAC(zeros, master); OKM = HMAC(PRK, info ‖ 0x01)
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
        byte[] prk = mac.doFinal(master);
        mac.init(new SecretKeySpec(prk, "HmacSHA256"));
        mac.update("sgbackup/dedup/id/v1".getBytes(StandardCharsets.US_ASCII));
        mac.update((byte) 1);
        byte[] idKey = mac.doFinal();
        mac.init(new SecretKeySpec(idKey, "HmacSHA256"));
        byte[] expected = mac.doFinal(DATA);

        RepoKeys keys = RepoKeys.fromMaster(master);
        assertThat(keys.encrypted()).isTrue();
        assertThat(keys.id(DATA, 0, DATA.length).bytes()).isEqualTo(expected)
                .isNotEqualTo(MessageDigest.getInstance("SHA-256").digest(DATA));
        assertThat(RepoKeys.fromMaster(FastCdcTest.random(52, 32)).id(DATA, 0, DATA.length))
                .isNotEqualTo(keys.id(DATA, 0, DATA.length));
        // an id of a slice is the id of those bytes
        assertThat(keys.id(DATA, 7, 4)).isEqualTo(keys.id(java.util.Arrays.copyOfRange(DATA, 7, 11), 0, 4));
    }

    @Test
    void shardNamesAreShortAndOpaque() {
        String plain = RepoKeys.unencrypted().shardName("frontend-db");
        String keyed = RepoKeys.fromMaster(FastCdcTest.random(53, 32)).shardName("frontend-db");
        assertThat(plain).matches("[0-9a-f]{16}").isNotEqualTo(keyed);
        assertThat(keyed).matches("[0-9a-f]{16}");
        assertThat(RepoKeys.unencrypted().shardName("gitserver")).isNotEqualTo(plain);
    }
}
