package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three Sourcegraph databases through the engine (zstd, local sink), restored into migrated instances. */
class PostgresEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void frontendCodeintelCodeinsightsThroughSgBackup() throws Exception {
        String fe = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        String ci = JdbcRoundTripTest.filled("sourcegraph-codeintel-5.11.sql");
        String cs = JdbcRoundTripTest.filled("sourcegraph-codeinsights-5.11.sql");
        TestPg.exec(fe, "INSERT INTO versions (service, version, first_version) VALUES ('frontend', '5.11.6271', '5.0.0')"
                + " ON CONFLICT DO NOTHING");
        Map<String, String> feBefore = DbContent.tables(fe);
        SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).compression("zstd").build();
        RunResult r = sg.backup(
                PostgresStore.builder("frontend", TestPg.url(fe) + "&password=not-for-logs").mode(PostgresStore.Mode.JDBC).build(),
                PostgresStore.builder("codeintel", TestPg.url(ci)).mode(PostgresStore.Mode.JDBC).build(),
                PostgresStore.builder("codeinsights", TestPg.url(cs)).build()); // AUTO: pg_dump when installed
        assertThat(r.ok()).as(r.toString()).isTrue();
        Manifest m = sg.show(r.backupId());
        StoreBackup front = m.store("frontend").orElseThrow();
        assertThat(front.properties().get("sourcegraph.version")).contains("5.11.6271");
        assertThat(front.description()).contains("password=***");
        try (Stream<Path> files = Files.walk(tmp.resolve("sink"))) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                if (p.toString().endsWith(".json")) {
                    assertThat(Files.readString(p)).doesNotContain("not-for-logs");
                }
            }
        }

        String fe2 = TestPg.schemaDb("sourcegraph-frontend-5.11.sql");
        String ci2 = TestPg.schemaDb("sourcegraph-codeintel-5.11.sql");
        String cs2 = TestPg.emptyDb(); // pg_dump (or JDBC) target for codeinsights
        boolean dumped = "pg_dump".equals(m.store("codeinsights").orElseThrow().properties().get("strategy"));
        if (!dumped) {
            cs2 = TestPg.schemaDb("sourcegraph-codeinsights-5.11.sql");
        }
        String target3 = cs2;
        // the engine's checks refuse the migrated (seeded) frontend without replace, before writing anything
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(),
                PostgresStore.builder("frontend", TestPg.url(fe2)).build()))
                .hasMessageContaining("not empty").hasMessageContaining("replace");
        RunResult rr = sg.restore(r.backupId(), new RestoreOptions(true, false),
                PostgresStore.builder("frontend", TestPg.url(fe2)).build(),
                PostgresStore.builder("codeintel", TestPg.url(ci2)).build(),
                PostgresStore.builder("codeinsights", TestPg.url(target3)).build());
        assertThat(rr.ok()).as(rr.toString()).isTrue();
        assertThat(DbContent.tables(fe2)).isEqualTo(feBefore);
        assertThat(DbContent.tables(ci2)).isEqualTo(DbContent.tables(ci));
        assertThat(DbContent.tables(target3)).isEqualTo(DbContent.tables(cs));
    }
}
