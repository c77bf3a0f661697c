package dev.sgbackup.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Random;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StreamTransformTest {
    static final int S = 1 << StreamTransform.SEGMENT_LOG2;
    static final int SEALED = S + StreamTransform.TAG;
    static final int H = StreamTransform.HEADER;
    static final Transform.ArtifactContext CTX = new Transform.ArtifactContext("20261125T170744Z-3fa9c1", "data/20261125T170744Z-3fa9c1/s01/000001.sgenc");

    static StreamTransform transform(int seed) {
        byte[] k = new byte[32];
        new Random(seed).nextBytes(k);
        return new StreamTransform(new SecretKeySpec(k, "AES"));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] encrypt(Transform t, byte[] plain, Transform.ArtifactContext ctx) throws IOException {
        ByteArrayOutputStream bout = new ByteArrayOutputStream();
        try (OutputStream o = t.wrap(bout, ctx)) {
            // odd write sizes cross segment boundaries at every offset
            int off = 0;
            int step = 1;
            while (off < plain.length) {
                int n = Math.min(step, plain.length - off);
                o.write(plain, off, n);
                off += n;
                step = step * 3 % 100_003 + 1;
            }
        }
        return bout.toByteArray();
    }

    static byte[] decrypt(Transform t, byte[] sealed, Transform.ArtifactContext ctx) throws IOException {
        try (InputStream in = t.unwrap(new ByteArrayInputStream(sealed), ctx)) {
            return in.readAllBytes();
        }
    }

    /** Sealed size: header, then ceil(n/S) segments with a final one that may be empty. */
    static int expectedSize(int n) {
        int full = n / S;
        int rest = n % S;
        if (n > 0 && rest == 0) {
            return H + full * SEALED; // the last full segment is the final one
        }
        return H + full * SEALED + rest + StreamTransform.TAG;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, S - 1, S, S + 1, 2 * S, 3 * 1024 * 1024 + 17})
    void roundTrip(int size) throws IOException {
        StreamTransform t = transform(1);
        byte[] plain = random(size, size);
        byte[] sealed = encrypt(t, plain, CTX);
        assertThat(sealed).hasSize(expectedSize(size));
        assertThat(decrypt(t, sealed, CTX)).isEqualTo(plain);
        // single-byte reads too
        try (InputStream in = t.unwrap(new ByteArrayInputStream(sealed), CTX)) {
            if (size > 0) {
                assertThat(in.read()).isEqualTo(plain[0] & 0xff);
            } else {
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void sameInputEncryptsDifferentlyEachTime() throws IOException {
        StreamTransform t = transform(1);
        byte[] plain = random(1000, 1);
        assertThat(encrypt(t, plain, CTX)).isNotEqualTo(encrypt(t, plain, CTX));
    }

    @Test
    void everyFlippedByteIsDetected() throws IOException {
        StreamTransform t = transform(1);
        byte[] plain = random(2 * S + 100, 7);
        byte[] sealed = encrypt(t, plain, CTX);
        int[] positions = {0, 4, 5, H - 1, H, H + S / 2, H + S + 3, H + SEALED - 1, H + SEALED + 10, sealed.length - 1};
        for (int p : positions) {
            byte[] bad = sealed.clone();
            bad[p] ^= 0x01;
            assertThatThrownBy(() -> decrypt(t, bad, CTX)).as("flip at %d", p).isInstanceOf(IOException.class);
        }
    }

    @Test
    void droppingTheLastSegmentIsDetected() throws IOException {
        StreamTransform t = transform(1);
        byte[] sealed = encrypt(t, random(2 * S + 100, 7), CTX);
        byte[] cut = Arrays.copyOf(sealed, H + 2 * SEALED);
        assertThatThrownBy(() -> decrypt(t, cut, CTX)).isInstanceOf(IOException.class).hasMessageContaining("truncated")
                .hasMessageContaining("not marked as the last");
        // a plaintext of exactly 2 segments: dropping the second leaves a valid-looking but non-final segment
        byte[] exact = encrypt(t, random(2 * S, 8), CTX);
        assertThatThrownBy(() -> decrypt(t, Arrays.copyOf(exact, H + SEALED), CTX)).isInstanceOf(IOException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void cuttingMidSegmentOrInTheHeaderIsDetected() throws IOException {
        StreamTransform t = transform(1);
        byte[] sealed = encrypt(t, random(2 * S + 100, 7), CTX);
        for (int len : new int[] {0, 5, H, H + 10, H + SEALED - 1, H + SEALED + S / 2, sealed.length - 1}) {
            byte[] cut = Arrays.copyOf(sealed, len);
            assertThatThrownBy(() -> decrypt(t, cut, CTX)).as("cut to %d", len).isInstanceOf(IOException.class);
        }
    }

    @Test
    void appendedBytesAreDetected() throws IOException {
        StreamTransform t = transform(1);
        byte[] exact = encrypt(t, random(S, 8), CTX);
        byte[] longer = Arrays.copyOf(exact, exact.length + 20);
        assertThatThrownBy(() -> decrypt(t, longer, CTX)).isInstanceOf(IOException.class);
        byte[] small = encrypt(t, random(100, 8), CTX);
        byte[] smallLonger = Arrays.copyOf(small, small.length + 1);
        assertThatThrownBy(() -> decrypt(t, smallLonger, CTX)).isInstanceOf(IOException.class);
    }

    @Test
    void reorderedSegmentsAreDetected() throws IOException {
        StreamTransform t = transform(1);
        byte[] sealed = encrypt(t, random(3 * S + 5, 9), CTX);
        byte[] swapped = sealed.clone();
        System.arraycopy(sealed, H, swapped, H + SEALED, SEALED);
        System.arraycopy(sealed, H + SEALED, swapped, H, SEALED);
        assertThatThrownBy(() -> decrypt(t, swapped, CTX)).isInstanceOf(IOException.class).hasMessageContaining("segment 0");
        // a duplicated segment in place of another
        byte[] dup = sealed.clone();
        System.arraycopy(sealed, H, dup, H + SEALED, SEALED);
        assertThatThrownBy(() -> decrypt(t, dup, CTX)).isInstanceOf(IOException.class).hasMessageContaining("segment 1");
    }

    @Test
    void anArtifactIsBoundToItsBackupAndKey() throws IOException {
        StreamTransform t = transform(1);
        byte[] sealed = encrypt(t, random(500, 3), CTX);
        Transform.ArtifactContext otherBackup = new Transform.ArtifactContext("20261125T170745Z-000000", CTX.artifactKey());
        Transform.ArtifactContext otherKey = new Transform.ArtifactContext(CTX.backupId(), "data/20261125T170744Z-3fa9c1/s01/000002.sgenc");
        assertThatThrownBy(() -> decrypt(t, sealed, otherBackup)).isInstanceOf(IOException.class).hasMessageContaining("another artifact or backup");
        assertThatThrownBy(() -> decrypt(t, sealed, otherKey)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> decrypt(transform(2), sealed, CTX)).as("other data key").isInstanceOf(IOException.class);
        assertThat(decrypt(t, sealed, CTX)).isEqualTo(random(500, 3));
    }

    @Test
    void noUnauthenticatedByteIsReturned() throws IOException {
        StreamTransform t = transform(1);
        byte[] sealed = encrypt(t, random(S + 10, 3), CTX);
        sealed[H + 1] ^= 1;
        try (InputStream in = t.unwrap(new ByteArrayInputStream(sealed), CTX)) {
            assertThatThrownBy(in::read).isInstanceOf(IOException.class);
        }
    }

    @Test
    void plaintextDoesNotAppearInTheCiphertext() throws IOException {
        byte[] secret = "ghp_SECRETTOKEN0123456789abcdefABCDEF".getBytes();
        byte[] plain = new byte[200_000];
        for (int i = 0; i + secret.length <= plain.length; i += secret.length) {
            System.arraycopy(secret, 0, plain, i, secret.length);
        }
        byte[] sealed = encrypt(transform(1), plain, CTX);
        assertThat(indexOf(sealed, Arrays.copyOf(secret, 8))).isEqualTo(-1);
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
