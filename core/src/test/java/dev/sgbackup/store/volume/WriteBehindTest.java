package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

class WriteBehindTest {
    @Test
    void passesEveryByteThroughInOrder() throws IOException {
        byte[] data = ReadAheadTest.random((7 << 20) + 77);
        ByteArrayOutputStream target = new ByteArrayOutputStream();
        WriteBehind out = new WriteBehind(target, "t");
        out.write(data[0]);
        out.write(data, 1, 1000);
        out.write(data, 1001, data.length - 1001);
        out.finish();
        assertThat(target.toByteArray()).isEqualTo(data);
    }

    @Test
    void aFailingTargetFailsTheProducer() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("disk full");
            }
        };
        WriteBehind out = new WriteBehind(broken, "t");
        assertThatThrownBy(() -> {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                out.write(chunk);
            }
            out.finish();
        }).isInstanceOf(IOException.class).hasMessage("disk full");
    }

    @Test
    void aFailureOnTheLastChunkIsReportedByFinish() {
        WriteBehind out = new WriteBehind(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("late failure");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("late failure");
            }
        }, "t");
        assertThatThrownBy(() -> {
            out.write(new byte[10]);
            out.finish();
        }).isInstanceOf(IOException.class).hasMessage("late failure");
    }
}
