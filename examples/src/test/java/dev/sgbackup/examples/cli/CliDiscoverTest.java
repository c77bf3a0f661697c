package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** discover --compose or --kubernetes → the instance file; plan/backup --instance FILE, with flags overriding it. */
@EnableKubernetesMockClient(crud = true, https = false)
class CliDiscoverTest {
    static final String SEEDED = "Zq7-seeded";
    /** fabric8's API server mock, one for the class: discover --kubernetes reads core's Helm-shaped fixture from it. */
    static KubernetesMockServer server;
    static KubernetesClient client;

    @TempDir
    Path tmp;
    Path compose;
    String sink;

    @BeforeEach
    void setUp() throws Exception {
        compose = tmp.resolve("compose.json");
        Files.copy(Path.of(CliDiscoverTest.class.getResource("/discover/compose-config.json").toURI()), compose);
        for (String v : new String[] {"docker-compose_gitserver-0", "docker-compose_prometheus-v2", "docker-compose_acme-data"}) {
            Files.createDirectories(tmp.resolve("volumes").resolve(v).resolve("_data"));
            Files.writeString(tmp.resolve("volumes").resolve(v).resolve("_data/f"), v);
        }
        sink = tmp.resolve("sink").toUri().toString();
    }

    CliTest.Run discover(String... more) {
        String[] args = new String[4 + more.length];
        args[0] = "discover";
        args[1] = "--compose";
        args[2] = compose.toString();
        args[3] = "--volume-root=" + tmp.resolve("volumes");
        System.arraycopy(more, 0, args, 4, more.length);
        return cli(args);
    }

    @Test
    void discoverPrintsTheInstanceJsonAndWarnings() throws Exception {
        CliTest.Run d = discover();
        assertThat(d.code()).as(d.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(d.out());
        assertThat(j.get("format").asText()).isEqualTo("sgbackup.instance/v1");
        assertThat(j.get("version").asText()).isEqualTo("6.1.2889");
        assertThat(j.at("/deployment/project").asText()).isEqualTo("docker-compose");
        assertThat(j.get("stores").findValuesAsText("name")).containsExactly("frontend", "codeinsights", "acme-data", "gitserver-0",
                "prometheus-v2", "redis-store", "sourcegraph-frontend-0");
        assertThat(j.at("/stores/0/origin").asText()).isEqualTo("service/pgsql");
        assertThat(j.at("/stores/0/credentials").asText()).isEqualTo("env:PGPASSWORD@service/sourcegraph-frontend-0");
        assertThat(j.at("/stores/0/location/volume").asText()).isEqualTo("docker-compose_pgsql");
        assertThat(j.at("/warnings/0").asText()).contains("acme-data");
        assertThat(d.err()).contains("warning: volume acme-data");
        assertThat(d.out() + d.err()).doesNotContain(SEEDED);

        CliTest.Run strict = discover("--strict");
        assertThat(strict.code()).isEqualTo(3);
        assertThat(strict.out()).contains("sgbackup.instance/v1");
        assertThat(cli("discover").code()).isEqualTo(2);
        assertThat(cli("discover", "--compose", compose.toString(), "--bogus").code()).isEqualTo(2);
    }

    @Test
    void planFromTheInstanceFileNamesTheOriginOfEachStore() throws Exception {
        Path instance = tmp.resolve("instance.json");
        Files.writeString(instance, discover().out());
        CliTest.Run p = cli("plan", "--instance", instance.toString(), "--scope", "all", "--to", sink);
        assertThat(p.code()).as(p.err()).isIn(0, 3); // 3: the databases of the file are not reachable from the test
        assertThat(p.out()).containsPattern("backup +gitserver-0").containsPattern("backup +prometheus-v2")
                .contains("gitserver-0: from volume/gitserver-0").contains("prometheus-v2: from volume/prometheus-v2")
                .contains("acme-data: from volume/acme-data")
                .contains("instance file: volume acme-data") // the file's warnings are the plan's notes too
                .contains("frontend: from service/pgsql (password: env:PGPASSWORD@service/sourcegraph-frontend-0)")
                .contains("codeinsights: from service/codeinsights-db")
                .contains("redis-store: redis from volume/redis-store: not backed up")
                .contains(instance + " volume/gitserver-0").doesNotContain("docker-compose_redis-store");
        assertThat(p.out() + p.err()).doesNotContain(SEEDED);

        // a flag overrides the file's store of the same name
        Path other = Files.createDirectories(tmp.resolve("elsewhere"));
        CliTest.Run o = cli("plan", "--instance", instance.toString(), "--scope", "all", "--volume", "gitserver-0=" + other, "--to", sink);
        assertThat(o.out()).contains(other + "  (flag --volume)").doesNotContain("gitserver-0: from volume/gitserver-0");
    }

    @Test
    void backupFromTheInstanceFileTakesItsVolumes() throws Exception {
        Path instance = tmp.resolve("instance.json");
        Files.writeString(instance, discover().out());
        // without --scope the file's stores are exactly the stores, databases included
        CliTest.Run b = cli("backup", "--instance", instance.toString(), "--to", sink, "--postgres-mode", "jdbc");
        // the databases are unreachable in this test: the backup is refused or fails, never silently drops them
        assertThat(b.code()).as(b.err()).isNotZero();
        assertThat(b.out() + b.err()).doesNotContain(SEEDED);
    }

    @Test
    void restoreTakesItsTargetsFromTheInstanceFile() throws Exception {
        Path instance = tmp.resolve("instance.json");
        Files.writeString(instance, discover().out());
        Path old = Files.createDirectories(tmp.resolve("old-gitserver"));
        Files.writeString(old.resolve("repo"), "cloned");
        CliTest.Run b = cli("backup", "--volume", "gitserver-0=" + old, "--to", sink);
        assertThat(b.code()).as(b.err()).isZero();
        // the file names gitserver-0's directory in the new deployment; its other stores are not in this backup
        CliTest.Run r = cli("restore", "--from", sink, "--backup", b.last(), "--instance", instance.toString(), "--phase", "volumes",
                "--replace");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Files.readString(tmp.resolve("volumes/docker-compose_gitserver-0/_data/repo"))).isEqualTo("cloned");
        assertThat(r.out() + r.err()).doesNotContain(SEEDED);
    }

