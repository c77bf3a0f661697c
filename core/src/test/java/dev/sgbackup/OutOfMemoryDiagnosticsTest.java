package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OutOfMemoryDiagnosticsTest {
    @Test
    void recognisesAnOutOfMemoryErrorThrownWrappedOrQuotedByAnAssertion() {
        assertThat(OutOfMemoryDiagnostics.mentionsOutOfMemory(new OutOfMemoryError("Java heap space"))).isTrue();
        assertThat(OutOfMemoryDiagnostics.mentionsOutOfMemory(new RuntimeException("x", new OutOfMemoryError()))).isTrue();
        assertThat(OutOfMemoryDiagnostics.mentionsOutOfMemory(new AssertionError("but was:\n  java.lang.OutOfMemoryError: Java heap space")))
                .isTrue();
        assertThat(OutOfMemoryDiagnostics.mentionsOutOfMemory(new IllegalStateException("disk full"))).isFalse();
    }
}
