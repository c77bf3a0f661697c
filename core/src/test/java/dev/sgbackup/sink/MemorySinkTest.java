package dev.sgbackup.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import org.junit.jupiter.api.Test;

class MemorySinkTest extends SinkContractTest {
    @Override
    protected BackupSink newSink(int listPageSize) {
        return Sinks.memory(listPageSize);
    }

    @Test
    void unknownSchemeListsTheKnownOnesAndTheArtifact() {
        assertThatThrownBy(() -> Sinks.open("s3x://bucket/p"))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no sink for scheme 's3x'")
                .hasMessageContaining("known: ")
                .hasMessageContaining("file");
        assertThatThrownBy(() -> Sinks.open("gcs://bucket/p"))
                .hasMessageContaining("gs://bucket/prefix");
    }

    @Test
    void namedMemorySinksAreSharedWithinTheJvm() throws Exception {
        BackupSink a = Sinks.open("mem:/shared-test");
        put(a, "k", new byte[] {7});
        assertThat(get(Sinks.open("mem:/shared-test"), "k")).containsExactly(7);
    }
}
