package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnectionSpecTest {
    @TempDir
    Path home;

    @Test
    void passwordInUrlIsUsedButRedactedEverywhere() {
        ConnectionSpec s = ConnectionSpec.resolve("jdbc:postgresql://db.example:5433/sg?user=sg&password=hunter22&sslmode=require",
                null, 5, Map.of(), home);
        assertThat(s.passwordInUrl()).isTrue();
        assertThat(s.passwordSource()).isEqualTo("URL");
        assertThat(s.redactedUrl()).isEqualTo("jdbc:postgresql://db.example:5433/sg?user=sg&password=***&sslmode=require");
        assertThat(s.toString()).doesNotContain("hunter22");
        assertThat(s.libpqEnv()).containsEntry("PGPASSWORD", "hunter22").containsEntry("PGHOST", "db.example")
                .containsEntry("PGPORT", "5433").containsEntry("PGDATABASE", "sg").containsEntry("PGUSER", "sg")
                .containsEntry("PGSSLMODE", "require");
        assertThat(ConnectionSpec.stripSecrets("jdbc:postgresql://h/sg?password=x&user=u")).isEqualTo("jdbc:postgresql://h/sg?user=u");
        assertThat(s.redactSecret("FATAL: bad hunter22")).doesNotContain("hunter22");
        PostgresStore store = PostgresStore.builder("frontend", "jdbc:postgresql://h/sg?password=hunter22").build();
        assertThat(store.toString() + store.describe()).doesNotContain("hunter22").contains("***");
    }

    @Test
    void precedenceBuilderThenUrlThenEnvThenPgpass() throws Exception {
        Path pgpass = home.resolve(".pgpass");
        Files.writeString(pgpass, "# comment\nother:*:*:*:nope\ndb:5432:sg:sg:from\\:file\n*:*:*:*:wild\n");
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-------"));
        String url = "jdbc:postgresql://db:5432/sg?user=sg";
        assertThat(ConnectionSpec.resolve(url, null, 5, Map.of(), home).libpqEnv()).containsEntry("PGPASSWORD", "from:file");
        assertThat(ConnectionSpec.resolve(url, null, 5, Map.of("PGPASSWORD", "env"), home).passwordSource()).isEqualTo("PGPASSWORD");
        assertThat(ConnectionSpec.resolve(url + "&password=u", null, 5, Map.of("PGPASSWORD", "env"), home).passwordSource()).isEqualTo("URL");
        assertThat(ConnectionSpec.resolve(url + "&password=u", "b".toCharArray(), 5, Map.of(), home).libpqEnv())
                .containsEntry("PGPASSWORD", "b");
        assertThat(ConnectionSpec.resolve("jdbc:postgresql://x:1/y?user=z", null, 5, Map.of(), home).libpqEnv())
                .containsEntry("PGPASSWORD", "wild");
        // group-readable files are ignored, as libpq does
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(ConnectionSpec.resolve(url, null, 5, Map.of(), home).passwordSource()).isEqualTo("none");
        // PGPASSFILE overrides ~/.pgpass
        Path other = home.resolve("pass");
        Files.writeString(other, "*:*:*:*:alt\n");
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        assertThat(ConnectionSpec.resolve(url, null, 5, Map.of("PGPASSFILE", other.toString()), home).libpqEnv())
                .containsEntry("PGPASSWORD", "alt");
    }

    @Test
    void optionsMapToPgoptionsAndUserDefaultsFromEnv() {
        ConnectionSpec s = ConnectionSpec.resolve("jdbc:postgresql://h/sg?options=-c%20app.current_tenant%3D1", null, 5,
                Map.of("PGUSER", "envuser"), home);
        assertThat(s.libpqEnv()).containsEntry("PGOPTIONS", "-c app.current_tenant=1").containsEntry("PGUSER", "envuser")
                .doesNotContainKey("PGPASSWORD");
    }

    @Test
    void notAPostgresUrlIsRefused() {
        assertThatThrownBy(() -> ConnectionSpec.resolve("jdbc:mysql://h/x?password=sekrit", null, 5, Map.of(), home))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("jdbc:postgresql://")
                .hasMessageNotContaining("sekrit");
    }

    @Test
    void wrongPasswordIsOneClearMessageAndRightOneWorks() throws Exception {
        String db = TestPg.emptyDb();
        TestPg.requirePassword("pwuser", "right-one");
        String url = "jdbc:postgresql://127.0.0.1:" + TestPg.port() + "/" + db + "?user=pwuser";
        PostgresStore wrong = PostgresStore.builder("frontend", url).password("wrong-secret".toCharArray()).build();
        CheckReport r = new CheckReport();
        wrong.checkBackup(r);
        assertThat(r.ok()).isFalse();
        assertThat(r.toString()).contains("refused the login").contains("pwuser").contains("password from builder")
                .doesNotContain("wrong-secret");
        assertThatThrownBy(() -> wrong.backup(new MemoryStoreIo("postgres", 1))).isInstanceOf(StoreException.class)
                .hasMessageContaining("refused the login").hasMessageNotContaining("wrong-secret");
        CheckReport ok = new CheckReport();
        PostgresStore.builder("frontend", url).password("right-one".toCharArray()).build().checkBackup(ok);
        assertThat(ok.ok()).as(ok.toString()).isTrue();
        CheckReport viaUrl = new CheckReport();
        PostgresStore.builder("frontend", url + "&password=right-one").build().checkBackup(viaUrl);
        assertThat(viaUrl.ok()).isTrue();
        assertThat(viaUrl.toString()).contains("contains a password").doesNotContain("right-one");
    }

    @Test
    void unreachableHostFailsFast() {
        long t0 = System.nanoTime();
        PostgresStore store = PostgresStore.builder("frontend", "jdbc:postgresql://10.255.255.1:5432/sg?user=sg")
                .connectTimeout(java.time.Duration.ofSeconds(2)).build();
        assertThatThrownBy(() -> store.backup(new MemoryStoreIo("postgres", 1)))
                .isInstanceOf(StoreException.class).hasMessageContaining("cannot reach PostgreSQL at 10.255.255.1:5432");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(8000);
        PostgresStore closed = PostgresStore.builder("frontend", "jdbc:postgresql://127.0.0.1:1/sg?user=sg").build();
        assertThatThrownBy(() -> closed.backup(new MemoryStoreIo("postgres", 1))).hasMessageContaining("cannot reach PostgreSQL at 127.0.0.1:1");
    }
}
