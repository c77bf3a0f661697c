package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PgFixtures;
import dev.sgbackup.store.postgres.PostgresStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Sourcegraph-shaped instance on real parts (5.11 frontend and codeinsights databases with rows in embedded
 * PostgreSQL, configuration served by a stub of the GraphQL API, volumes) through each preset into a local sink,
 * then restored into a new instance whose contents must equal the old one's.
 */
class InstanceEndToEndTest {
    static final String FRONTEND = "sourcegraph-frontend-5.11.sql";
    static final String INSIGHTS = "sourcegraph-codeinsights-5.11.sql";

    @TempDir
    Path tmp;
    ApiStoreTest api;
    String frontend;
    String insights;
    Instance source;

    @BeforeEach
    void instance() throws Exception {
        api = new ApiStoreTest();
        api.tmp = tmp;
        api.sg = new FakeSourcegraph();
        api.source511();
        frontend = PgFixtures.filled(FRONTEND);
        insights = PgFixtures.filled(INSIGHTS);
        for (String v : new String[] {"gitserver-0", "prometheus"}) {
            Path d = Files.createDirectories(tmp.resolve("old").resolve(v).resolve("sub"));
            Files.writeString(d.resolve("file.txt"), v + " data\n".repeat(100));
        }
        source = Instance.builder().sourcegraph(api.sg.uri()).token(FakeSourcegraph.TOKEN)
                .database("frontend", PgFixtures.url(frontend)).database("codeinsights", PgFixtures.url(insights))
                .postgresMode(PostgresStore.Mode.JDBC)
                .volume("gitserver-0", tmp.resolve("old/gitserver-0")).volume("prometheus", tmp.resolve("old/prometheus"))
                .build();
    }

    @AfterEach
    void stop() {
        api.stop();
    }

    private static Map<String, String> stores(Manifest m) {
        Map<String, String> out = new TreeMap<>();
        m.stores().forEach(s -> out.put(s.name(), s.kind()));
        return out;
    }

    @Test
    void everyPresetBacksUpWhatItSaysAndAllDataRestoresIntoANewInstance() throws Exception {
        SgBackup sg = SgBackup.to(Sinks.local(tmp.resolve("sink")));

        Manifest config = sg.show(sg.run(sg.planBackup(source, Scope.CONFIG)).backupId());
        assertThat(config.scope()).isEqualTo("config");
        assertThat(stores(config)).containsOnlyKeys("config");

        Manifest postgres = sg.show(sg.run(sg.planBackup(source, Scope.POSTGRES)).backupId());
        assertThat(stores(postgres)).containsOnlyKeys("frontend", "codeinsights");

        MigrationPlan essentialPlan = sg.planBackup(source, Scope.ESSENTIAL);
        Manifest essential = sg.show(sg.run(essentialPlan).backupId());
        assertThat(stores(essential)).containsOnlyKeys("config", "frontend", "codeinsights", "prometheus");
        assertThat(essential.store("frontend").orElseThrow().artifacts()).extracting(a -> a.name())
                .contains("public.users", "public.critical_and_site_config")
                .doesNotContain("public.event_logs", "public.gitserver_repos_statistics");

        RunResult all = sg.run(sg.planBackup(source, Scope.ALL));
        Manifest allManifest = sg.show(all.backupId());
        assertThat(stores(allManifest)).containsOnlyKeys("config", "frontend", "codeinsights", "gitserver-0", "prometheus");
        assertThat(sg.verify(all.backupId()).ok()).isTrue();

        // the new instance: freshly migrated databases, empty volumes, a running API
        String newFrontend = PgFixtures.migrated(FRONTEND);
        String newInsights = PgFixtures.migrated(INSIGHTS);
        api.target511("5.11.6271");
        Instance target = Instance.builder().sourcegraph(api.sg.uri()).token(FakeSourcegraph.TOKEN).secrets(api.secretsFile())
                .database("frontend", PgFixtures.url(newFrontend)).database("codeinsights", PgFixtures.url(newInsights))
                .volume("gitserver-0", tmp.resolve("new/gitserver-0")).volume("prometheus", tmp.resolve("new/prometheus"))
                .build();
        MigrationPlan restore = sg.planRestore(all.backupId(), target, new RestoreOptions(true, false), Phase.ALL);
        assertThat(restore.explain()).contains("checkpoint before phase db").contains("already restored with the frontend database");
        assertThat(restore.steps()).extracting(s -> s.store() + ":" + s.action())
                .startsWith("frontend:restore", "codeinsights:restore").contains("config:skip");

        RunResult r = sg.run(restore);
        assertThat(r.steps()).filteredOn(s -> s.status() == StepResult.Status.COMPLETED).extracting(StepResult::step)
                .containsExactly("frontend", "codeinsights", "gitserver-0", "prometheus");
        assertThat(PgFixtures.tables(newFrontend)).isEqualTo(PgFixtures.tables(frontend));
        assertThat(PgFixtures.tables(newInsights)).isEqualTo(PgFixtures.tables(insights));
        for (String v : new String[] {"gitserver-0", "prometheus"}) {
            assertThat(Files.readString(tmp.resolve("new").resolve(v).resolve("sub/file.txt")))
                    .isEqualTo(Files.readString(tmp.resolve("old").resolve(v).resolve("sub/file.txt")));
        }
        assertThat(api.sg.bodies("UpdateSiteConfiguration")).as("config carried by the database is not written twice").isEmpty();

        // the configuration-only backup restores through the API in the config phase
        RunResult c = sg.run(sg.planRestore(config.id(), target, RestoreOptions.defaults(), Phase.CONFIG));
        assertThat(c.steps()).extracting(s -> s.step() + ":" + s.status()).containsExactly("config:COMPLETED");
        assertThat(api.sg.bodies("UpdateSiteConfiguration")).hasSize(1);
    }
}
