package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.run.ProgressEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressPrinterTest {
    static String print(boolean terminal, ProgressEvent... events) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressPrinter p = new ProgressPrinter(new PrintStream(buf, true, StandardCharsets.UTF_8), terminal);
        for (ProgressEvent e : events) {
            p.onEvent(e);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    static ProgressEvent ev(ProgressEvent.Type t, String step, long done, String msg) {
        return new ProgressEvent(t, step, null, done, 100L << 20, 1, 4, Duration.ofSeconds(10), msg);
    }

    @Test
    void terminalGetsABarWithThroughputAndEta() {
        String s = print(true, ev(ProgressEvent.Type.BYTES, "repos", 50L << 20, null));
        assertThat(s).startsWith("\r[").contains("50%").contains("50.0MiB / 100.0MiB").contains("5.0MiB/s").contains("eta 10s")
                .contains("repos");
    }

    @Test
    void plainOutputHasStepLinesAndWarningsButNoBar() {
        String s = print(false, ev(ProgressEvent.Type.STEP_STARTED, "repos", 0, null), ev(ProgressEvent.Type.BYTES, "repos", 10, null),
                ev(ProgressEvent.Type.WARNING, "repos", 10, "file vanished: a/b"), ev(ProgressEvent.Type.STEP_FINISHED, "repos", 10, null));
        assertThat(s).doesNotContain("\r").doesNotContain("[#");
        assertThat(s.lines()).containsExactly("repos: started", "warning: repos: file vanished: a/b", "repos: done, 10B so far");
    }
}
