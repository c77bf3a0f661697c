package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PostgreSQL flags of the reference CLI (the store itself is tested in core against a real server). */
class PostgresCliTest {
    @TempDir
    Path tmp;

    @Test
    void flagsAreCheckedBeforeAnythingRuns() {
        String sink = tmp.resolve("sink").toUri().toString();
        CliTest.Run bad = CliTest.cli("backup", "--postgres", "frontend=jdbc:postgresql://127.0.0.1:1/sg",
                "--postgres-mode", "dump", "--to", sink);
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--postgres-mode takes pg_dump, jdbc or auto, got 'dump'");

        CliTest.Run noDb = CliTest.cli("backup", "--tables", "users", "--volume", "v=" + tmp, "--to", sink);
        assertThat(noDb.code()).isEqualTo(2);
        assertThat(noDb.err()).contains("add --postgres NAME=JDBC_URL");

        CliTest.Run restoreMode = CliTest.cli("restore", "--from", sink, "--backup", "x",
                "--postgres", "frontend=jdbc:postgresql://127.0.0.1:1/sg", "--postgres-mode", "jdbc");
        assertThat(restoreMode.code()).isEqualTo(2);
        assertThat(restoreMode.err()).contains("unknown option --postgres-mode");

        CliTest.Run category = CliTest.cli("backup", "--postgres", "frontend=jdbc:postgresql://127.0.0.1:1/sg",
                "--tables", "users,nope", "--to", sink);
        assertThat(category.code()).isEqualTo(1);
        assertThat(category.err()).contains("unknown table category 'nope'");
    }

    @Test
    void unreachableDatabaseIsOneClearErrorWithoutThePassword() {
        CliTest.Run r = CliTest.cli("backup", "--postgres", "frontend=jdbc:postgresql://127.0.0.1:1/sg?user=sg&password=s3cr3t-pw",
                "--to", tmp.resolve("sink").toUri().toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("cannot reach PostgreSQL at 127.0.0.1:1").doesNotContain("s3cr3t-pw")
                .doesNotContain("\tat ");
    }

    @Test
    void usageNamesTheFlags() {
        assertThat(CliTest.cli("--help").out()).contains("--postgres NAME=JDBC_URL").contains("--postgres-mode")
                .contains("--tables CATEGORY");
    }
}
