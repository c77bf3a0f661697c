package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import org.junit.jupiter.api.Test;

/** A JDBC restore into an instance that runs another Sourcegraph version is refused before anything is written. */
class VersionCheckTest {
    static final String SCHEMA = "sourcegraph-frontend-5.11.sql";

    static void version(String db, String v) throws Exception {
        TestPg.exec(db, "DELETE FROM versions", "INSERT INTO versions (service, version, first_version) VALUES ('frontend', '" + v
                + "', '5.0.0')");
    }

    @Test
    void sameVersionPassesOtherVersionIsRefusedWithTheFix() throws Exception {
        String src = TestPg.schemaDb(SCHEMA);
        version(src, "5.11.6271");
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.JDBC).build().backup(out);
        assertThat(out.properties.get("sourcegraph.version")).contains("5.11.6271");

        String same = TestPg.schemaDb(SCHEMA);
        version(same, "5.11.6271");
        CheckReport ok = new CheckReport();
        PostgresStore.builder("frontend", TestPg.url(same)).build().checkRestore(out.storeBackup("frontend"), new RestoreOptions(true, false), ok);
        assertThat(ok.findings()).as(ok.toString()).noneMatch(f -> f.message().contains("Sourcegraph"));

        String other = TestPg.schemaDb(SCHEMA);
        version(other, "5.12.0");
        CheckReport bad = new CheckReport();
        PostgresStore.builder("frontend", TestPg.url(other)).build().checkRestore(out.storeBackup("frontend"), new RestoreOptions(true, false), bad);
        assertThat(bad.ok()).isFalse();
        assertThat(bad.toString()).contains("5.11.6271").contains("5.12.0").contains("same version");
    }
}
