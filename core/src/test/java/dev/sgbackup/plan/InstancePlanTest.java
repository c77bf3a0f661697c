package dev.sgbackup.plan;

import dev.sgbackup.store.Phase;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.sink.Sinks;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Presets: which stores each of Sourcegraph's options takes, and what the plan says about the rest. */
class InstancePlanTest {
    @TempDir
    Path dir;
    Instance instance;

    @BeforeEach
    void instance() throws Exception {
        for (String v : List.of("gitserver-0", "zoekt-0", "prometheus", "lsif-bundles", "blobstore", "custom-data")) {
            Files.createDirectories(dir.resolve(v));
            Files.writeString(dir.resolve(v).resolve("f"), v);
        }
        // unreachable on purpose: building a plan must not need the services
        Instance.Builder b = Instance.builder().sourcegraph(URI.create("http://127.0.0.1:9/")).token("sgp_secret_token_value");
        for (String db : Instance.DATABASES) {
            b.database(db, "jdbc:postgresql://127.0.0.1:9/" + db + "?user=sg&password=hunter2");
        }
        for (String v : List.of("gitserver-0", "zoekt-0", "prometheus", "lsif-bundles", "blobstore", "custom-data")) {
            b.volume(v, dir.resolve(v));
        }
        instance = b.build();
    }

    private Map<String, String> actions(MigrationPlan plan) {
        return plan.steps().stream().collect(Collectors.toMap(PlanStep::store, s -> s.action().id()));
    }

    @Test
    void configOnlyTakesTheConfigurationAndSaysWhatIsLeftOut() {
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(instance, Scope.CONFIG);
        assertThat(p.scope()).isEqualTo(Scope.CONFIG);
        assertThat(p.stores()).extracting(s -> s.name()).containsExactly("config");
        assertThat(actions(p)).containsEntry("frontend", "skip").containsEntry("gitserver-0", "skip").containsEntry("redis", "skip");
        assertThat(p.explain()).contains("ephemeral").contains("re-clone");
    }

    @Test
    void allPostgresTakesEveryDatabase() {
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(instance, Scope.POSTGRES);
        assertThat(p.stores()).extracting(s -> s.name()).containsExactly("frontend", "codeintel", "codeinsights");
        assertThat(actions(p)).containsEntry("config", "skip").containsEntry("prometheus", "skip");
    }

    @Test
    void allDataTakesEverything() {
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(instance, Scope.ALL);
        assertThat(p.stores()).extracting(s -> s.name()).containsExactlyInAnyOrder("config", "frontend", "codeintel", "codeinsights",
                "gitserver-0", "zoekt-0", "prometheus", "lsif-bundles", "blobstore", "custom-data");
        assertThat(actions(p)).containsEntry("redis", "skip");
    }

    @Test
    void essentialTakesOnlyWhatCannotBeRecreated() {
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(instance, Scope.ESSENTIAL);
        assertThat(p.stores()).extracting(s -> s.name()).containsExactlyInAnyOrder("config", "frontend", "codeinsights",
                "prometheus", "lsif-bundles", "blobstore", "custom-data");
        Map<String, String> a = actions(p);
        assertThat(a).containsEntry("codeintel", "skip").containsEntry("gitserver-0", "skip").containsEntry("zoekt-0", "skip");
        String table = p.explain();
        assertThat(table).contains("re-upload precise indexes").contains("re-clone").contains("re-index search")
                .contains("event-logs left out").contains("RECREATABLE");
        assertThat(p.stores().stream().filter(s -> s.name().equals("frontend")).findFirst().orElseThrow().describe())
                .contains("categories").doesNotContain("event-logs").contains("users");
        // secrets never printed
        assertThat(table).doesNotContain("hunter2").doesNotContain("sgp_secret_token_value");
        assertThat(instance.toString()).doesNotContain("hunter2").doesNotContain("sgp_secret_token_value");
    }

    @Test
    void checksBeforeRunningReportEveryUnreachableSource() {
        SgBackup sg = SgBackup.to(Sinks.memory());
        MigrationPlan p = sg.planBackup(instance, Scope.ESSENTIAL);
        var report = sg.check(p);
        assertThat(report.ok()).isFalse();
        assertThat(report.toString()).contains("frontend").contains("config").doesNotContain("hunter2");
        assertThatThrownBy(() -> sg.run(p)).isInstanceOf(InvalidInputException.class).hasMessageContaining("frontend");
        assertThat(sg.list()).isEmpty();
    }

    @Test
    void externalDatabasesAndRedisAreReusedInPlace() {
        Instance ext = Instance.builder().database("frontend", "jdbc:postgresql://rds.example.com/sg").externalPostgres(true)
                .externalRedis(true).volume("prometheus", dir.resolve("prometheus")).build();
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(ext, Scope.ALL);
        assertThat(p.stores()).extracting(s -> s.name()).containsExactly("prometheus");
        assertThat(p.explain()).contains("external database: the new instance reuses it in place")
                .contains("external Redis");
    }

    @Test
    void restoreTargetsAreOnlyWhatTheInstanceNames() {
        Instance volumesOnly = Instance.builder().volume("prometheus", dir.resolve("prometheus")).build();
        // no configuration named: no configuration target, whatever SRC_ENDPOINT says
        assertThat(volumesOnly.target("config", "sourcegraph-config")).isNull();
        assertThat(volumesOnly.target("frontend", "postgres")).isNull();
        assertThat(volumesOnly.target("prometheus", "volume")).isNotNull();

        Instance fromDb = Instance.builder().configDatabase("jdbc:postgresql://127.0.0.1:9/sg?user=sg&password=hunter2")
                .database("frontend", "jdbc:postgresql://127.0.0.1:9/sg?user=sg").pgRestoreJobs(4).build();
        var config = fromDb.target("config", "sourcegraph-config");
        assertThat(config).isNotNull();
        assertThat(config.describe()).contains("frontend database").doesNotContain("hunter2");
        assertThat(fromDb.target("frontend", "postgres")).isNotNull();
        assertThatThrownBy(() -> Instance.builder().pgRestoreJobs(0)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Instance.builder().sourcegraph(URI.create("https://sg.example.com")).configDatabase("jdbc:postgresql://h/sg")
                .build()).hasMessageContaining("not both");
    }

    @Test
    void externalPostgresWithoutDatabasesStillSaysNothingToMove() {
        Instance ext = Instance.builder().externalPostgres(true).volume("prometheus", dir.resolve("prometheus")).build();
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(ext, Scope.ALL);
        assertThat(p.explain()).containsPattern("skip +postgres").contains("nothing to move")
                .doesNotContain("databases: none given");
    }

    @Test
    void scopeAndPhaseParseWithClearErrors() {
        assertThat(Scope.parse("Essential")).isEqualTo(Scope.ESSENTIAL);
        assertThatThrownBy(() -> Scope.parse("everything")).hasMessageContaining("config, postgres, all or essential");
        assertThat(Phase.parse("db")).isEqualTo(Phase.DB);
        assertThatThrownBy(() -> Phase.parse("x")).hasMessageContaining("db, volumes, config or all");
        assertThat(VolumeKind.guess("gitserver-1")).isEqualTo(VolumeKind.GITSERVER);
        assertThat(VolumeKind.guess("sourcegraph_prometheus")).isEqualTo(VolumeKind.PROMETHEUS);
    }
}
