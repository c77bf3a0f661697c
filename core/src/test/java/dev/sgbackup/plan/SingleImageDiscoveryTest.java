package dev.sgbackup.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-image discovery on data directories laid out as {@code sourcegraph/server} lays out /var/opt/sourcegraph
 * (its entrypoint, cmd/server/shared, in sourcegraph-public-snapshot: postgresql/, postgresql-markers/, repos/,
 * zoekt/index, blobstore/, prometheus/, redis/, redis-cache/, cache/, *.log files), and /etc/sourcegraph/env.
 */
class SingleImageDiscoveryTest {
    @TempDir
    Path tmp;

    private Path dataDir(String... dirs) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        for (String d : dirs) {
            Files.createDirectories(data.resolve(d));
        }
        Files.writeString(data.resolve("prometheus.log"), "log lines\n");
        return data;
    }

    private static Path pgdata(Path data) throws Exception {
        Path pg = Files.createDirectories(data.resolve("postgresql"));
        Files.writeString(pg.resolve("PG_VERSION"), "16\n");
        Files.createDirectories(pg.resolve("base"));
        Path markers = Files.createDirectories(data.resolve("postgresql-markers"));
        Files.writeString(markers.resolve("sourcegraph"), "");
        Files.writeString(markers.resolve("sourcegraph-codeintel"), "");
        return pg;
    }

    @Test
    void aCurrentImagesDataDirectory() throws Exception {
        Path data = dataDir("repos/github.com/acme/app/.git", "zoekt/index", "blobstore", "prometheus", "grafana", "redis",
                "redis-cache", "cache");
        pgdata(data);
        Path config = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(config.resolve("nginx.conf"), "events {}\n");

        InstanceDescription d = Instance.discover(Deployments.singleImage(data).configDir(config));

        assertThat(d.deployment().kind()).isEqualTo("single-image");
        assertThat(d.deployment().input()).isEqualTo("data-directory");
        assertThat(d.deployment().files()).containsExactly(data.toString(), config.toString());
        assertThat(d.stores()).extracting(s -> s.name() + " " + s.kind() + " " + s.recreatable()).containsExactly(
                "frontend postgres false", "codeintel postgres true",
                "blobstore blobstore false", "cache cache true", "grafana grafana true", "prometheus prometheus false",
                "redis redis true", "redis-cache redis true", "repos gitserver true", "zoekt zoekt true",
                "etc-sourcegraph other false");
        InstanceDescription.Store fe = d.stores().get(0);
        assertThat(InstanceDescription.jdbcUrl(fe.location())).isEqualTo("jdbc:postgresql://127.0.0.1:5432/sourcegraph?user=postgres");
        assertThat(fe.origin()).isEqualTo("container/sourcegraph-server (postgresql/, PostgreSQL 16)");
        assertThat(InstanceDescription.jdbcUrl(d.stores().get(1).location()))
                .isEqualTo("jdbc:postgresql://127.0.0.1:5432/sourcegraph-codeintel?user=postgres");
        assertThat(d.stores()).noneMatch(s -> s.name().equals("postgresql") || s.name().equals("postgresql-markers"));
        assertThat(d.warnings()).isEmpty();

        // the plan: databases and every volume but caches and Redis; never PGDATA
        Instance i = d.toInstance().build();
        assertThat(i.databases()).extracting(Instance.Database::name).containsExactly("frontend", "codeintel");
        assertThat(i.volumes()).extracting(v -> v.name() + "=" + v.dir().getFileName()).containsExactly(
                "blobstore=blobstore", "etc-sourcegraph=config", "grafana=grafana", "prometheus=prometheus", "repos=repos",
                "zoekt=zoekt");
        assertThat(d.notes()).contains("cache: cache from container/sourcegraph-server (cache/): not backed up (searcher and symbols"
                + " scratch space)");

        // the file round-trips
        assertThat(InstanceDescription.fromJson(d.toJson())).isEqualTo(d);
    }

    @Test
    void codeInsightsAndAnExternalDatabaseFromTheConfigDirectorysEnv() throws Exception {
        Path data = dataDir("repos", "lsif-storage", "minio", "mystery");
        pgdata(data);
        Files.writeString(data.resolve("postgresql-markers/sourcegraph-codeinsights"), ""); // the image created it
        Path config = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(config.resolve("env"), String.join("\n",
                "# /etc/sourcegraph/env, read by the image before anything else",
                "ALLOW_SINGLE_DOCKER_CODE_INSIGHTS=true",
                "CODEINTEL_PGHOST=codeintel.db.internal",
                "CODEINTEL_PGPORT=6432",
                "CODEINTEL_PGUSER=ci",
                "CODEINTEL_PGDATABASE=codeintel",
                "CODEINTEL_PGPASSWORD='Zq7-seeded-external'",
                ""));

        InstanceDescription d = Instance.discover(Deployments.singleImage(data).configDir(config));

        assertThat(d.stores()).extracting(s -> s.name() + " " + s.kind() + " " + s.origin()).containsExactly(
                "frontend postgres container/sourcegraph-server (postgresql/, PostgreSQL 16)",
                "codeintel postgres external/codeintel.db.internal (from " + config.resolve("env") + ")",
                "codeinsights postgres container/sourcegraph-server (postgresql/, PostgreSQL 16)",
                "lsif-storage lsif-bundles container/sourcegraph-server (lsif-storage/)",
                "minio blobstore container/sourcegraph-server (minio/)",
                "mystery other container/sourcegraph-server (mystery/)",
                "repos gitserver container/sourcegraph-server (repos/)",
                "etc-sourcegraph other container/sourcegraph-server (/etc/sourcegraph)");
        InstanceDescription.Store ci = d.stores().get(1);
        assertThat(InstanceDescription.jdbcUrl(ci.location())).isEqualTo("jdbc:postgresql://codeintel.db.internal:6432/codeintel?user=ci");
        assertThat(ci.location().external()).isTrue();
        assertThat(ci.credentials()).isEqualTo("env:CODEINTEL_PGPASSWORD@" + config.resolve("env"));
        assertThat(InstanceDescription.jdbcUrl(d.stores().get(2).location()))
                .isEqualTo("jdbc:postgresql://127.0.0.1:5432/sourcegraph-codeinsights?user=postgres");
        assertThat(d.warnings()).singleElement().asString().startsWith("mystery/ is not a directory the single image is known to write");
        // the external one stays out of the plan, with a note; the password is a reference only
        assertThat(d.toInstance().build().databases()).extracting(Instance.Database::name).containsExactly("frontend", "codeinsights");
        assertThat(d.notes()).anyMatch(n -> n.startsWith("codeintel: external database at codeintel.db.internal"));
        assertThat(d.toJson() + d.warnings() + d.notes()).doesNotContain("Zq7-seeded");
    }

    @Test
    void withoutConfigOrMarkersItSaysWhatItCannotKnow() throws Exception {
        Path data = dataDir("repos");
        Path pg = Files.createDirectories(data.resolve("postgresql"));
        Files.writeString(pg.resolve("PG_VERSION"), "12\n");

        InstanceDescription d = Instance.discover(Deployments.singleImage(data));

        assertThat(d.stores()).extracting(InstanceDescription.Store::name).containsExactly("frontend", "codeintel", "repos");
        assertThat(d.warnings()).hasSize(2);
        assertThat(d.warnings().get(0)).startsWith("no --config-dir");
        assertThat(d.warnings().get(1)).startsWith("codeinsights: the image has a code insights database only with");
    }

    @Test
    void notADataDirectory() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        InstanceDescription d = Instance.discover(Deployments.singleImage(empty));
        assertThat(d.stores()).isEmpty();
        assertThat(d.warnings()).anyMatch(w -> w.startsWith("frontend: no PostgreSQL data directory at"));

        assertThatThrownBy(() -> Instance.discover(Deployments.singleImage(tmp.resolve("missing"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("is not a directory")
                .hasMessageContaining("/var/opt/sourcegraph");
        assertThatThrownBy(() -> Instance.discover(Deployments.singleImage(empty).configDir(tmp.resolve("nope"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("--config-dir");
    }

    @Test
    void aSecondDataDirectoryInsideIsNeverCopied() throws Exception {
        Path data = dataDir("repos");
        pgdata(data);
        Path other = Files.createDirectories(data.resolve("pg-old"));
        Files.writeString(other.resolve("PG_VERSION"), "11\n");
        InstanceDescription d = Instance.discover(Deployments.singleImage(data));
        assertThat(d.stores()).extracting(InstanceDescription.Store::name).doesNotContain("pg-old", "postgresql");
        assertThat(d.warnings()).anyMatch(w -> w.startsWith("pg-old/ is a PostgreSQL data directory: never copied"));
    }

    @Test
    void listedInOrderSoTheFileIsStable() throws Exception {
        Path data = dataDir("zoekt", "repos", "blobstore");
        pgdata(data);
        List<String> first = Instance.discover(Deployments.singleImage(data)).stores().stream().map(InstanceDescription.Store::name).toList();
        List<String> again = Instance.discover(Deployments.singleImage(data)).stores().stream().map(InstanceDescription.Store::name).toList();
        assertThat(first).isEqualTo(again).containsExactly("frontend", "codeintel", "blobstore", "repos", "zoekt");
    }
}
