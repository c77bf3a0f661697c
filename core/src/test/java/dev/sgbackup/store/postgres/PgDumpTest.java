package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sgbackup.InvalidInputException;
import dev.sgbackup.StoreException;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pg_dump strategy with the machine's pg_dump (same major as the embedded server). */
class PgDumpTest {
    static String src;
    static Map<String, String> content;
    static MemoryStoreIo dump;

    @BeforeAll
    static void dumpFilledFrontend() throws Exception {
        assumeTrue(PgDump.tool("pg_dump", null).isPresent(), "pg_dump not installed (apt-get install postgresql-client)");
        src = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        content = DbContent.tables(src);
        dump = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.PG_DUMP).build().backup(dump);
    }

    @Test
    void dumpIsOneCustomFormatArtifactWithTheFacts() throws Exception {
        assertThat(dump.properties.get("strategy")).isEqualTo("pg_dump");
        assertThat(dump.properties).containsKeys("schema.fingerprint", "server.version", "sourcegraph.version");
        assertThat(dump.artifacts).singleElement().satisfies(a -> assertThat(a.name()).isEqualTo("pg_dump"));
        assertThat(new String(dump.bytes("pg_dump"), 0, 5)).isEqualTo("PGDMP");
    }

    @Test
    void restoresIntoAnEmptyDatabaseStreamedAndInParallel() throws Exception {
        String dst = TestPg.emptyDb();
        PostgresStore.builder("frontend", TestPg.url(dst)).build().restore(dump.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.tables(dst)).isEqualTo(content);
        assertThat(DbContent.sequences(dst)).isEqualTo(DbContent.sequences(src));

        String par = TestPg.emptyDb();
        PostgresStore.builder("frontend", TestPg.url(par)).restoreJobs(2).build()
                .restore(dump.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.tables(par)).isEqualTo(content);
    }

    @Test
    void nonEmptyTargetNeedsReplaceWhichRunsInOneTransaction() throws Exception {
        String dst = TestPg.schemaDb("sourcegraph-frontend-5.11.sql");
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).build();
        assertThatThrownBy(() -> store.restore(dump.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("empty database")
                .hasMessageContaining("--replace");
        store.restore(dump.input("frontend", new RestoreOptions(true, false)));
        assertThat(DbContent.tables(dst)).isEqualTo(content);
    }

    @Test
    void toolErrorsFailWithTheToolsMessageAndRollBack() throws Exception {
        String dst = TestPg.emptyDb();
        TestPg.exec(dst, "CREATE TABLE keep (id int)", "INSERT INTO keep VALUES (7)");
        MemoryStoreIo broken = new MemoryStoreIo("postgres", 1);
        broken.properties.putAll(dump.properties);
        var out = broken.artifact("pg_dump", Map.of());
        out.write("PGDMP this is not a dump".getBytes());
        out.close();
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst)).build()
                .restore(broken.input("frontend", new RestoreOptions(true, false))))
                .isInstanceOf(StoreException.class).hasMessageContaining("pg_restore into")
                .hasMessageContaining("pg_restore: error");
        assertThat(DbContent.rows(dst, "keep")).isEqualTo(1);
    }

    @Test
    void olderOrMissingPgDumpIsRefusedAndAutoFallsBackToJdbc(@TempDir Path bin) throws Exception {
        Path fake = bin.resolve("pg_dump");
        Files.writeString(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        String db = TestPg.emptyDb();
        TestPg.exec(db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(db)).mode(PostgresStore.Mode.PG_DUMP).binDir(bin)
                .build().backup(new MemoryStoreIo("postgres", 1)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("pg_dump 9 (" + fake + ") is older than the server (15)")
                .hasMessageContaining("pg_dump 15 or newer");
        MemoryStoreIo auto = new MemoryStoreIo("postgres", 1);
        PostgresStore.builder("db", TestPg.url(db)).binDir(bin).build().backup(auto);
        assertThat(auto.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(auto.warnings).anyMatch(w -> w.contains("older than the server") && w.contains("over JDBC instead"));

        Path empty = Files.createDirectory(bin.resolve("empty"));
        MemoryStoreIo none = new MemoryStoreIo("postgres", 1);
        PostgresStore.builder("db", TestPg.url(db)).binDir(empty).build().backup(none);
        assertThat(none.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(none.warnings).anyMatch(w -> w.contains("pg_dump is not installed"));
    }
}
