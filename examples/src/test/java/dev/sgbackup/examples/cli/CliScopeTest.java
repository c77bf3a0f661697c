package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --scope on plan/backup and --phase on restore, over an instance described by volume flags. */
class CliScopeTest {
    @TempDir
    Path tmp;
    String sink;

    @BeforeEach
    void volumes() throws Exception {
        for (String v : new String[] {"gitserver-0", "prometheus"}) {
            Files.createDirectories(tmp.resolve(v));
            Files.writeString(tmp.resolve(v).resolve("data"), v);
        }
        sink = tmp.resolve("sink").toUri().toString();
    }

    @Test
    void essentialPlanLeavesOutWhatCanBeRecreatedAndSaysSo() {
        CliTest.Run p = cli("plan", "--scope", "essential", "--volume", "gitserver-0=" + tmp.resolve("gitserver-0"),
                "--volume", "prometheus=" + tmp.resolve("prometheus"), "--to", sink);
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.out()).containsPattern("skip +gitserver-0").contains("re-clone").containsPattern("backup +prometheus")
                .containsPattern("skip +redis").contains("ephemeral").contains("scope=essential");
        assertThat(tmp.resolve("sink")).doesNotExist();
    }

    @Test
    void scopedBackupThenPhasedRestore() throws Exception {
        CliTest.Run b = cli("backup", "--scope", "all", "--volume", "gitserver-0=" + tmp.resolve("gitserver-0"),
                "--volume", "prometheus=" + tmp.resolve("prometheus"), "--to", sink);
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.last();
        assertThat(cli("show", "--from", sink, "--backup", id).out()).contains("scope       all");

        // the config phase has nothing to do in a volume-only backup
        CliTest.Run none = cli("restore", "--from", sink, "--backup", id, "--volume", "prometheus=" + tmp.resolve("p2"), "--phase", "config");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).contains("nothing to restore");

        CliTest.Run r = cli("restore", "--from", sink, "--backup", id, "--volume", "prometheus=" + tmp.resolve("p2"), "--phase", "volumes");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("skipped: store gitserver-0").contains("checkpoint before phase volumes");
        assertThat(Files.readString(tmp.resolve("p2/data"))).isEqualTo("prometheus");
    }

    @Test
    void scopeAndPhaseUsageErrorsExitTwo() {
        assertThat(cli("plan", "--scope", "everything", "--volume", "v=" + tmp, "--to", sink).code()).isEqualTo(2);
        assertThat(cli("plan", "--scope", "all", "--to", sink).code()).isEqualTo(2);
        assertThat(cli("plan", "--scope", "all", "--tables", "users", "--volume", "v=" + tmp, "--to", sink).code()).isEqualTo(2);
        String id = cli("backup", "--volume", "prometheus=" + tmp.resolve("prometheus"), "--to", sink).last();
        CliTest.Run kind = cli("restore", "--from", sink, "--backup", id, "--postgres", "prometheus=jdbc:postgresql://127.0.0.1:9/x");
        assertThat(kind.code()).isEqualTo(2);
        assertThat(kind.err()).contains("is a volume store").contains("--volume prometheus=DIR");
        assertThat(cli("restore", "--from", sink, "--backup", id, "--volume", "prometheus=" + tmp.resolve("x"), "--phase", "later").code())
                .isEqualTo(2);
    }
}
