package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PrefetchInputStreamTest {
    @Test
    void sameBytesAndTheSourcesFailureAtTheEnd() throws Exception {
        byte[] data = new byte[3_000_001];
        new Random(7).nextBytes(data);
        try (InputStream in = new PrefetchInputStream(new ByteArrayInputStream(data), 1 << 16, 4)) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        InputStream damaged = new FilterInputStream(new ByteArrayInputStream(data)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n < 0) {
                    throw new IntegrityException("damaged at the end");
                }
                return n;
            }
        };
        try (InputStream in = new PrefetchInputStream(damaged, 1 << 16, 4)) {
            byte[] buf = new byte[1 << 20];
            assertThatThrownBy(() -> {
                long t = 0;
                int n;
                while ((n = in.read(buf)) > 0) {
                    t += n;
                }
            }).isInstanceOf(IntegrityException.class).hasMessage("damaged at the end");
        }
    }

    @Test
    void closingEarlyStopsTheReader() throws Exception {
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                java.util.Arrays.fill(b, off, off + len, (byte) 1);
                return len;
            }
        };
        PrefetchInputStream in = new PrefetchInputStream(endless, 1 << 10, 2);
        assertThat(in.read()).isEqualTo(1);
        long t0 = System.nanoTime();
        in.close();
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(5000);
    }
}
