package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReadAheadTest {
    static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(7).nextBytes(b);
        return b;
    }

    /** Like the engine's stream: throws at its end instead of returning -1. */
    static InputStream failingAtEnd(byte[] data) {
        return new FilterInputStream(new ByteArrayInputStream(data)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n < 0) {
                    throw new IntegrityException("damaged at the end");
                }
                return n;
            }
        };
    }

    @Test
    void passesEveryByteThroughInOrder() throws IOException {
        byte[] data = random((5 << 20) + 123);
        try (ReadAhead in = new ReadAhead(new ByteArrayInputStream(data), "t")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] small = new byte[517];
            int n = in.read(small);
            out.write(small, 0, n);
            out.write(in.read());
            in.transferTo(out);
            assertThat(out.toByteArray()).isEqualTo(data);
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test
    void aFailureAtTheEndReachesTheConsumerAtTheEndAndStays() throws IOException {
        byte[] data = random(3 << 20);
        try (ReadAhead in = new ReadAhead(failingAtEnd(data), "t")) {
            byte[] got = in.readNBytes(data.length);
            assertThat(got).isEqualTo(data);
            assertThatThrownBy(in::read).isInstanceOf(IntegrityException.class).hasMessage("damaged at the end");
            assertThatThrownBy(in::read).isInstanceOf(IntegrityException.class);
        }
    }

    @Test
    void closingEarlyStopsTheReaderThread() throws Exception {
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return len;
            }
        };
        ReadAhead in = new ReadAhead(endless, "read-ahead-under-test");
        in.read(new byte[10]);
        in.close();
        Thread.sleep(50);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("read-ahead-under-test"));
    }
}
