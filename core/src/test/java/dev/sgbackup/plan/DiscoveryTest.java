package dev.sgbackup.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.Sinks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Docker Compose discovery on inputs shaped like deploy-sourcegraph-docker's (see docs/instance.md). */
class DiscoveryTest {
    /** Every test input holds passwords starting with this; none may appear in any output. */
    static final String SEEDED = "Zq7-seeded";

    @TempDir
    Path tmp;

    static Path res(String name) throws Exception {
        return Path.of(DiscoveryTest.class.getResource("/discover/" + name).toURI());
    }

    /** One line per store: name kind recreatable origin volume db credentials. */
    static List<String> summary(InstanceDescription d) {
        return d.stores().stream().map(s -> s.name() + " " + s.kind() + " " + s.recreatable() + " " + s.origin() + " "
                + (s.location().volume() == null ? "-" : s.location().volume()) + " "
                + (s.location().host() == null ? "-" : s.location().host() + ":" + s.location().port() + "/" + s.location().database()
                + "?user=" + s.location().user()) + (Boolean.TRUE.equals(s.location().external()) ? " external" : "")
                + " " + s.credentials()).toList();
    }

    @Test
    void compose5xConfigJson() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-5x.json")), null);
        assertThat(d.format()).isEqualTo("sgbackup.instance/v1");
        assertThat(d.deployment().project()).isEqualTo("docker-compose");
        assertThat(d.deployment().input()).isEqualTo("compose-config-json");
        assertThat(d.version()).isEqualTo("6.1.2889");
        assertThat(summary(d)).containsExactly(
                "frontend postgres false service/pgsql docker-compose_pgsql pgsql:5432/sg?user=sg env:PGPASSWORD@service/migrator",
                "codeintel postgres true service/codeintel-db docker-compose_codeintel-db codeintel-db:5432/sg?user=sg"
                        + " env:CODEINTEL_PGPASSWORD@service/migrator",
                "codeinsights postgres false service/codeinsights-db docker-compose_codeinsights-db codeinsights-db:5432/postgres?user=postgres"
                        + " env:CODEINSIGHTS_PGDATASOURCE@service/sourcegraph-frontend-0",
                "blobstore blobstore false volume/blobstore docker-compose_blobstore - null",
                "caddy cache true volume/caddy docker-compose_caddy - null",
                "conf files true bind/pgsql - - null", // the database's configuration: listed; its data volume never is
                "datasources files true bind/grafana - - null",
                "gitserver-0 gitserver true volume/gitserver-0 docker-compose_gitserver-0 - null",
                "gitserver-1 gitserver true volume/gitserver-1 docker-compose_gitserver-1 - null",
                "grafana grafana true volume/grafana docker-compose_grafana - null",
                "http.Caddyfile files true bind/caddy - - null",
                "proc files true bind/node-exporter - - null",
                "prometheus files true bind/prometheus - - null",
                "prometheus-v2 prometheus false volume/prometheus-v2 docker-compose_prometheus-v2 - null",
                "redis-cache redis true volume/redis-cache docker-compose_redis-cache - null",
                "redis-store redis true volume/redis-store docker-compose_redis-store - null",
                "root files true bind/cadvisor - - null",
                "run files true bind/cadvisor - - null",
                "searcher-0 cache true volume/searcher-0 docker-compose_searcher-0 - null",
                "sourcegraph-frontend-0 cache true volume/sourcegraph-frontend-0 docker-compose_sourcegraph-frontend-0 - null",
                "sourcegraph-frontend-internal-0 cache true volume/sourcegraph-frontend-internal-0"
                        + " docker-compose_sourcegraph-frontend-internal-0 - null",
                "worker cache true volume/worker docker-compose_worker - null",
                "zoekt-0-shared zoekt true volume/zoekt-0-shared docker-compose_zoekt-0-shared - null");
        assertThat(d.warnings()).isEmpty();
        // named volumes live under the volume root; database volumes are never stores of their own
        assertThat(d.stores()).filteredOn(s -> s.name().equals("gitserver-0")).first()
                .extracting(s -> s.location().directory()).isEqualTo("/var/lib/docker/volumes/docker-compose_gitserver-0/_data");
    }

    @Test
    void instanceFromDescriptionHasTheDatabasesAndDataVolumes() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-5x.json")), null, tmp);
        Instance i = d.toInstance().build();
        assertThat(i.databases()).extracting(Instance.Database::jdbcUrl).containsExactly(
                "jdbc:postgresql://pgsql:5432/sg?user=sg", "jdbc:postgresql://codeintel-db:5432/sg?user=sg",
                "jdbc:postgresql://codeinsights-db:5432/postgres?user=postgres");
        assertThat(i.volumes()).extracting(Instance.Volume::name)
                .containsExactly("blobstore", "gitserver-0", "gitserver-1", "grafana", "prometheus-v2", "zoekt-0-shared");
        assertThat(i.volumes()).extracting(v -> v.dir().toString()).contains(tmp.resolve("docker-compose_gitserver-0/_data").toString());
    }

    @Test
    void compose3xWithBundleManagerAndMinio() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-3x.json")), null);
        assertThat(d.version()).isEqualTo("3.21.2");
        assertThat(d.deployment().project()).isEqualTo("sourcegraph");
        assertThat(summary(d)).containsExactly(
                "frontend postgres false service/pgsql sourcegraph_pgsql pgsql:5432/sg?user=sg env:PGPASSWORD@service/sourcegraph-frontend-0",
                "codeintel postgres true service/codeintel-db sourcegraph_codeintel-db codeintel-db:5432/sg?user=sg"
                        + " env:CODEINTEL_PGPASSWORD@service/sourcegraph-frontend-0",
                "gitserver-0 gitserver true volume/gitserver-0 sourcegraph_gitserver-0 - null",
                "minio blobstore false volume/minio sourcegraph_minio - null",
                "precise-code-intel-bundle-manager lsif-bundles false volume/precise-code-intel-bundle-manager"
                        + " sourcegraph_precise-code-intel-bundle-manager - null",
                "prometheus-v2 prometheus false volume/prometheus-v2 sourcegraph_prometheus-v2 - null",
                "redis-store redis true volume/redis-store sourcegraph_redis-store - null",
                "sourcegraph-frontend-0 cache true volume/sourcegraph-frontend-0 sourcegraph_sourcegraph-frontend-0 - null",
                "zoekt-0-shared zoekt true volume/zoekt-0-shared sourcegraph_zoekt-0-shared - null");
    }

    @Test
    void externalDatabasesBindMountsAndUnknownVolumes() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-external-db.json")), null);
        assertThat(summary(d)).containsExactly(
                "frontend postgres false external/db.internal.example.com (from service/sourcegraph-frontend-0) -"
                        + " db.internal.example.com:6432/sourcegraph?user=sourcegraph external env:PGPASSWORD@service/sourcegraph-frontend-0",
                "codeintel postgres true service/codeintel-db docker-compose_codeintel-db codeintel-db:5432/sg?user=sg env:CODEINTEL_PGPASSWORD",
                "codeinsights postgres false external/insights.internal.example.com (from service/sourcegraph-frontend-0) -"
                        + " insights.internal.example.com:5433/insights?user=insights external"
                        + " env:CODEINSIGHTS_PGDATASOURCE@service/sourcegraph-frontend-0",
                "acme-data other false volume/acme-data docker-compose_acme-data - null",
                "repos gitserver true bind/gitserver-0 - - null");
        assertThat(d.stores()).filteredOn(s -> s.name().equals("repos")).first().extracting(s -> s.location().directory())
                .isEqualTo("/mnt/ssd/repos");
        assertThat(d.warnings()).containsExactly("volume acme-data (mounted by my-search-thing) is of unknown kind: kept as 'other' (not recreatable)");
        // some databases external: those are left out of the instance, and the notes say so
        Instance i = d.toInstance().build();
        assertThat(i.databases()).extracting(Instance.Database::name).containsExactly("codeintel");
        MigrationPlan p = SgBackup.to(Sinks.memory()).planBackup(i, Scope.ALL).withNotes(d.notes());
        assertThat(p.explain()).contains("frontend: external database at db.internal.example.com")
                .contains("codeintel: from service/codeintel-db (password: env:CODEINTEL_PGPASSWORD)");
        // all databases external: the plan skips them as --external-postgres does
        InstanceDescription onlyExternal = d.without(java.util.Set.of("codeintel"));
        MigrationPlan all = SgBackup.to(Sinks.memory()).planBackup(onlyExternal.toInstance().build(), Scope.ALL);
        assertThat(all.explain()).contains("external database: the new instance reuses it in place");
    }

    @Test
    void rawYamlFallbackWarnsAndTakesTheProjectFromTheDirectory() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("docker-compose/docker-compose.yaml")), null);
        assertThat(d.deployment().input()).isEqualTo("compose-yaml");
        assertThat(d.deployment().project()).isEqualTo("docker-compose");
        assertThat(d.warnings()).singleElement().asString().contains("raw Compose YAML").contains("docker compose config --format json");
        assertThat(summary(d)).containsExactly(
                "frontend postgres false service/pgsql docker-compose_pgsql pgsql:5432/sg?user=sg env:PGPASSWORD@service/sourcegraph-frontend-0",
                "codeintel postgres true service/codeintel-db docker-compose_codeintel-db codeintel-db:5432/sg?user=sg env:CODEINTEL_PGPASSWORD",
                "codeinsights postgres false service/codeinsights-db docker-compose_codeinsights-db codeinsights-db:5432/postgres?user=postgres"
                        + " env:CODEINSIGHTS_PGDATASOURCE@service/sourcegraph-frontend-0",
                "gitserver-0 gitserver true volume/gitserver-0 docker-compose_gitserver-0 - null",
                "prometheus files true bind/prometheus - - null",
                "prometheus-v2 prometheus false volume/prometheus-v2 docker-compose_prometheus-v2 - null",
                "sourcegraph-frontend-0 cache true volume/sourcegraph-frontend-0 docker-compose_sourcegraph-frontend-0 - null");
        // --project overrides: every named volume takes its prefix
        InstanceDescription named = Discovery.compose(List.of(res("docker-compose/docker-compose.yaml")), "sg-prod");
        assertThat(named.stores()).filteredOn(s -> s.name().equals("pgsql") || s.name().equals("frontend")).first()
                .extracting(s -> s.location().volume()).isEqualTo("sg-prod_pgsql");
        assertThat(named.stores()).filteredOn(s -> s.name().equals("gitserver-0")).first()
                .extracting(s -> s.location().directory()).isEqualTo("/var/lib/docker/volumes/sg-prod_gitserver-0/_data");
    }

    @Test
    void rawYamlIsInterpolatedFromTheEnvFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("deploy"));
        Path f = dir.resolve("docker-compose.yaml");
        Files.writeString(f, Files.readString(res("docker-compose/docker-compose.yaml")).replace("PGHOST=pgsql", "PGHOST=${DB_HOST:-pgsql}")
                .replace("@codeinsights-db:5432", "@${INSIGHTS_HOST}:5432"));
        InstanceDescription d = Discovery.compose(List.of(f), null, Discovery.DEFAULT_VOLUME_ROOT, java.util.Map.of("INSIGHTS_HOST", "codeinsights-db"));
        assertThat(d.deployment().project()).isEqualTo("deploy");
        assertThat(summary(d).get(0)).startsWith("frontend postgres false service/pgsql deploy_pgsql pgsql:5432/sg");
        InstanceDescription unset = Discovery.compose(List.of(f), null, Discovery.DEFAULT_VOLUME_ROOT, java.util.Map.of());
        assertThat(unset.warnings()).contains("variables not set (pass --env-file): INSIGHTS_HOST; read as empty");
    }

    @Test
    void thePasswordComesFromTheReferencedVariableOfTheRunningEnvironment() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-5x.json")), null);
        InstanceDescription.Store frontend = d.stores().get(0);
        InstanceDescription.Store insights = d.stores().get(2);
        assertThat(InstanceDescription.password(frontend, java.util.Map.of("PGPASSWORD", "s3cret")::get)).containsExactly("s3cret".toCharArray());
        assertThat(InstanceDescription.password(frontend, v -> null)).isNull();
        assertThat(InstanceDescription.password(insights,
                java.util.Map.of("CODEINSIGHTS_PGDATASOURCE", "postgres://postgres:p%40ss@codeinsights-db:5432/postgres")::get))
                .containsExactly("p@ss".toCharArray());
    }

    @Test
    void jsonRoundTrips() throws Exception {
        InstanceDescription d = Discovery.compose(List.of(res("compose-3x.json")), null);
        assertThat(InstanceDescription.fromJson(d.toJson())).isEqualTo(d);
        assertThatThrownBy(() -> InstanceDescription.fromJson("{\"format\":\"other/v9\"}")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("sgbackup.instance/v1");
    }

    @Test
    void noSeededPasswordInTheJsonThePlanWarningsOrErrors() throws Exception {
        StringBuilder all = new StringBuilder();
        for (String f : List.of("compose-5x.json", "compose-3x.json", "compose-external-db.json", "docker-compose/docker-compose.yaml")) {
            InstanceDescription d = Discovery.compose(List.of(res(f)), null, tmp);
            all.append(d.toJson()).append(d).append(d.warnings());
            // passwords supplied at run time from the referenced variables: used, never printed
            Instance i = d.toInstance(var -> var.endsWith("PGDATASOURCE") ? "postgres://u:" + SEEDED + "-dsn@h:5432/db" : SEEDED + "-" + var).build();
            all.append(i);
            all.append(SgBackup.to(Sinks.memory()).planBackup(i, Scope.ALL).explain());
        }
        // a broken file that holds a password: the error names the position, never the text
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"services\": {\"pgsql\": {\"environment\": {\"PGPASSWORD\": \"" + SEEDED + "-broken\" ]]]}}");
        assertThatThrownBy(() -> Discovery.compose(List.of(broken), null)).isInstanceOf(InvalidInputException.class)
                .satisfies(e -> all.append(e.getMessage()).append(e.getCause()));
        Path brokenYaml = tmp.resolve("broken.yaml");
        Files.writeString(brokenYaml, "services:\n  pgsql:\n    environment: [PGPASSWORD=" + SEEDED + "-yaml\n  : : {\n");
        assertThatThrownBy(() -> Discovery.compose(List.of(brokenYaml), null)).isInstanceOf(InvalidInputException.class)
                .satisfies(e -> all.append(e.getMessage()).append(e.getCause()));
        assertThat(all.toString()).contains("env:PGPASSWORD").doesNotContain(SEEDED);
    }
}
