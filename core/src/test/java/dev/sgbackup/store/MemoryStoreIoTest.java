package dev.sgbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shared store-test double must catch what the engine catches, or store damage tests prove nothing. */
class MemoryStoreIoTest {
    @TempDir
    Path tmp;

    MemoryStoreIo io(boolean inDirectory) throws IOException {
        MemoryStoreIo io = inDirectory ? MemoryStoreIo.inDirectory("test", tmp) : new MemoryStoreIo("test");
        try (var s = io.artifact("a/b")) {
            s.write("hello world".getBytes(StandardCharsets.UTF_8));
        }
        return io;
    }

    static byte[] readAll(MemoryStoreIo io) throws IOException {
        try (InputStream in = io.input("s", RestoreOptions.defaults()).open(io.recorded("a/b"))) {
            return in.readAllBytes();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void recordsRealSizeAndHashAndReadsBackWhatWasWritten(boolean inDirectory) throws IOException {
        MemoryStoreIo io = io(inDirectory);
        ArtifactInfo a = io.recorded("a/b");
        assertThat(a.size()).isEqualTo(11);
        assertThat(a.sha256()).isEqualTo("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assertThat(new String(readAll(io), StandardCharsets.UTF_8)).isEqualTo("hello world");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aDamagedOrTruncatedArtifactFailsAtTheEnd(boolean inDirectory) throws IOException {
        MemoryStoreIo damaged = io(inDirectory);
        damaged.damage("a/b");
        assertThatThrownBy(() -> readAll(damaged)).isInstanceOf(IntegrityException.class).hasMessageContaining("a/b");
        MemoryStoreIo truncated = io(inDirectory);
        truncated.truncate("a/b", 5);
        assertThatThrownBy(() -> readAll(truncated)).isInstanceOf(IntegrityException.class).hasMessageContaining("5 bytes");
    }

    @Test
    void anAbortedArtifactIsNotRecordedAndCancelStopsTheStore() throws IOException {
        MemoryStoreIo io = new MemoryStoreIo("test", 3);
        var s = io.artifact("gone");
        s.write(1);
        s.abort();
        s.close();
        assertThat(io.artifacts).isEmpty();
        assertThat(io.aborted).containsExactly("gone");
        assertThat(io.input("s", RestoreOptions.defaults()).parallelism()).isEqualTo(3);
        io.checkCancelled();
        io.cancel();
        assertThatThrownBy(io::checkCancelled).isInstanceOf(CancelledException.class);
        assertThatThrownBy(() -> io.input("s", RestoreOptions.defaults()).checkCancelled())
                .isInstanceOf(CancelledException.class);
    }
}
