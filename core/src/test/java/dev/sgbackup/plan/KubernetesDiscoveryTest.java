package dev.sgbackup.plan;

import static dev.sgbackup.plan.DiscoveryTest.SEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.Sinks;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kubernetes discovery against fabric8's API server mock (CRUD mode) holding Helm-shaped namespaces:
 * {@code discover/kubernetes/helm.yaml} (the chart's defaults, three gitserver shards) and
 * {@code helm-customised.yaml} (existingSecret, external database, no blobstore, renamed gitserver with a subPath).
 */
@EnableKubernetesMockClient(crud = true, https = false)
class KubernetesDiscoveryTest {
    static final String NS = "sourcegraph";
    static final String CUSTOM_NS = "sg-custom";
    static final String TOKEN = SEEDED + "-bearer-token";

    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    Path kubeconfig;
    /** Everything discovery printed or threw, checked for the seeded passwords at the end of each test. */
    final StringBuilder seen = new StringBuilder();

    /** Creates a fixture's objects in a namespace, as a Helm install would. */
    static void load(KubernetesClient client, String resource, String ns) throws Exception {
        try (InputStream in = KubernetesDiscoveryTest.class.getResourceAsStream("/discover/kubernetes/" + resource)) {
            for (HasMetadata o : client.load(in).items()) {
                client.resource(o).inNamespace(ns).create();
            }
        }
    }

    /**
     * A cluster's StorageClasses (typed, cluster-scoped) and VolumeSnapshotClasses (a CRD: through the generic API,
     * cluster-scoped) from {@code discover/kubernetes/<resource>}.
     */
    static void loadStorage(KubernetesClient client, String resource) throws Exception {
        io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext vsc = new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext
                .Builder().withGroup("snapshot.storage.k8s.io").withVersion("v1").withKind("VolumeSnapshotClass")
                .withPlural("volumesnapshotclasses").withNamespaced(false).build();
        try (InputStream in = KubernetesDiscoveryTest.class.getResourceAsStream("/discover/kubernetes/" + resource)) {
            for (HasMetadata o : client.load(in).items()) {
                if (o instanceof io.fabric8.kubernetes.api.model.GenericKubernetesResource g) {
                    client.genericKubernetesResources(vsc).resource(g).create();
                } else {
                    client.resource(o).create();
                }
            }
        }
    }

    @Test
    void theSnapshotClassOfEachClaimsCsiDriverDefaultFirst() throws Exception {
        loadStorage(client, "storage-gke.yaml");
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        InstanceDescription.Store shard = d.stores().stream().filter(s -> s.name().equals("repos-gitserver-1")).findFirst().orElseThrow();
        // archive-vsc sorts first and has the same driver: the class annotated as the default wins
        assertThat(shard.location().storage()).isEqualTo(new InstanceDescription.Storage("sourcegraph", "100Gi", "pd.csi.storage.gke.io",
                "pd-vsc"));
        assertThat(d.warnings()).isEmpty();
        assertThat(InstanceDescription.fromJson(d.toJson())).isEqualTo(d);
    }

    @Test
    void anInTreeProvisionerHasNoSnapshotClassAndAClusterWithoutStorageClassesNeither() throws Exception {
        InstanceDescription none = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        InstanceDescription.Store s0 = none.stores().stream().filter(s -> s.name().equals("repos-gitserver-0")).findFirst().orElseThrow();
        assertThat(s0.location().storage()).isEqualTo(new InstanceDescription.Storage("sourcegraph", "100Gi", null, null));
        loadStorage(client, "storage-helm.yaml");
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        InstanceDescription.Store shard = d.stores().stream().filter(s -> s.name().equals("repos-gitserver-0")).findFirst().orElseThrow();
        assertThat(shard.location().storage()).isEqualTo(new InstanceDescription.Storage("sourcegraph", "100Gi", "kubernetes.io/gce-pd",
                null));
        assertThat(d.warnings()).isEmpty();
    }

    /** A kubeconfig for the mock server: context "helm" (namespace sourcegraph, current) and "custom" (sg-custom). */
    static Path kubeconfig(Path dir, String server) throws Exception {
        Path f = dir.resolve("kubeconfig");
        Files.writeString(f, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster: {server: "%s"}
                users:
                - name: tester
                  user: {token: "%s"}
                contexts:
                - name: helm
                  context: {cluster: mock, user: tester, namespace: sourcegraph}
                - name: custom
                  context: {cluster: mock, user: tester, namespace: sg-custom}
                - name: no-namespace
                  context: {cluster: mock, user: tester}
                current-context: helm
                """.formatted(server, TOKEN));
        return f;
    }

    @BeforeEach
    void setUp() throws Exception {
        load(client, "helm.yaml", NS);
        load(client, "helm-customised.yaml", CUSTOM_NS);
        kubeconfig = kubeconfig(tmp, "http://" + server.getHostName() + ":" + server.getPort());
    }

    InstanceDescription discover(Deployments.Kubernetes q) {
        InstanceDescription d = q.discover();
        seen.append(d.toJson()).append(d).append(d.warnings()).append(d.notes());
        return d;
    }

    /** One line per store: name kind recreatable origin pvc@mountPath[:subPath] node host:port/db?user credentials. */
    static List<String> summary(InstanceDescription d) {
        return d.stores().stream().map(s -> {
            InstanceDescription.Location l = s.location();
            return s.name() + " " + s.kind() + " " + s.recreatable() + " " + s.origin() + " "
                    + (l.pvc() == null ? "-" : l.namespace() + "/" + l.pvc() + "@" + l.mountPath() + (l.subPath() == null ? "" : ":" + l.subPath()))
                    + " " + (l.node() == null ? "-" : l.node())
                    + (l.host() == null ? "" : " " + l.host() + ":" + l.port() + "/" + l.database() + "?user=" + l.user())
                    + (Boolean.TRUE.equals(l.external()) ? " external" : "") + (s.credentials() == null ? "" : " " + s.credentials());
        }).toList();
    }

    @Test
    void theChartsDefaultsWithThreeGitserverShards() {
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        assertThat(d.deployment()).isEqualTo(new InstanceDescription.Deployment("kubernetes", null,
                List.of(kubeconfig.toAbsolutePath().toString()), "kubernetes-api", NS, "helm"));
        assertThat(d.version()).isEqualTo("6.0.0");
        String fe = "@Deployment/sourcegraph-frontend secretKeyRef:";
        assertThat(summary(d)).containsExactly(
                "frontend postgres false StatefulSet/pgsql sourcegraph/pgsql@/data node-b pgsql:5432/sg?user=sg env:PGPASSWORD" + fe + "pgsql-auth/password",
                "codeintel postgres true StatefulSet/codeintel-db sourcegraph/codeintel-db@/data - codeintel-db:5432/sg?user=sg"
                        + " env:CODEINTEL_PGPASSWORD" + fe + "codeintel-db-auth/password",
                "codeinsights postgres false StatefulSet/codeinsights-db sourcegraph/codeinsights-db@/var/lib/postgresql/data/ -"
                        + " codeinsights-db:5432/postgres?user=postgres env:CODEINSIGHTS_PGPASSWORD" + fe + "codeinsights-db-auth/password",
                "blobstore blobstore false Deployment/blobstore sourcegraph/blobstore@/data node-c",
                "cache-searcher-0 cache true StatefulSet/searcher sourcegraph/cache-searcher-0@/mnt/cache -",
                "data-indexed-search-0 zoekt true StatefulSet/indexed-search sourcegraph/data-indexed-search-0@/data node-a",
                "grafana-data-grafana-0 grafana true StatefulSet/grafana sourcegraph/grafana-data-grafana-0@/var/lib/grafana -",
                "prometheus prometheus false Deployment/prometheus sourcegraph/prometheus@/prometheus -",
                "redis-cache redis true Deployment/redis-cache sourcegraph/redis-cache@/redis-data -",
                "redis-store redis true Deployment/redis-store sourcegraph/redis-store@/redis-data -",
                "repos-gitserver-0 gitserver true StatefulSet/gitserver sourcegraph/repos-gitserver-0@/data/repos node-a",
                "repos-gitserver-1 gitserver true StatefulSet/gitserver sourcegraph/repos-gitserver-1@/data/repos node-b",
                "repos-gitserver-2 gitserver true StatefulSet/gitserver sourcegraph/repos-gitserver-2@/data/repos node-c");
        assertThat(d.warnings()).isEmpty();
        assertThat(InstanceDescription.fromJson(d.toJson())).isEqualTo(d);
        // the password reference works as for Compose: the variable between env: and @
        assertThat(InstanceDescription.password(d.stores().get(0), Map.of("PGPASSWORD", "pw")::get)).containsExactly("pw".toCharArray());
    }

    @Test
    void whatAWorkerPodInheritsAndTheAccessModes() {
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        InstanceDescription.Store shard = d.stores().stream().filter(s -> s.name().equals("repos-gitserver-1")).findFirst().orElseThrow();
        assertThat(shard.location().accessModes()).containsExactly("ReadWriteOnce");
        assertThat(shard.pod().workload()).isEqualTo("StatefulSet/gitserver");
        assertThat(shard.pod().securityContext()).containsEntry("runAsUser", 100).containsEntry("runAsGroup", 101)
                .containsEntry("fsGroup", 101);
        assertThat(shard.pod().containerSecurityContext()).containsEntry("allowPrivilegeEscalation", false).containsEntry("runAsUser", 100);
        assertThat(shard.pod().nodeSelector()).containsExactly(Map.entry("sourcegraph.com/pool", "sourcegraph"));
        assertThat(shard.pod().tolerations()).containsExactly(Map.of("key", "dedicated", "operator", "Equal", "value", "sourcegraph",
                "effect", "NoSchedule"));
        assertThat(shard.pod().priorityClassName()).isEqualTo("sourcegraph-high");
        assertThat(shard.pod().imagePullSecrets()).containsExactly("sourcegraph-registry");
        // a database's pod is its client's, the frontend's
        InstanceDescription.Store fe = d.stores().get(0);
        assertThat(fe.pod().workload()).isEqualTo("Deployment/sourcegraph-frontend");
        // the instance file keeps all of it
        assertThat(InstanceDescription.fromJson(d.toJson())).isEqualTo(d);
    }

    @Test
    void theInstanceHasTheDatabasesAndNotesEveryPvc() {
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        Instance i = d.toInstance().build();
        assertThat(i.databases()).extracting(Instance.Database::jdbcUrl).containsExactly("jdbc:postgresql://pgsql:5432/sg?user=sg",
                "jdbc:postgresql://codeintel-db:5432/sg?user=sg", "jdbc:postgresql://codeinsights-db:5432/postgres?user=postgres");
        assertThat(i.volumes()).isEmpty(); // no host directory: a PVC is mounted first
        assertThat(d.notes()).contains("repos-gitserver-1: PVC repos-gitserver-1 (StatefulSet/gitserver, node node-b): mount it and pass"
                        + " --volume repos-gitserver-1=DIR (no Kubernetes executor mounts it for you yet)",
                "frontend: from StatefulSet/pgsql (password: env:PGPASSWORD@Deployment/sourcegraph-frontend secretKeyRef:pgsql-auth/password)",
                "redis-store: redis from Deployment/redis-store: not backed up (caches and sessions (Redis))");
        seen.append(SgBackup.to(Sinks.memory()).planBackup(d.toInstance(v -> SEEDED + "-" + v).build(), Scope.ALL).withNotes(d.notes()).explain());
        assertThat(seen.toString()).doesNotContain(SEEDED);
    }

    @Test
    void aCustomisedReleaseIsDescribedAndEveryCustomisationWarned() {
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig).context("custom"));
        assertThat(d.deployment().namespace()).isEqualTo(CUSTOM_NS);
        assertThat(d.deployment().context()).isEqualTo("custom");
        assertThat(summary(d)).containsExactly(
                "frontend postgres false StatefulSet/pgsql sg-custom/pgsql@/data - pgsql:5433/sourcegraph?user=sourcegraph"
                        + " env:PGPASSWORD@Deployment/sourcegraph-frontend secretKeyRef:acme-pg-credentials/password",
                "codeintel postgres true external/codeintel.c9akciq32.us-east-1.rds.amazonaws.com (from Deployment/sourcegraph-frontend) -"
                        + " - codeintel.c9akciq32.us-east-1.rds.amazonaws.com:5432/codeintel?user=codeintel external"
                        + " env:CODEINTEL_PGPASSWORD@Deployment/sourcegraph-frontend",
                "codeinsights postgres false StatefulSet/codeinsights-db sg-custom/codeinsights-db@/var/lib/postgresql/data/ -"
                        + " codeinsights-db:5432/insights?user=insights env:CODEINSIGHTS_PGDATASOURCE@Deployment/sourcegraph-frontend",
                "acme-reports-data other false Deployment/acme-reports sg-custom/acme-reports-data@/srv/reports -",
                "repos-sourcegraph-git-0 gitserver true StatefulSet/sourcegraph-git sg-custom/repos-sourcegraph-git-0@/data/repos:repos node-ssd-1",
                "repos-sourcegraph-git-1 gitserver true StatefulSet/sourcegraph-git sg-custom/repos-sourcegraph-git-1@/data/repos:repos -");
        assertThat(d.warnings()).containsExactlyInAnyOrder(
                "frontend: PG* come from Secret acme-pg-credentials, not the chart's pgsql-auth (auth.existingSecret): discovery needs get"
                        + " on it for the host, port, database and user",
                "StatefulSet/sourcegraph-git is no workload of the chart by name: PVC repos-sourcegraph-git-0 taken as gitserver from its"
                        + " volume repos (a renamed workload?)",
                "StatefulSet/sourcegraph-git is no workload of the chart by name: PVC repos-sourcegraph-git-1 taken as gitserver from its"
                        + " volume repos (a renamed workload?)",
                "PVC repos-sourcegraph-git-1 is beyond StatefulSet/sourcegraph-git's 1 replicas (left from a scale-down?): listed; its data"
                        + " may be stale",
                "PVC acme-reports-data (mounted by Deployment/acme-reports at /srv/reports) is of unknown kind: kept as 'other' (not"
                        + " recreatable)",
                "PVC old-gitserver-backup is mounted by no StatefulSet or Deployment: left out",
                "precise code-intel uploads live in external object storage (SOURCEGRAPH_UPLOAD_BACKEND=S3 in"
                        + " Deployment/sourcegraph-frontend): not in this backup; back the bucket up with the storage's own tools");
        // an external database among internal ones: left out of the plan with a note
        assertThat(d.toInstance().build().databases()).extracting(Instance.Database::name).containsExactly("frontend", "codeinsights");
        assertThat(d.notes()).anyMatch(n -> n.startsWith("codeintel: external database at codeintel.c9akciq32"));
        assertThat(seen.toString()).doesNotContain(SEEDED);
    }

    @Test
    void envFromSecretsAndADataSourceInASecret() throws Exception {
        String b64pw = Base64.getEncoder().encodeToString((SEEDED + "-envfrom").getBytes(StandardCharsets.UTF_8));
        String yaml = """
                apiVersion: v1
                kind: Secret
                metadata: {name: db-env}
                data: {PGHOST: %s, PGPORT: %s, PGUSER: %s, PGDATABASE: %s, PGPASSWORD: %s}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: pgsql}
                spec: {selector: {app: pgsql}}
                ---
                apiVersion: apps/v1
                kind: StatefulSet
                metadata: {name: pgsql}
                spec:
                  selector: {matchLabels: {app: pgsql}}
                  template:
                    metadata: {labels: {app: pgsql}}
                    spec:
                      containers: [{name: pgsql, image: "sourcegraph/postgresql-16:6.0.0", volumeMounts: [{name: disk, mountPath: /data}]}]
                      volumes: [{name: disk, persistentVolumeClaim: {claimName: pgsql}}]
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: sourcegraph-frontend}
                spec:
                  selector: {matchLabels: {app: sourcegraph-frontend}}
                  template:
                    metadata: {labels: {app: sourcegraph-frontend}}
                    spec:
                      containers:
                      - name: frontend
                        image: "sourcegraph/frontend:6.0.0"
                        envFrom: [{secretRef: {name: db-env}}]
                        env:
                        - {name: CODEINTEL_PGHOST, value: pgsql}
                        - {name: CODEINSIGHTS_PGDATASOURCE, valueFrom: {secretKeyRef: {name: insights-dsn, key: dsn}}}
                """.formatted(b64("pgsql"), b64("5432"), b64("sg"), b64("sg"), b64pw);
        for (HasMetadata o : client.load(new java.io.ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
            client.resource(o).inNamespace("sg-envfrom").create();
        }
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig).namespace("sg-envfrom"));
        assertThat(summary(d)).containsExactly(
                "frontend postgres false StatefulSet/pgsql sg-envfrom/pgsql@/data - pgsql:5432/sg?user=sg"
                        + " env:PGPASSWORD@Deployment/sourcegraph-frontend secretKeyRef:db-env/PGPASSWORD",
                "codeintel postgres true StatefulSet/pgsql sg-envfrom/pgsql@/data - pgsql:5432/sg?user=sg env:CODEINTEL_PGPASSWORD");
        assertThat(d.warnings()).containsExactly(
                "frontend: PG* come from Secret db-env, not the chart's pgsql-auth (auth.existingSecret): discovery needs get on it for"
                        + " the host, port, database and user",
                "codeinsights: CODEINSIGHTS_PGDATASOURCE of Deployment/sourcegraph-frontend comes from Secret insights-dsn (it holds the"
                        + " password: not read): database left out; add it with --postgres",
                "no blobstore workload (blobstore.enabled=false?): precise code-intel uploads live in external object storage and are not"
                        + " in this backup");
        assertThat(seen.toString()).doesNotContain(SEEDED).doesNotContain(b64pw);
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void discoveryOnlyReads() throws Exception {
        while (server.takeRequest(10, TimeUnit.MILLISECONDS) != null) {
            // the fixture's creations
        }
        int before = server.getRequestCount();
        discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        discover(Deployments.kubernetes().kubeconfig(kubeconfig).context("custom"));
        List<String> requests = new ArrayList<>();
        for (int i = before; i < server.getRequestCount(); i++) {
            RecordedRequest r = server.takeRequest(1, TimeUnit.SECONDS);
            requests.add(r.getMethod() + " " + r.getPath());
        }
        assertThat(requests).isNotEmpty().allMatch(r -> r.startsWith("GET "));
        assertThat(requests).contains("GET /apis/apps/v1/namespaces/sourcegraph/statefulsets", "GET /apis/apps/v1/namespaces/sourcegraph/deployments",
                "GET /api/v1/namespaces/sourcegraph/persistentvolumeclaims", "GET /api/v1/namespaces/sourcegraph/pods",
                "GET /api/v1/namespaces/sourcegraph/services", "GET /api/v1/namespaces/sourcegraph/secrets/pgsql-auth",
                "GET /api/v1/namespaces/sg-custom/secrets/acme-pg-credentials");
        // Secrets only by name (RBAC can name them), never listed
        assertThat(requests).noneMatch(r -> r.matches("GET /api/v1/namespaces/[^/]+/secrets(\\?.*)?"));
    }

    @Test
    void aSecretThatMayNotBeReadWarnsAndTakesSourcegraphsDefaults() {
        server.expect().get().withPath("/api/v1/namespaces/sourcegraph/secrets/codeinsights-db-auth")
                .andReturn(403, new StatusBuilder().withCode(403).withReason("Forbidden").withMessage("secrets is forbidden").build()).always();
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        assertThat(summary(d).get(2)).contains(" codeinsights-db:5432/postgres?user=postgres ");
        assertThat(d.warnings()).containsExactly("secret codeinsights-db-auth (CODEINSIGHTS_PGHOST of Deployment/sourcegraph-frontend)"
                + " cannot be read (403 Forbidden: grant get on it): Sourcegraph's defaults used");
        assertThat(seen.toString()).doesNotContain(SEEDED);
    }

    @Test
    void storageClassesThatMayNotBeListedWarnAndRecordNoSnapshotClass() throws Exception {
        loadStorage(client, "storage-eks.yaml");
        server.expect().get().withPath("/apis/storage.k8s.io/v1/storageclasses")
                .andReturn(403, new StatusBuilder().withCode(403).withReason("Forbidden").build()).always();
        InstanceDescription d = discover(Deployments.kubernetes().kubeconfig(kubeconfig));
        InstanceDescription.Store shard = d.stores().stream().filter(s -> s.name().equals("repos-gitserver-0")).findFirst().orElseThrow();
        assertThat(shard.location().storage()).isEqualTo(new InstanceDescription.Storage("sourcegraph", "100Gi", null, null));
        assertThat(d.warnings()).containsExactly("cannot list storageclasses (403): no CSI snapshot recorded, volumes are backed up live"
                + " (discovery needs get and list on storageclasses and volumesnapshotclasses, cluster-scoped, for snapshots)");
    }

    @Test
    void forbiddenListsAndAnUnreachableServerAreOneClearError() throws Exception {
        server.expect().get().withPath("/apis/apps/v1/namespaces/sourcegraph/statefulsets")
                .andReturn(403, new StatusBuilder().withCode(403).withReason("Forbidden").build()).always();
        assertThatThrownBy(() -> Deployments.kubernetes().kubeconfig(kubeconfig).discover()).isInstanceOf(InvalidInputException.class)
                .hasMessage("context helm may not list statefulsets in namespace sourcegraph (403 Forbidden): discovery needs get and list"
                        + " on statefulsets, deployments, pods, persistentvolumeclaims and services"
                        + " (examples/deploy/kubernetes/serviceaccount-rbac.yaml)")
                .satisfies(e -> seen.append(e.getMessage()).append(e.getCause()));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createDirectories(tmp.resolve("closed"));
        Path closed = kubeconfig(dir, "http://127.0.0.1:" + port);
        assertThatThrownBy(() -> Deployments.kubernetes().kubeconfig(closed).discover()).isInstanceOf(InvalidInputException.class)
                .hasMessageStartingWith("cannot reach the Kubernetes API server http://127.0.0.1:" + port + " of context helm (")
                .hasMessageEndingWith("): check that the cluster is up and that --kubeconfig and --context point at it")
                .satisfies(e -> seen.append(e.getMessage()).append(e.getCause()));
        // certificate data that does not parse: one message, the data not quoted
        Path badCa = tmp.resolve("bad-ca");
        Files.writeString(badCa, Files.readString(closed).replace("cluster: {server: \"http://127.0.0.1:" + port + "\"}",
                "cluster: {server: \"https://127.0.0.1:" + port + "\", certificate-authority-data: \"" + SEEDED + "-not-a-cert\"}"));
        assertThat(Files.readString(badCa)).contains("certificate-authority-data");
        assertThatThrownBy(() -> Deployments.kubernetes().kubeconfig(badCa).discover()).isInstanceOf(InvalidInputException.class)
                .satisfies(e -> seen.append(e.getMessage()).append(e.getCause()));
        assertThatThrownBy(() -> Deployments.kubernetes().kubeconfig(kubeconfig).namespace("empty").discover())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("namespace empty has no StatefulSets or Deployments");
        assertThat(seen.toString()).doesNotContain(SEEDED);
    }

    @Test
    void kubeconfigContextAndNamespaceAreResolvedAsKubectlDoes() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path pod = Files.createDirectories(tmp.resolve("serviceaccount"));
        Map<String, String> noEnv = Map.of();
        Deployments.Kubernetes q = Deployments.kubernetes();
        // explicit file; the current context's namespace; an explicit namespace wins; another context
        assertThat(KubernetesConfig.resolve(q.kubeconfig(kubeconfig), noEnv::get, home, pod))
                .isEqualTo(new KubernetesConfig.Target(kubeconfig.toAbsolutePath(), "helm", NS));
        assertThat(KubernetesConfig.resolve(q.kubeconfig(kubeconfig).namespace("other"), noEnv::get, home, pod).namespace()).isEqualTo("other");
        assertThat(KubernetesConfig.resolve(q.kubeconfig(kubeconfig).context("custom"), noEnv::get, home, pod).namespace()).isEqualTo(CUSTOM_NS);
        assertThat(KubernetesConfig.resolve(q.kubeconfig(kubeconfig).context("no-namespace"), noEnv::get, home, pod).namespace())
                .isEqualTo("default");
        // KUBECONFIG: its first existing file; else ~/.kube/config
        String list = tmp.resolve("missing") + java.io.File.pathSeparator + kubeconfig;
        assertThat(KubernetesConfig.resolve(q, Map.of("KUBECONFIG", list)::get, home, pod).kubeconfig()).isEqualTo(kubeconfig.toAbsolutePath());
        Files.createDirectories(home.resolve(".kube"));
        Files.copy(kubeconfig, home.resolve(".kube/config"));
        assertThat(KubernetesConfig.resolve(q.context("custom"), noEnv::get, home, pod))
                .isEqualTo(new KubernetesConfig.Target(home.resolve(".kube/config").toAbsolutePath(), "custom", CUSTOM_NS));
        // in a pod: the service account and its namespace file, else default
        Path nowhere = Files.createDirectories(tmp.resolve("nohome"));
        assertThatThrownBy(() -> KubernetesConfig.resolve(q, noEnv::get, nowhere, pod)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG or create ~/.kube/config");
        Files.writeString(pod.resolve("token"), TOKEN);
        assertThat(KubernetesConfig.resolve(q, noEnv::get, nowhere, pod)).isEqualTo(new KubernetesConfig.Target(null, null, "default"));
        Files.writeString(pod.resolve("namespace"), "sourcegraph-prod\n");
        assertThat(KubernetesConfig.resolve(q, noEnv::get, nowhere, pod).namespace()).isEqualTo("sourcegraph-prod");
        assertThat(KubernetesConfig.resolve(q.namespace("x"), noEnv::get, nowhere, pod).namespace()).isEqualTo("x");
        // mistakes: an unknown context, a missing file, a broken file (its text, which may hold tokens, never quoted)
        assertThatThrownBy(() -> KubernetesConfig.resolve(q.kubeconfig(kubeconfig).context("prod"), noEnv::get, home, pod))
                .hasMessage("context prod is not in the kubeconfig " + kubeconfig.toAbsolutePath()
                        + ": pass --context (one of [helm, custom, no-namespace])");
        assertThatThrownBy(() -> KubernetesConfig.resolve(q.kubeconfig(tmp.resolve("nope")), noEnv::get, home, pod))
                .hasMessage("--kubeconfig " + tmp.resolve("nope") + " is not a file");
        Path broken = tmp.resolve("broken");
        Files.writeString(broken, "users:\n- name: x\n  user: {token: \"" + TOKEN + "\"\n  : : [\n");
        assertThatThrownBy(() -> KubernetesConfig.resolve(q.kubeconfig(broken), noEnv::get, home, pod))
                .isInstanceOf(InvalidInputException.class).hasMessageStartingWith("cannot parse the kubeconfig " + broken.toAbsolutePath())
                .satisfies(e -> assertThat(e.getMessage() + e.getCause()).doesNotContain(SEEDED));
    }

    @Test
    void withoutTheClientOneClearError() {
        assertThatThrownBy(() -> KubernetesConfig.requireClient(List.of("io.fabric8.kubernetes.client.NoSuchClass")))
                .isInstanceOf(InvalidInputException.class).hasMessage("Kubernetes discovery needs io.fabric8:kubernetes-client (with"
                        + " io.fabric8:kubernetes-httpclient-okhttp) on the classpath; the CLI bundles it");
        KubernetesConfig.requireClient(KubernetesConfig.CLIENT_CLASSES); // here, they are
    }

    @Test
    void theFixturesHoldTheSeededPasswords() {
        // so that the other tests' "not contained" checks can fail: the passwords are there to leak
        String pw = client.secrets().inNamespace(NS).withName("pgsql-auth").get().getData().get("password");
        assertThat(new String(Base64.getDecoder().decode(pw), StandardCharsets.UTF_8)).startsWith(SEEDED);
        assertThat(client.apps().deployments().inNamespace(CUSTOM_NS).withName("sourcegraph-frontend").get().getSpec().getTemplate()
                .getSpec().getContainers().get(0).getEnv()).anyMatch(e -> e.getValue() != null && e.getValue().contains(SEEDED));
    }
}
