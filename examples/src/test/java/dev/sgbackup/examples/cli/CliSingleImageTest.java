package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sgbackup.examples.EmbeddedPg;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single image → Compose journey through the CLI: discover --single-image gives the instance file, backup takes
 * its volumes (never PGDATA, caches or Redis), and a restore with the Compose instance file puts repos/ into
 * gitserver-0 and prometheus/ into prometheus-v2 by kind, while the databases go by name (frontend → the Compose pgsql).
 */
class CliSingleImageTest {
    static final String SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE);"
            + "CREATE TABLE repo (id serial PRIMARY KEY, name text NOT NULL);";

    @TempDir
    Path tmp;

    @Test
    void discoverBackUpAndRestoreIntoCompose() throws Exception {
        // the single image's /var/opt/sourcegraph and /etc/sourcegraph
        Path data = Files.createDirectories(tmp.resolve("sourcegraph/data"));
        Path pg = Files.createDirectories(data.resolve("postgresql/base"));
        Files.writeString(data.resolve("postgresql/PG_VERSION"), "12\n");
        Files.writeString(data.resolve("postgresql/postmaster.pid"), "1\n");
        Files.writeString(pg.resolve("1"), "pgdata bytes");
        Files.createDirectories(data.resolve("postgresql-markers"));
        Files.writeString(data.resolve("postgresql-markers/sourcegraph"), "");
        Files.writeString(data.resolve("postgresql-markers/sourcegraph-codeintel"), "");
        Files.createDirectories(data.resolve("repos/github.com/acme/app"));
        Files.writeString(data.resolve("repos/github.com/acme/app/HEAD"), "ref: refs/heads/main\n");
        Files.createDirectories(data.resolve("prometheus/wal"));
        Files.writeString(data.resolve("prometheus/wal/00000001"), "metrics");
        Files.createDirectories(data.resolve("cache"));
        Files.writeString(data.resolve("cache/searcher.zip"), "scratch");
        Files.createDirectories(data.resolve("redis"));
        Files.writeString(data.resolve("redis/appendonly.aof"), "sessions");
        Path config = Files.createDirectories(tmp.resolve("sourcegraph/config"));
        Files.writeString(config.resolve("nginx.conf"), "events {}\n");

        CliTest.Run d = cli("discover", "--single-image", data.toString(), "--config-dir", config.toString());
        assertThat(d.code()).as(d.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(d.out());
        assertThat(j.at("/deployment/kind").asText()).isEqualTo("single-image");
        assertThat(j.get("stores").findValuesAsText("name")).containsExactly("frontend", "codeintel", "cache", "prometheus", "redis",
                "repos", "etc-sourcegraph");
        assertThat(j.at("/stores/0/location/database").asText()).isEqualTo("sourcegraph");
        assertThat(d.err()).isEmpty();
        Path source = tmp.resolve("single.json");
        Files.writeString(source, d.out());
        assertThat(cli("discover", "--single-image", data.toString(), "--project", "x").code()).isEqualTo(2);
        assertThat(cli("discover", "--single-image", tmp.resolve("nope").toString()).err()).contains("is not a directory");

        // back up: the databases are not at 127.0.0.1:5432 here, so flags override them (as --network container: would not need)
        String fe = EmbeddedPg.database(SCHEMA + "INSERT INTO users (username) VALUES ('alice'), ('bob');"
                + "INSERT INTO repo (name) VALUES ('github.com/acme/app');");
        String ci = EmbeddedPg.database("CREATE TABLE lsif_uploads (id serial PRIMARY KEY, repository_id int);"
                + "INSERT INTO lsif_uploads (repository_id) VALUES (1);");
        String sink = tmp.resolve("sink").toUri().toString();
        CliTest.Run b = cli("backup", "--instance", source.toString(), "--postgres", "frontend=" + EmbeddedPg.url(fe),
                "--postgres", "codeintel=" + EmbeddedPg.url(ci), "--postgres-mode", "jdbc", "--scope", "all", "--to", sink);
        assertThat(b.code()).as(b.err()).isZero();
        CliTest.Run show = cli("show", "--from", sink, "--backup", b.last());
        assertThat(show.out()).contains("store repos").contains("store prometheus").contains("store etc-sourcegraph")
                .doesNotContain("store cache").doesNotContain("store redis").doesNotContain("pgdata bytes");

        // the new Compose instance: its instance file (one gitserver), its freshly migrated database with a seed row
        Path compose = tmp.resolve("compose.json");
        Files.copy(Path.of(CliSingleImageTest.class.getResource("/discover/compose-config.json").toURI()), compose);
        for (String v : new String[] {"docker-compose_gitserver-0", "docker-compose_prometheus-v2", "docker-compose_acme-data"}) {
            Files.createDirectories(tmp.resolve("volumes").resolve(v).resolve("_data"));
        }
        CliTest.Run cd = cli("discover", "--compose", compose.toString(), "--volume-root", tmp.resolve("volumes").toString());
        Path target = tmp.resolve("compose-instance.json");
        Files.writeString(target, cd.out());
        String dst = EmbeddedPg.database(SCHEMA + "INSERT INTO users (username) VALUES ('admin-seed');");

        CliTest.Run r = cli("restore", "--from", sink, "--backup", b.last(), "--instance", target.toString(),
                "--postgres", "frontend=" + EmbeddedPg.url(dst), "--replace");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("repos: restored into gitserver-0 (the one gitserver store of the instance file, volume/gitserver-0)")
                .contains("prometheus: restored into prometheus-v2")
                .contains("etc-sourcegraph: the instance file has no store of that name");
        assertThat(Files.readString(tmp.resolve("volumes/docker-compose_gitserver-0/_data/github.com/acme/app/HEAD")))
                .isEqualTo("ref: refs/heads/main\n");
        assertThat(Files.readString(tmp.resolve("volumes/docker-compose_prometheus-v2/_data/wal/00000001"))).isEqualTo("metrics");
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM users WHERE username IN ('alice', 'bob')")).isEqualTo(2);
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM users WHERE username = 'admin-seed'")).isZero();
        assertThat(EmbeddedPg.scalar(dst, "SELECT count(*) FROM repo")).isEqualTo(1);
    }
}
