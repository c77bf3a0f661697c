package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The configuration-store flags of the reference CLI (the store itself is tested in core). */
class SourcegraphCliTest {
    @TempDir
    Path tmp;

    @Test
    void secretsNeedTheSourcegraphStore() {
        CliTest.Run r = CliTest.cli("restore", "--from", tmp.toUri().toString(), "--backup", "x", "--volume",
                "v=" + tmp.resolve("v"), "--secrets", tmp.resolve("s.json").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--secrets is for the configuration store: add --sourcegraph URL");
        assertThat(CliTest.cli("backup", "--to", tmp.toUri().toString(), "--secrets", "s.json").code()).isEqualTo(2);
    }

    @Test
    void planWithTheSourcegraphStore() {
        CliTest.Run r = CliTest.cli("plan", "--sourcegraph", "http://127.0.0.1:9", "--to", tmp.resolve("sink").toUri().toString());
        if (System.getenv("SRC_ACCESS_TOKEN") == null) {
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("SRC_ACCESS_TOKEN").doesNotContain("\tat ");
        } else {
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("sourcegraph-config").doesNotContain(System.getenv("SRC_ACCESS_TOKEN"));
        }
    }

    @Test
    void usageNamesTheFlags() {
        CliTest.Run r = CliTest.cli("--help");
        assertThat(r.out()).contains("--sourcegraph URL").contains("--secrets FILE").contains("SRC_ACCESS_TOKEN");
    }
}