    @Test
    void volumeMountsGiveTheDirectoriesAsTheSgbackupContainerSeesThem() throws Exception {
        // examples/deploy/compose mounts each volume at /data/<key>: discover on the host, run in the container
        CliTest.Run d = cli("discover", "--compose", compose.toString(), "--volume-mounts", "/data");
        assertThat(d.code()).as(d.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(d.out());
        for (JsonNode st : j.get("stores")) {
            if (st.get("name").asText().equals("gitserver-0")) {
                assertThat(st.at("/location/directory").asText()).isEqualTo("/data/gitserver-0");
                assertThat(st.at("/location/volume").asText()).isEqualTo("docker-compose_gitserver-0");
            }
        }
        assertThat(j.toString()).contains("/data/prometheus-v2");
        CliTest.Run both = cli("discover", "--compose", compose.toString(), "--volume-mounts", "/data", "--volume-root", "/x");
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("do not go together");
        assertThat(cli("discover", "--single-image", tmp.toString(), "--volume-mounts", "/data").err())
                .contains("--volume-mounts does not go with --single-image");
    }

    /** A kubeconfig whose current context "sg" points at {@code server} with a (seeded) token. */
    Path kubeconfig(String name, String server) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "%s"}}]
                users: [{name: u, user: {token: "%s-token"}}]
                contexts: [{name: sg, context: {cluster: c, user: u}}]
                current-context: sg
                """.formatted(server, SEEDED));
        return f;
    }

    @Test
    void discoverKubernetesReadsAHelmNamespace() throws Exception {
        try (InputStream in = CliDiscoverTest.class.getResourceAsStream("/discover/kubernetes/helm.yaml")) {
            for (HasMetadata o : client.load(in).items()) {
                client.resource(o).inNamespace("sg-cli").createOr(r -> r.update());
            }
        }
        Path kc = kubeconfig("kubeconfig", "http://" + server.getHostName() + ":" + server.getPort());
        CliTest.Run d = cli("discover", "--kubernetes", "--kubeconfig", kc.toString(), "--namespace", "sg-cli");
        assertThat(d.code()).as(d.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(d.out());
        assertThat(j.at("/deployment/kind").asText()).isEqualTo("kubernetes");
        assertThat(j.at("/deployment/input").asText()).isEqualTo("kubernetes-api");
        assertThat(j.at("/deployment/namespace").asText()).isEqualTo("sg-cli");
        assertThat(j.at("/deployment/context").asText()).isEqualTo("sg");
        assertThat(j.get("stores").findValuesAsText("name")).containsExactly("frontend", "codeintel", "codeinsights", "blobstore",
                "cache-searcher-0", "data-indexed-search-0", "grafana-data-grafana-0", "prometheus", "redis-cache", "redis-store",
                "repos-gitserver-0", "repos-gitserver-1", "repos-gitserver-2");
        assertThat(j.at("/stores/0/credentials").asText()).isEqualTo("env:PGPASSWORD@Deployment/sourcegraph-frontend secretKeyRef:pgsql-auth/password");
        assertThat(j.at("/stores/11/location/pvc").asText()).isEqualTo("repos-gitserver-1");
        assertThat(j.at("/stores/11/location/node").asText()).isEqualTo("node-b");
        assertThat(d.err()).isEmpty(); // no warnings
        assertThat(d.out() + d.err()).doesNotContain(SEEDED);

        // a plan from it: the databases, and a note per PVC
        Path instance = tmp.resolve("instance.json");
        Files.writeString(instance, d.out());
        CliTest.Run p = cli("plan", "--instance", instance.toString(), "--scope", "all", "--to", sink);
        assertThat(p.out()).contains("repos-gitserver-0: PVC repos-gitserver-0 (StatefulSet/gitserver, node node-a): mount it and pass"
                + " --volume repos-gitserver-0=DIR (no Kubernetes executor mounts it for you yet)");
        assertThat(p.out() + p.err()).doesNotContain(SEEDED);

        // warnings on stderr, exit 3 with --strict: a PVC no workload mounts
        client.persistentVolumeClaims().inNamespace("sg-cli").resource(new io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder()
                .withNewMetadata().withName("orphan").endMetadata().build()).create();
        CliTest.Run strict = cli("discover", "--kubernetes", "--kubeconfig", kc.toString(), "--namespace", "sg-cli", "--strict");
        assertThat(strict.code()).isEqualTo(3);
        assertThat(strict.err()).isEqualTo("warning: PVC orphan is mounted by no StatefulSet or Deployment: left out" + System.lineSeparator());
        assertThat(strict.out()).contains("sgbackup.instance/v1");
    }

    @Test
    void discoverKubernetesWithoutAServerOrWithBadFlagsIsOneClearError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path kc = kubeconfig("closed", "http://127.0.0.1:" + port);
        CliTest.Run d = cli("discover", "--kubernetes", "--kubeconfig", kc.toString());
        assertThat(d.code()).isEqualTo(1);
        assertThat(d.out()).isEmpty();
        assertThat(d.err()).startsWith("error: cannot reach the Kubernetes API server http://127.0.0.1:" + port + " of context sg (")
                .contains("check that the cluster is up").doesNotContain("\tat ").doesNotContain(SEEDED);
        assertThat(d.err().lines().count()).isEqualTo(1);
        CliTest.Run ctx = cli("discover", "--kubernetes", "--kubeconfig", kc.toString(), "--context", "prod");
        assertThat(ctx.code()).isEqualTo(1);
        assertThat(ctx.err()).isEqualTo("error: context prod is not in the kubeconfig " + kc.toAbsolutePath() + ": pass --context (one of [sg])"
                + System.lineSeparator());
        assertThat(cli("discover", "--kubernetes", "--compose", compose.toString()).code()).isEqualTo(2);
        assertThat(cli("discover", "--kubernetes", "--project", "x").code()).isEqualTo(2);
    }
}
