package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.examples.bench.LocalS3Proxy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backup|restore --executor kubernetes} end to end on a simulated cluster: fabric8's API server mock in CRUD
 * mode holding core's Helm-shaped release (gitserver shards on nodes a, b and c), {@link KubeletSimulator} running
 * each Job's worker as a local process, and a real S3 server (S3Proxy) as the sink whose credentials and passphrase
 * reach the workers only through the worker Secret. The coordinator is the CLI in its own process, as an operator
 * runs it. The gitserver shards are local directories standing for their volumes; the databases are on an embedded
 * PostgreSQL.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class KubernetesClusterSimulationTest {
    static final String NS = "sourcegraph";
    static final String IMAGE = "registry.example.com/sgbackup:0.1.0";
    static final String PASS = "cluster passphrase 1";
    static final List<String> SHARDS = List.of("repos-gitserver-0", "repos-gitserver-1", "repos-gitserver-2");

    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    Path kubeconfig;
    Path instance;
    String discovered;
    Path pvRoot;
    LocalS3Proxy s3;
    KubeletSimulator kubelet;
    Map<String, String> sinkEnv;
    String sink = "s3://backups/sourcegraph";

    @BeforeEach
    void cluster() throws Exception {
        try (InputStream in = getClass().getResourceAsStream("/discover/kubernetes/helm.yaml")) {
            for (HasMetadata o : client.load(in).items()) {
                client.resource(o).inNamespace(NS).create();
            }
        }
        kubeconfig = tmp.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "http://%s:%d"}}]
                users: [{name: u, user: {token: "t"}}]
                contexts: [{name: sg, context: {cluster: c, user: u, namespace: sourcegraph}}]
                current-context: sg
                """.formatted(server.getHostName(), server.getPort()));
        discoverShards();

        pvRoot = tmp.resolve("pv");
        for (int i = 0; i < 3; i++) {
            Path repo = Files.createDirectories(pvRoot.resolve(SHARDS.get(i)).resolve("github.com/acme/repo" + i + "/.git"));
            Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/main\n");
            byte[] pack = new byte[200_000 + i];
            new java.util.Random(i).nextBytes(pack);
            Files.write(repo.resolve("pack-" + i + ".pack"), pack);
        }
        s3 = LocalS3Proxy.start(Path.of(System.getProperty("s3proxy.jar")), tmp.resolve("s3"));
        s3.createBucket("backups");
        sinkEnv = new LinkedHashMap<>(Map.of("AWS_ACCESS_KEY_ID", LocalS3Proxy.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", LocalS3Proxy.SECRET_KEY,
                "AWS_ENDPOINT_URL_S3", s3.endpoint(), "AWS_REGION", "us-east-1"));
        Map<String, String> secret = new LinkedHashMap<>(sinkEnv);
        secret.put("SGBACKUP_PASSPHRASE", PASS);
        client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName("sgbackup-sink").endMetadata()
                .withData(b64(secret)).build()).create();
        kubelet = new KubeletSimulator(client, NS, pvRoot, tmp.resolve("pods"));
    }

    /** Discovers the release (again, after a test changed the cluster) into the instance file of the three shards. */
    void discoverShards() throws Exception {
        CliTest.Run d = CliTest.cli("discover", "--kubernetes", "--kubeconfig", kubeconfig.toString());
        assertThat(d.code()).as(d.err()).isZero();
        // the three gitserver shards only
        ObjectMapper json = new ObjectMapper();
        discovered = d.out();
        ObjectNode root = (ObjectNode) json.readTree(d.out());
        ArrayNode kept = json.createArrayNode();
        root.withArray("stores").forEach(s -> {
            if (SHARDS.contains(s.path("name").asText())) {
                kept.add(s);
            }
        });
        root.set("stores", kept);
        instance = tmp.resolve("instance.json");
        Files.writeString(instance, json.writeValueAsString(root));
    }

    @AfterEach
    void stop() throws Exception {
        if (kubelet != null) {
            kubelet.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private static Map<String, String> b64(Map<String, String> m) {
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
        return out;
    }

    record Run(int code, String out, String err) {
    }

    /** The CLI in its own process, with the sink's credentials and the passphrase in its environment. */
    private Process start(Path out, Path err, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_") || k.startsWith("SGBACKUP_") || k.equals("KUBECONFIG"));
        pb.environment().putAll(sinkEnv);
        pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
        if (passphrase) {
            pb.environment().put("SGBACKUP_PASSPHRASE", PASS);
        }
        return pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    /** Whether the CLI processes get SGBACKUP_PASSPHRASE (a test of unencrypted backups turns it off). */
    private boolean passphrase = true;

    private Run cli(String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        Process p = start(out, err, args);
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the CLI finishes").isTrue();
        return new Run(p.exitValue(), Files.readString(out).strip(), Files.readString(err));
    }

    private List<String> coordinatorArgs(String command, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--executor", "kubernetes", "--namespace", NS, "--image", IMAGE,
                "--instance", instance.toString(), command.equals("backup") ? "--to" : "--from", sink, "--worker-secret", "sgbackup-sink",
                "--kubeconfig", kubeconfig.toString()));
        a.addAll(List.of(more));
        return a;
    }

    /** The arguments with the workers' Secret that holds no passphrase. */
    private static String[] plain(List<String> args) {
        return args.stream().map(a -> a.equals("sgbackup-sink") ? "sgbackup-sink-plain" : a).toArray(String[]::new);
    }

    private List<String> jobs() {
        return client.batch().v1().jobs().inNamespace(NS).list().getItems().stream().map(j -> j.getMetadata().getName()).toList();
    }

    private List<String> objects() throws Exception {
        Run l = cli("list", "--from", sink);
        assertThat(l.code()).as(l.err()).isZero();
        return bucket();
    }

    /** The bucket's object keys, read from S3Proxy's directory (no CLI run). */
    private List<String> bucket() throws Exception {
        List<String> keys = new ArrayList<>();
        // S3Proxy's filesystem backend keeps bucket "backups" at s3/data/backups (LocalS3Proxy)
        Path data = tmp.resolve("s3").resolve("data");
        try (Stream<Path> s = Files.walk(data)) {
            s.filter(Files::isRegularFile).map(p -> data.relativize(p).toString()).filter(k -> k.startsWith("backups/"))
                    .forEach(keys::add);
        }
        return keys;
    }

    @Test
    void threeShardsBackUpThroughJobsIntoOneManifestThenRestoreExactlyThroughJobs() throws Exception {
        Run b = cli(coordinatorArgs("backup", "--encrypt", "--max-jobs", "2").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.out().lines().reduce((x, y) -> y).orElseThrow();
        assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(b.out()).contains("repos-gitserver-0 volume completed", "repos-gitserver-1 volume completed",
                "repos-gitserver-2 volume completed");
        assertThat(b.err()).contains("committed " + id + " from 3 step records");
        // each success with the step's bytes, from its record (the shard's tar: 210.0KiB)
        assertThat(b.err()).containsPattern("step repos-gitserver-0: succeeded \\([1-3]/3\\), 210\\.0KiB read");
        assertThat(kubelet.started()).hasSize(3);
        assertThat(kubelet.maxConcurrent()).isLessThanOrEqualTo(2);
        // each shard's worker ran pinned to its node (else the simulator had refused it: Multi-Attach)
        assertThat(jobs()).isEmpty(); // the coordinator deletes the Jobs it made
        Run list = cli("list", "--from", sink);
        assertThat(list.out()).startsWith(id);
        Run verify = cli("verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).as(verify.err()).isZero();
        assertThat(verify.out()).startsWith("ok " + id);
        Run show = cli("show", "--from", sink, "--backup", id, "--json");
        assertThat(show.out()).contains("\"repos-gitserver-0\"", "\"repos-gitserver-2\"").doesNotContain("_steps");
        assertThat(manifests()).as("the listing sees the bucket").hasSize(1);
        assertThat(objects()).noneMatch(k -> k.contains("_steps"));

        // restore through Jobs into emptied volumes (the shards' StatefulSet scaled down: their pods gone)
        client.pods().inNamespace(NS).list().getItems().stream().filter(p -> p.getMetadata().getName().startsWith("gitserver-"))
                .forEach(p -> client.pods().inNamespace(NS).resource(p).delete());
        Map<String, byte[]> before = new LinkedHashMap<>();
        for (String shard : SHARDS) {
            Path f = pvRoot.resolve(shard).resolve("github.com/acme/repo" + SHARDS.indexOf(shard) + "/.git/pack-" + SHARDS.indexOf(shard)
                    + ".pack");
            before.put(shard, Files.readAllBytes(f));
            deleteTree(pvRoot.resolve(shard));
            Files.createDirectories(pvRoot.resolve(shard));
        }
        Run r = cli(coordinatorArgs("restore", "--backup", id, "--phase", "volumes").toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        for (String shard : SHARDS) {
            int i = SHARDS.indexOf(shard);
            assertThat(Files.readAllBytes(pvRoot.resolve(shard).resolve("github.com/acme/repo" + i + "/.git/pack-" + i + ".pack")))
                    .isEqualTo(before.get(shard));
            assertThat(Files.readString(pvRoot.resolve(shard).resolve("github.com/acme/repo" + i + "/.git/HEAD")))
                    .isEqualTo("ref: refs/heads/main\n");
        }
        assertThat(jobs()).isEmpty();
    }

    /**
     * {@code --dedup} through Jobs: each shard's worker chunks into the bucket's repository, the coordinator holding the
     * backup's lease from before the first Job until the commit; the next backup's workers take each shard's unchanged
     * files from that shard's parent unread and store only what changed; a prune keeps every chunk the newer backup
     * uses, and it restores through Jobs into emptied volumes.
     */
    @Test
    void deduplicatedBackupsThroughJobsStoreOnlyWhatChangedPerShardAndRestoreThroughJobs() throws Exception {
        // unencrypted, so that no process spends seconds of C1-compiled PBKDF2 (encrypted dedup steps: CliWorkerTest and
        // core's DedupStepBackupTest; encrypted Jobs: the tests above): no passphrase for the CLI nor in the workers' Secret
        passphrase = false;
        client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName("sgbackup-sink-plain").endMetadata()
                .withData(b64(sinkEnv)).build()).create();
        Thread.sleep(3_100); // the shards were written just now: past the racy window, so the next backup may skip them
        Run b1 = cli(plain(coordinatorArgs("backup", "--dedup", "--max-jobs", "3")));
        assertThat(b1.code()).as(b1.err()).isZero();
        String id1 = b1.out().lines().reduce((x, y) -> y).orElseThrow();
        assertThat(b1.err()).contains("committed " + id1 + " from 3 step records");
        assertThat(kubelet.started()).hasSize(3);
        Path head = pvRoot.resolve(SHARDS.get(1)).resolve("github.com/acme/repo1/.git/HEAD");
        Files.writeString(head, "ref: refs/heads/feature\n");
        Thread.sleep(1_100); // backup ids carry the second

        Run b2 = cli(plain(coordinatorArgs("backup", "--dedup", "--max-jobs", "3")));
        assertThat(b2.code()).as(b2.err()).isZero();
        String id2 = b2.out().lines().reduce((x, y) -> y).orElseThrow();
        assertThat(kubelet.started()).hasSize(6);
        // every worker line: "STEP volume completed 1 artifacts BYTES bytes STORED stored"; the second stores no pack
        assertThat(b2.out().lines().filter(l -> l.contains(" volume completed ")))
                .hasSize(3).allSatisfy(l -> assertThat(Long.parseLong(l.replaceAll(".* (\\d+) stored$", "$1"))).isLessThan(10_000));
        Run show = cli("show", "--from", sink, "--backup", id2, "--json");
        assertThat(show.code()).as(show.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode m = new ObjectMapper().readTree(show.out());
        for (com.fasterxml.jackson.databind.JsonNode st : m.path("stores")) {
            boolean edited = st.path("name").asText().equals(SHARDS.get(1));
            assertThat(st.path("properties").path("unchanged").asText()).as(st.path("name").asText()).isEqualTo(edited ? "1" : "2");
            com.fasterxml.jackson.databind.JsonNode art = st.path("artifacts").get(0);
            assertThat(art.path("reusedBytes").asLong()).isGreaterThanOrEqualTo(200_000);
            assertThat(art.path("newBytes").asLong()).isLessThan(20_000);
        }
        assertThat(bucket()).noneMatch(k -> k.contains("_steps")).noneMatch(k -> k.contains("/locks/"));
        // the older backup deleted and its garbage collected at once: every chunk of the newer one stays (the restore
        // below reads them all, and a missing one fails it)
        Run prune = cli("prune", "--from", sink, "--keep-last", "1", "--grace", "0s", "--json");
        assertThat(prune.code()).as(prune.err()).isZero();
        assertThat(new ObjectMapper().readTree(prune.out()).path("packsDeleted").asInt()).as(prune.out()).isZero();
        assertThat(bucket()).filteredOn(k -> k.contains("/manifests/")).hasSize(1);

        // restore the newer one through Jobs into emptied volumes (the shards' StatefulSet scaled down)
        client.pods().inNamespace(NS).list().getItems().stream().filter(p -> p.getMetadata().getName().startsWith("gitserver-"))
                .forEach(p -> client.pods().inNamespace(NS).resource(p).delete());
        Map<String, Map<String, byte[]>> before = new LinkedHashMap<>();
        for (String shard : SHARDS) {
            Map<String, byte[]> files = new java.util.TreeMap<>();
            try (Stream<Path> w = Files.walk(pvRoot.resolve(shard))) {
                for (Path f : w.filter(Files::isRegularFile).toList()) {
                    files.put(pvRoot.resolve(shard).relativize(f).toString(), Files.readAllBytes(f));
                }
            }
            before.put(shard, files);
            deleteTree(pvRoot.resolve(shard));
            Files.createDirectories(pvRoot.resolve(shard));
        }
        Run r = cli(plain(coordinatorArgs("restore", "--backup", id2, "--phase", "volumes")));
        assertThat(r.code()).as(r.err()).isZero();
        for (String shard : SHARDS) {
            before.get(shard).forEach((k, v) -> {
                try {
                    assertThat(Files.readAllBytes(pvRoot.resolve(shard).resolve(k))).as(shard + " " + k).isEqualTo(v);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        assertThat(Files.readString(head)).isEqualTo("ref: refs/heads/feature\n");
        assertThat(jobs()).isEmpty();
    }

    /** The run's VolumeSnapshots and the PVCs cloned from them (label app.kubernetes.io/name=sgbackup) still in the cluster. */
    private List<String> snapshotObjects() {
        List<String> out = new ArrayList<>();
        client.genericKubernetesResources(KubeletSimulator.SNAPSHOTS).inNamespace(NS).list().getItems()
                .forEach(x -> out.add("VolumeSnapshot/" + x.getMetadata().getName()));
        client.persistentVolumeClaims().inNamespace(NS).withLabel("app.kubernetes.io/name", "sgbackup").list().getItems()
                .forEach(x -> out.add("PersistentVolumeClaim/" + x.getMetadata().getName()));
        return out;
    }

    @Test
    void withACsiSnapshotClassEachShardIsReadFromAReadOnlyUnpinnedCloneOfASnapshotPointInTimeAndNothingIsLeft() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-eks.yaml"); // StorageClass sourcegraph by ebs.csi.aws.com, its snapshot class
        discoverShards();
        Map<String, Map<String, byte[]>> before = new LinkedHashMap<>();
        for (String shard : SHARDS) {
            before.put(shard, files(pvRoot.resolve(shard)));
        }
        // gitserver keeps writing once the snapshot is cut and before the Job reads: none of it may be in the backup
        kubelet.afterSnapshotCut = claim -> {
            try {
                Path git = pvRoot.resolve(claim).resolve("github.com/acme/repo" + SHARDS.indexOf(claim) + "/.git");
                Files.writeString(git.resolve("HEAD"), "ref: refs/heads/after-the-snapshot\n");
                Files.writeString(git.resolve("written-after-the-snapshot"), "gc, repack, a push");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        Run b = cli(coordinatorArgs("backup", "--encrypt", "--max-jobs", "2").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.out().lines().reduce((x, y) -> y).orElseThrow();
        assertThat(kubelet.snapshotsCut).containsExactlyInAnyOrderElementsOf(SHARDS);
        assertThat(b.err()).contains("note: repos-gitserver-1: read from CSI snapshot").contains("point-in-time")
                .doesNotContain("read live from PVC");
        assertThat(kubelet.jobsSeen).hasSize(3);
        for (Job j : kubelet.jobsSeen.values()) {
            var pod = j.getSpec().getTemplate().getSpec();
            // a clone is a new volume: no node affinity (the simulator would refuse the source's RWO volume elsewhere)
            assertThat(pod.getAffinity()).isNull();
            var data = pod.getVolumes().stream().filter(v -> v.getName().equals("data")).findFirst().orElseThrow();
            assertThat(data.getPersistentVolumeClaim().getClaimName()).isEqualTo(j.getMetadata().getName()).doesNotStartWith("repos-");
            assertThat(data.getPersistentVolumeClaim().getReadOnly()).isTrue();
            assertThat(pod.getContainers().get(0).getVolumeMounts()).filteredOn(m -> m.getName().equals("data"))
                    .allSatisfy(m -> assertThat(m.getReadOnly()).isTrue());
        }
        assertThat(snapshotObjects()).isEmpty();
        assertThat(jobs()).isEmpty();
        Run verify = cli("verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).as(verify.err()).isZero();

        // the live volumes did change
        assertThat(Files.readString(pvRoot.resolve("repos-gitserver-0/github.com/acme/repo0/.git/HEAD"))).contains("after-the-snapshot");
        // restore (gitserver scaled down) into emptied volumes: exactly what was there when the snapshots were cut
        client.pods().inNamespace(NS).list().getItems().stream().filter(p -> p.getMetadata().getName().startsWith("gitserver-"))
                .forEach(p -> client.pods().inNamespace(NS).resource(p).delete());
        for (String shard : SHARDS) {
            deleteTree(pvRoot.resolve(shard));
            Files.createDirectories(pvRoot.resolve(shard));
        }
        Run r = cli(coordinatorArgs("restore", "--backup", id, "--phase", "volumes").toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        for (String shard : SHARDS) {
            Map<String, byte[]> after = files(pvRoot.resolve(shard));
            assertThat(after.keySet()).containsExactlyInAnyOrderElementsOf(before.get(shard).keySet());
            after.forEach((f, bytes) -> assertThat(bytes).as(shard + "/" + f).isEqualTo(before.get(shard).get(f)));
        }
        assertThat(snapshotObjects()).isEmpty();
        assertThat(jobs()).isEmpty();
    }

    @Test
    void aSnapshotThatReportsAnErrorFailsTheRunWithItsMessageAndLeavesNothing() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-eks.yaml");
        discoverShards();
        // the claim is gone after discovery: the snapshotter reports it in the VolumeSnapshot's status.error
        client.persistentVolumeClaims().inNamespace(NS).withName("repos-gitserver-1").delete();
        Run b = cli(coordinatorArgs("backup", "--max-jobs", "3", "--pending-timeout", "30s").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isEqualTo(1);
        assertThat(b.err()).containsPattern("step repos-gitserver-1 failed: VolumeSnapshot sgbackup-[0-9a-z-]+-repos-gitserver-1 of PVC"
                + " repos-gitserver-1 failed: Failed to create snapshot: .*persistentvolumeclaims \\\\\"repos-gitserver-1\\\\\" not found")
                .contains("nothing was committed");
        assertThat(manifests()).isEmpty();
        assertThat(jobs()).isEmpty();
        assertThat(snapshotObjects()).isEmpty();
        assertThat(kubelet.started()).noneMatch(n -> n.endsWith("repos-gitserver-1")); // its Job was never created
    }

    @Test
    void aCoordinatorKilledWhileReadingASnapshotLeavesNoSnapshotCloneOrJob() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-eks.yaml");
        discoverShards();
        Path out = tmp.resolve("killed.out");
        Path err = tmp.resolve("killed.err");
        Process p = start(out, err, coordinatorArgs("backup", "--max-jobs", "1").toArray(String[]::new));
        for (int i = 0; i < 600 && kubelet.started().isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertThat(kubelet.started()).isNotEmpty();
        assertThat(snapshotObjects()).isNotEmpty(); // the first step's snapshot and clone, in use
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isNotZero();
        assertThat(jobs()).isEmpty();
        assertThat(snapshotObjects()).isEmpty();
        assertThat(manifests()).isEmpty();
    }

    @Test
    void anotherRunsRecentSnapshotAndCloneRefuseTheNextRun() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-eks.yaml");
        discoverShards();
        String old = "20261201T010000Z-0c0c0c";
        String name = "sgbackup-" + old.toLowerCase() + "-repos-gitserver-0";
        Map<String, String> labels = Map.of("app.kubernetes.io/name", "sgbackup", "sgbackup.dev/backup-id", old,
                "sgbackup.dev/step", "repos-gitserver-0");
        var snap = new io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder().withApiVersion("snapshot.storage.k8s.io/v1")
                .withKind("VolumeSnapshot").withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withAdditionalProperties(Map.of("spec", Map.of("volumeSnapshotClassName", "csi-aws-vsc", "source",
                        Map.of("persistentVolumeClaimName", "repos-gitserver-0")))).build();
        client.genericKubernetesResources(KubeletSimulator.SNAPSHOTS).inNamespace(NS).resource(snap).create();
        client.persistentVolumeClaims().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder()
                .withNewMetadata().withName(name).withLabels(labels).endMetadata().withNewSpec()
                .withAccessModes("ReadWriteOnce").withNewResources().addToRequests("storage", new io.fabric8.kubernetes.api.model.Quantity("1Gi"))
                .endResources().endSpec().build()).create();
        assertThat(snapshotObjects()).hasSize(2);
        // just made: a run between two Jobs, not a dead one; this run is refused and touches nothing
        Run refused = cli(coordinatorArgs("backup").toArray(String[]::new));
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("VolumeSnapshot or snapshot clone of another sgbackup run (backup " + old + ")")
                .contains("kubectl delete volumesnapshots,pvc -n sourcegraph -l sgbackup.dev/backup-id=" + old);
        assertThat(snapshotObjects()).hasSize(2);
        assertThat(kubelet.started()).isEmpty();
    }

    /** Every regular file under a directory, by relative path. */
    private static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> out = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    @Test
    void theWholeReleaseThreeShardsThreeDatabasesAndTheConfigurationCommitOneManifest() throws Exception {
        Map<String, String> dbs = Map.of(
                "frontend", ReadmeMigrationTest.instanceDb("sourcegraph-frontend-5.11.sql", "journey/source-frontend-5.11.sql"),
                "codeintel", ReadmeMigrationTest.instanceDb("sourcegraph-codeintel-5.11.sql", null),
                "codeinsights", ReadmeMigrationTest.instanceDb("sourcegraph-codeinsights-5.11.sql", null));
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(discovered);
        ArrayNode kept = json.createArrayNode();
        root.withArray("stores").forEach(st -> {
            String name = st.path("name").asText();
            if (SHARDS.contains(name)) {
                kept.add(st);
            } else if (dbs.containsKey(name)) {
                ((ObjectNode) st.path("location")).put("host", "localhost").put("port", dev.sgbackup.examples.EmbeddedPg.server().getPort())
                        .put("database", dbs.get(name)).put("user", "postgres");
                kept.add(st);
            }
        });
        root.set("stores", kept);
        Files.writeString(instance, json.writeValueAsString(root));
        long users = dev.sgbackup.examples.EmbeddedPg.scalar(dbs.get("frontend"), "SELECT count(*) FROM users");
        assertThat(users).isPositive();

        Run b = cli(coordinatorArgs("backup", "--encrypt", "--max-jobs", "4").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.out().lines().reduce((x, y) -> y).orElseThrow();
        assertThat(b.out()).contains("frontend postgres completed", "codeintel postgres completed", "codeinsights postgres completed",
                "config sourcegraph-config completed", "repos-gitserver-0 volume completed", "repos-gitserver-1 volume completed",
                "repos-gitserver-2 volume completed");
        assertThat(kubelet.started()).hasSize(7);
        assertThat(kubelet.maxConcurrent()).isLessThanOrEqualTo(4);
        Run verify = cli("verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).as(verify.err()).isZero();
        assertThat(verify.out()).startsWith("ok " + id);

        dev.sgbackup.examples.EmbeddedPg.exec(dbs.get("frontend"), "UPDATE users SET display_name = 'changed after the backup'");
        Run r = cli(coordinatorArgs("restore", "--backup", id, "--phase", "db", "--replace").toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("frontend completed", "codeintel completed", "codeinsights completed");
        assertThat(dev.sgbackup.examples.EmbeddedPg.scalar(dbs.get("frontend"), "SELECT count(*) FROM users")).isEqualTo(users);
        assertThat(dev.sgbackup.examples.EmbeddedPg.scalar(dbs.get("frontend"),
                "SELECT count(*) FROM users WHERE display_name = 'changed after the backup'")).isZero();
        assertThat(jobs()).isEmpty();
    }

    private List<String> manifests() throws Exception {
        return objects().stream().filter(k -> k.contains("/manifests/")).toList();
    }

    /**
     * The Java API: the same backup through {@code Executor.kubernetes(...)}, this JVM the coordinator (an engine on the
     * S3 sink with the passphrase), the workers the simulated kubelet's processes; the manifest verifies, and a
     * restore of the volumes phase through the same executor brings every file back.
     */
    @Test
    void theJavaApiRunsABackupAndARestoreThroughExecutorKubernetes() throws Exception {
        dev.sgbackup.plan.InstanceDescription d = dev.sgbackup.plan.InstanceDescription.fromJson(Files.readString(instance));
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        dev.sgbackup.run.Executor k8s = dev.sgbackup.run.Executor.kubernetes(dev.sgbackup.run.KubernetesOptions.of(NS, IMAGE)
                .workerSecret("sgbackup-sink").maxJobs(2).kubeconfig(kubeconfig).messages(lines::add));
        assertThat(k8s.toString()).contains("namespace=sourcegraph", "workerSecret=sgbackup-sink", "maxJobs=2").doesNotContain(PASS);
        String id;
        try (dev.sgbackup.s3.S3Sink s3sink = dev.sgbackup.s3.S3Sink.builder("backups").prefix("sourcegraph").endpoint(s3.endpoint())
                .credentials(LocalS3Proxy.ACCESS_KEY, LocalS3Proxy.SECRET_KEY).region("us-east-1").build();
             dev.sgbackup.SgBackup sg = dev.sgbackup.SgBackup.builder().sink(s3sink)
                     .encryption(dev.sgbackup.transform.Encryption.passphrase(PASS)).build()) {
            dev.sgbackup.run.RunResult r = sg.backup(d, dev.sgbackup.plan.Scope.ALL, k8s);
            id = r.backupId();
            assertThat(r.committed()).isTrue();
            assertThat(r.steps()).extracting(dev.sgbackup.run.StepResult::step).containsExactlyElementsOf(SHARDS);
            assertThat(r.steps()).allSatisfy(st -> assertThat(st.bytes()).isGreaterThan(200_000));
            assertThat(sg.verify(id).ok()).isTrue();
            assertThat(lines).anyMatch(l -> l.startsWith("committed " + id + " from 3 step records"))
                    .anyMatch(l -> l.startsWith("step repos-gitserver-2: succeeded"));
            assertThat(kubelet.maxConcurrent()).isLessThanOrEqualTo(2);
            assertThat(jobs()).isEmpty();
            assertThat(objects()).noneMatch(k -> k.contains("_steps"));

            // restore the volumes through Jobs, the gitserver pods gone (scaled down at the checkpoint)
            Map<String, byte[]> before = new LinkedHashMap<>();
            for (String shard : SHARDS) {
                Path pack = pvRoot.resolve(shard).resolve("github.com/acme/repo" + SHARDS.indexOf(shard) + "/.git/pack-"
                        + SHARDS.indexOf(shard) + ".pack");
                before.put(shard, Files.readAllBytes(pack));
                deleteTree(pvRoot.resolve(shard));
                Files.createDirectories(pvRoot.resolve(shard));
            }
            client.pods().inNamespace(NS).list().getItems().stream().filter(p -> p.getMetadata().getName().startsWith("gitserver-"))
                    .forEach(p -> client.pods().inNamespace(NS).resource(p).delete());
            dev.sgbackup.run.RunResult restored = sg.restore(id, d, dev.sgbackup.store.RestoreOptions.defaults(),
                    dev.sgbackup.store.Phase.VOLUMES, k8s);
            assertThat(restored.steps()).extracting(dev.sgbackup.run.StepResult::step).containsExactlyElementsOf(SHARDS);
            for (String shard : SHARDS) {
                assertThat(Files.readAllBytes(pvRoot.resolve(shard).resolve("github.com/acme/repo" + SHARDS.indexOf(shard) + "/.git/pack-"
                        + SHARDS.indexOf(shard) + ".pack"))).isEqualTo(before.get(shard));
            }
            // one phase at a time
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> sg.restore(id, d, dev.sgbackup.store.RestoreOptions.defaults(),
                    dev.sgbackup.store.Phase.ALL, k8s)).hasMessageContaining("one phase at a time");
        }
    }

    @Test
    void oneFailedJobStopsTheRunDeletesTheOtherJobsAndCommitsNothing() throws Exception {
        deleteTree(pvRoot.resolve("repos-gitserver-1")); // its volume is empty of the directory the worker reads: it fails
        Run b = cli(coordinatorArgs("backup", "--max-jobs", "3").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isEqualTo(1);
        assertThat(b.err()).contains("step repos-gitserver-1 failed: PodFailurePolicy").contains("the worker said: ").contains("is not a directory")
                .contains("nothing was committed");
        assertThat(jobs()).isEmpty();
        assertThat(manifests()).isEmpty();
        // what a worker killed with its deleted Job may still have written is a leftover: the leftovers pass removes it
        Run prune = cli("prune", "--from", sink, "--keep-last", "1", "--grace", "0s");
        assertThat(prune.code()).as(prune.err()).isZero();
        assertThat(objects()).isEmpty();
    }

    @Test
    void aJobPendingPastTheDeadlineIsGivenUpWithItsEvents() throws Exception {
        // a restore while gitserver still runs on its nodes: the shards' RWO volumes are attached there (Multi-Attach)
        Run r = cli(coordinatorArgs("restore", "--backup", "20261202T142200Z-0a1b2c", "--phase", "volumes", "--pending-timeout", "3s")
                .toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("did not start within 3s").contains("FailedAttachVolume: Multi-Attach error for volume");
        assertThat(jobs()).isEmpty();
        assertThat(kubelet.started()).isEmpty();
        // a PVC that does not exist: FailedScheduling
        client.persistentVolumeClaims().inNamespace(NS).withName("repos-gitserver-2").delete();
        Run b = cli(coordinatorArgs("backup", "--pending-timeout", "3s").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isEqualTo(1);
        assertThat(b.err()).contains("step repos-gitserver-2: given up").contains("persistentvolumeclaim \"repos-gitserver-2\" not found");
        assertThat(jobs()).isEmpty();
        assertThat(manifests()).isEmpty();
    }

    @Test
    void aWorkerSecretThatDoesNotExistLeavesThePodPending() throws Exception {
        Run b = cli(coordinatorArgs("backup", "--pending-timeout", "3s").stream().map(a -> a.equals("sgbackup-sink") ? "no-such-secret" : a)
                .toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isEqualTo(1);
        assertThat(b.err()).contains("Failed: Error: secret \"no-such-secret\" not found");
        assertThat(kubelet.started()).isEmpty();
    }

    @Test
    void aSecretKeyRefToAMissingKeyIsRefusedAsTheKubeletWould() throws Exception {
        Job j = new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder().withNewMetadata().withName("probe").endMetadata().withNewSpec()
                .withNewTemplate().withNewSpec().addNewContainer().withName("worker").withImage(IMAGE).withArgs("list", "--from", sink)
                .addNewEnv().withName("CODEINTEL_PGPASSWORD").withNewValueFrom().withNewSecretKeyRef("no-such-key", "codeintel-db-auth", null)
                .endValueFrom().endEnv().endContainer().withRestartPolicy("Never").endSpec().endTemplate().endSpec().build();
        client.batch().v1().jobs().inNamespace(NS).resource(j).create();
        for (int i = 0; i < 100 && client.v1().events().inNamespace(NS).list().getItems().isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertThat(client.v1().events().inNamespace(NS).list().getItems()).anySatisfy(e -> assertThat(e.getMessage())
                .isEqualTo("Error: couldn't find key no-such-key in Secret sourcegraph/codeintel-db-auth"));
        assertThat(kubelet.started()).isEmpty();
    }

    @Test
    void aCoordinatorKilledMidRunLeavesNoManifestAndNoJobs() throws Exception {
        Path out = tmp.resolve("killed.out");
        Path err = tmp.resolve("killed.err");
        Process p = start(out, err, coordinatorArgs("backup", "--max-jobs", "1").toArray(String[]::new));
        for (int i = 0; i < 600 && kubelet.started().isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertThat(kubelet.started()).isNotEmpty();
        p.destroy(); // SIGTERM, as kubectl delete pod or Ctrl-C would
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isNotZero();
        assertThat(Files.readString(out)).doesNotContainPattern("\\d{8}T\\d{6}Z-[0-9a-f]{6}\\s*$");
        assertThat(jobs()).isEmpty();
        assertThat(manifests()).isEmpty();
        Run prune = cli("prune", "--from", sink, "--keep-last", "1", "--grace", "0s");
        assertThat(prune.code()).as(prune.err()).isZero();
        assertThat(objects()).isEmpty();
    }

    /**
     * A coordinator killed outright (SIGKILL: no hook runs) leaves its Job, which runs to its end and stays; {@code prune
     * --namespace} removes it, names (and leaves) another run's active Job, and with {@code --grace 0s} the killed
     * run's data goes as a leftover.
     */
    @Test
    void pruneRemovesTheJobsAndTheDataOfACoordinatorKilledOutright() throws Exception {
        Process p = start(tmp.resolve("sigkill.out"), tmp.resolve("sigkill.err"), coordinatorArgs("backup", "--max-jobs", "1")
                .toArray(String[]::new));
        for (int i = 0; i < 600 && kubelet.started().isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertThat(kubelet.started()).isNotEmpty();
        p.destroyForcibly(); // SIGKILL
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(137);
        // its one Job (--max-jobs 1) runs to its end and stays
        for (int i = 0; i < 1200 && client.batch().v1().jobs().inNamespace(NS).list().getItems().stream()
                .anyMatch(j -> j.getStatus() == null || j.getStatus().getConditions().isEmpty()); i++) {
            Thread.sleep(100);
        }
        List<String> dead = jobs();
        assertThat(dead).hasSize(1);
        assertThat(objects()).anyMatch(k -> k.contains("/_steps/s01.json"));
        // another run's active Job: named, left alone
        String other = "20261201T020000Z-0b0b0b";
        client.batch().v1().jobs().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder().withNewMetadata()
                .withName("sgbackup-" + other.toLowerCase() + "-y").addToLabels("app.kubernetes.io/name", "sgbackup")
                .addToLabels(KubeletSimulator.HISTORY, "true")
                .addToLabels("sgbackup.dev/backup-id", other).endMetadata().withNewSpec().withNewTemplate().withNewSpec().addNewContainer()
                .withName("worker").withImage(IMAGE).withArgs("--help").endContainer().withRestartPolicy("Never").endSpec()
                .endTemplate().endSpec().build()).create();
        Run prune = cli("prune", "--from", sink, "--keep-last", "1", "--grace", "0s", "--namespace", NS, "--kubeconfig",
                kubeconfig.toString());
        assertThat(prune.code()).as(prune.err()).isZero();
        assertThat(prune.err()).contains("removed 1 finished Job(s) of run ")
                .contains("left run " + other + " alone: 1 of its Jobs are active")
                .contains("1 Job(s) of 1 finished run(s) in namespace sourcegraph removed, 1 run(s) with active Jobs left alone");
        assertThat(jobs()).containsExactly("sgbackup-" + other.toLowerCase() + "-y");
        assertThat(manifests()).isEmpty();
        assertThat(objects()).isEmpty();
    }

    @Test
    void theNextRunRemovesADeadRunsFinishedJobsAndRefusesWhileAnotherRunsJobsAreActive() throws Exception {
        String old = "20261201T010000Z-0a0a0a";
        String hourAgo = java.time.Instant.now().minus(java.time.Duration.ofHours(1)).toString();
        client.batch().v1().jobs().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder().withNewMetadata()
                .withName("sgbackup-" + old.toLowerCase() + "-x").addToLabels("app.kubernetes.io/name", "sgbackup")
                .addToLabels(KubeletSimulator.HISTORY, "true")
                .addToLabels("sgbackup.dev/backup-id", old).endMetadata().withNewSpec().withNewTemplate().withNewSpec().addNewContainer()
                .withName("worker").withImage(IMAGE).withArgs("--help").endContainer().withRestartPolicy("Never").endSpec().endTemplate()
                .endSpec().withNewStatus().withSucceeded(1).withCompletionTime(hourAgo).addNewCondition().withType("Complete")
                .withStatus("True").withLastTransitionTime(hourAgo).endCondition().endStatus().build()).create();
        Job dead = client.batch().v1().jobs().inNamespace(NS).withName("sgbackup-" + old.toLowerCase() + "-x").get();
        dead.getStatus().setCompletionTime(hourAgo);
        dead.getStatus().getConditions().forEach(c -> c.setLastTransitionTime(hourAgo));
        client.batch().v1().jobs().inNamespace(NS).resource(dead).updateStatus();
        Run b = cli(coordinatorArgs("backup", "--max-jobs", "3").toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.err()).contains("removed 1 finished Job(s) of an earlier run (backup " + old + ")");
        assertThat(jobs()).isEmpty();
        // an active Job of another run: this one is refused, touching nothing
        String other = "20261201T020000Z-0b0b0b";
        client.batch().v1().jobs().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder().withNewMetadata()
                .withName("sgbackup-" + other.toLowerCase() + "-y").addToLabels("app.kubernetes.io/name", "sgbackup")
                .addToLabels(KubeletSimulator.HISTORY, "true")
                .addToLabels("sgbackup.dev/backup-id", other).endMetadata().withNewSpec().withNewTemplate().withNewSpec().addNewContainer()
                .withName("worker").withImage(IMAGE).withArgs("worker", "--no-such-flag").endContainer().withRestartPolicy("Never").endSpec()
                .endTemplate().endSpec().build()).create();
        Job active = client.batch().v1().jobs().inNamespace(NS).withName("sgbackup-" + other.toLowerCase() + "-y").get();
        active.setStatus(null);
        client.batch().v1().jobs().inNamespace(NS).resource(active).updateStatus();
        Run refused = cli(coordinatorArgs("backup").toArray(String[]::new));
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("active Job(s) of another sgbackup run (backup " + other + "")
                .contains("kubectl delete jobs -n sourcegraph -l sgbackup.dev/backup-id=" + other);
    }

    private static void deleteTree(Path p) throws Exception {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
