package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.examples.EmbeddedPg;
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
        assertThat(r.code()).isEqualTo(3); // refused by the check: nothing was written
        assertThat(r.err()).contains("cannot reach PostgreSQL at 127.0.0.1:1").doesNotContain("s3cr3t-pw")
                .doesNotContain("\tat ");
    }

    static final String SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE);"
            + "CREATE TABLE orgs (id serial PRIMARY KEY, name text NOT NULL);"
            + "CREATE TABLE org_members (id serial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id),"
            + " user_id int NOT NULL REFERENCES users(id));"
            + "CREATE TABLE event_logs (id bigserial PRIMARY KEY, name text NOT NULL);";

    @Test
    void backupCategoriesAndRestoreThroughTheCli() throws Exception {
        String src = EmbeddedPg.database(SCHEMA + "INSERT INTO users (username) SELECT 'u' || g FROM generate_series(1, 50) g;"
                + "INSERT INTO orgs (name) VALUES ('acme'), ('initech');"
                + "INSERT INTO org_members (org_id, user_id) SELECT 1 + g % 2, g FROM generate_series(1, 50) g;"
                + "INSERT INTO event_logs (name) SELECT 'e' FROM generate_series(1, 500);");
        String sink = tmp.resolve("sink").toUri().toString();
        CliTest.Run b = CliTest.cli("backup", "--postgres", "frontend=" + EmbeddedPg.url(src), "--postgres-mode", "jdbc",
                "--tables", "orgs", "--to", sink);
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.err()).contains("added for foreign keys").contains("public.users");
        String id = b.last();

        CliTest.Run show = CliTest.cli("show", "--from", sink, "--backup", id);
        assertThat(show.out()).contains("artifact public.orgs").contains("artifact public.users")
                .doesNotContain("artifact public.event_logs");

        String dst = EmbeddedPg.database(SCHEMA + "INSERT INTO users (username) VALUES ('seed');");
        CliTest.Run refused = CliTest.cli("restore", "--from", sink, "--backup", id, "--postgres", "frontend=" + EmbeddedPg.url(dst));
        assertThat(refused.code()).isEqualTo(3);
        assertThat(refused.err()).contains("not empty").contains("--replace");
        CliTest.Run r = CliTest.cli("restore", "--from", sink, "--backup", id, "--postgres", "frontend=" + EmbeddedPg.url(dst),
                "--replace");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM org_members")).isEqualTo(50);
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM users WHERE username = 'seed'")).isZero();
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM event_logs")).isZero();
    }

    @Test
    void usageNamesTheFlags() {
        assertThat(CliTest.cli("--help").out()).contains("--postgres NAME=JDBC_URL").contains("--postgres-mode")
                .contains("--tables CATEGORY");
    }
}
