package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backup|restore --executor kubernetes --emit-manifests DIR}: the instance file of core's Helm-shaped fixture
 * (discovered from fabric8's API server mock in CRUD mode) becomes one Job file per step plus the Role and RoleBinding,
 * which parse back and which the mock accepts; nothing else is touched.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class CliKubernetesExecutorTest {
    static final String SEEDED = CliDiscoverTest.SEEDED;
    static final String IMAGE = "registry.example.com/sgbackup:0.1.0";
    static final String SINK = "s3://acme-backups/sourcegraph";

    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    Path instance;

    Path kubeconfig;

    @BeforeEach
    void discover() throws Exception {
        try (InputStream in = CliKubernetesExecutorTest.class.getResourceAsStream("/discover/kubernetes/helm.yaml")) {
            for (HasMetadata o : client.load(in).items()) {
                client.resource(o).inNamespace("sourcegraph").create();
            }
        }
        Path kc = tmp.resolve("kubeconfig");
        Files.writeString(kc, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "http://%s:%d"}}]
                users: [{name: u, user: {token: "%s-token"}}]
                contexts: [{name: sg, context: {cluster: c, user: u, namespace: sourcegraph}}]
                current-context: sg
                """.formatted(server.getHostName(), server.getPort(), SEEDED));
        kubeconfig = kc;
        rediscover();
    }

    /** The instance file, discovered again (after a test changed the cluster). */
    void rediscover() throws Exception {
        CliTest.Run d = cli("discover", "--kubernetes", "--kubeconfig", kubeconfig.toString());
        assertThat(d.code()).as(d.err()).isZero();
        instance = tmp.resolve("instance.json");
        Files.writeString(instance, d.out());
    }

    @Test
    void withASnapshotClassTheManifestsHoldEachVolumesSnapshotItsCloneAndAJobReadingTheCloneAndTheRoleMayManageThem() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-eks.yaml");
        rediscover();
        Path dir = tmp.resolve("snap-manifests");
        CliTest.Run r = run(k8s("backup", dir, "--worker-secret", "sgbackup-sink", "--scope", "all"));
        assertThat(r.code()).as(r.err()).isZero();
        List<String> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(files).contains("snapshot-repos-gitserver-0.yaml", "clone-repos-gitserver-0.yaml", "job-repos-gitserver-0.yaml",
                "snapshot-repos-gitserver-2.yaml", "clone-repos-gitserver-2.yaml", "job-repos-gitserver-2.yaml", "role.yaml");
        // databases and the configuration are network clients: no snapshot
        assertThat(files).doesNotContain("snapshot-frontend.yaml", "snapshot-codeintel.yaml", "snapshot-config.yaml");
        var snap = Serialization.unmarshal(Files.readString(dir.resolve("snapshot-repos-gitserver-2.yaml")),
                io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
        String name = snap.getMetadata().getName();
        assertThat(snap.getKind()).isEqualTo("VolumeSnapshot");
        assertThat(snap.getAdditionalProperties().get("spec")).isEqualTo(java.util.Map.of("volumeSnapshotClassName", "csi-aws-vsc",
                "source", java.util.Map.of("persistentVolumeClaimName", "repos-gitserver-2")));
        var clone = Serialization.unmarshal(Files.readString(dir.resolve("clone-repos-gitserver-2.yaml")),
                io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class);
        assertThat(clone.getMetadata().getName()).isEqualTo(name);
        assertThat(clone.getSpec().getDataSource().getKind()).isEqualTo("VolumeSnapshot");
        assertThat(clone.getSpec().getDataSource().getName()).isEqualTo(name);
        Job shard = Serialization.unmarshal(Files.readString(dir.resolve("job-repos-gitserver-2.yaml")), Job.class);
        assertThat(shard.getSpec().getTemplate().getSpec().getAffinity()).isNull();
        assertThat(shard.getSpec().getTemplate().getSpec().getVolumes()).filteredOn(v -> v.getName().equals("data")).singleElement()
                .satisfies(v -> {
            assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo(name);
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
        });
        Role role = Serialization.unmarshal(Files.readString(dir.resolve("role.yaml")), Role.class);
        assertThat(role.getRules()).anySatisfy(rule -> {
            assertThat(rule.getApiGroups()).containsExactly("snapshot.storage.k8s.io");
            assertThat(rule.getResources()).containsExactly("volumesnapshots");
            assertThat(rule.getVerbs()).containsExactly("create", "get", "list", "watch", "delete");
        });
        assertThat(r.lines()).contains(dir.resolve("snapshot-repos-gitserver-2.yaml") + " VolumeSnapshot " + name,
                dir.resolve("clone-repos-gitserver-2.yaml") + " PersistentVolumeClaim " + name);
        assertThat(r.err()).contains("note: repos-gitserver-2: read from CSI snapshot " + name).contains("point-in-time")
                .doesNotContain("read live from PVC repos-gitserver-2").contains("kubectl delete volumesnapshots,pvc -n sourcegraph");
        // --snapshots off: today's pinned Jobs on the live claims, no snapshot objects
        Path off = tmp.resolve("off");
        CliTest.Run o = run(k8s("backup", off, "--snapshots", "off"));
        assertThat(o.code()).as(o.err()).isZero();
        try (Stream<Path> s = Files.list(off)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(f -> f.startsWith("snapshot-") || f.startsWith("clone-"));
        }
        assertThat(Files.readString(off.resolve("role.yaml"))).doesNotContain("volumesnapshots");
    }

    @Test
    void snapshotsRequiredOnAClusterWithoutAMatchingClassIsRefusedNamingThePvcs() throws Exception {
        KubeletSimulator.loadStorage(client, "storage-helm.yaml"); // the chart's in-tree class; a PD CSI snapshot class
        rediscover();
        Path dir = tmp.resolve("required");
        CliTest.Run r = run(k8s("backup", dir, "--snapshots", "required"));
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("--snapshots required: no VolumeSnapshotClass for the CSI driver of PVC(s)")
                .contains("repos-gitserver-0 (StorageClass sourcegraph, driver kubernetes.io/gce-pd)")
                .contains("repos-gitserver-1 (StorageClass sourcegraph").contains("repos-gitserver-2 (StorageClass sourcegraph");
        assertThat(dir).doesNotExist();
        // and a restore takes no --snapshots
        CliTest.Run restore = run(k8s("restore", tmp.resolve("r"), "--backup", "20261202T142200Z-0a1b2c", "--snapshots", "auto"));
        assertThat(restore.code()).isEqualTo(2);
        assertThat(restore.err()).contains("--snapshots is for backups");
    }

    List<String> k8s(String command, Path dir, String... more) {
        List<String> args = new ArrayList<>(List.of(command, "--executor", "kubernetes", "--namespace", "sourcegraph", "--image", IMAGE,
                "--instance", instance.toString(), command.equals("backup") ? "--to" : "--from", SINK));
        if (dir != null) {
            args.addAll(List.of("--emit-manifests", dir.toString()));
        }
        args.addAll(List.of(more));
        return args;
    }

    static CliTest.Run run(List<String> args) {
        return cli(args.toArray(String[]::new));
    }

    @Test
    void backupEmitsOneJobPerStepAndTheRoleThatParseBackAndApply() throws Exception {
        Path dir = tmp.resolve("manifests");
        CliTest.Run r = run(k8s("backup", dir, "--worker-secret", "sgbackup-sink", "--service-account", "sgbackup-worker",
                "--image-pull-secret", "sgbackup-registry", "--max-jobs", "4", "--job-timeout", "6h", "--encrypt"));
        assertThat(r.code()).as(r.err()).isZero();
        List<String> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(files).containsExactly("job-blobstore.yaml", "job-codeinsights.yaml", "job-codeintel.yaml", "job-config.yaml",
                "job-data-indexed-search-0.yaml", "job-frontend.yaml", "job-grafana-data-grafana-0.yaml", "job-prometheus.yaml",
                "job-repos-gitserver-0.yaml", "job-repos-gitserver-1.yaml", "job-repos-gitserver-2.yaml", "role.yaml", "rolebinding.yaml");
        // stdout: what was written, one line per file
        assertThat(r.lines()).hasSize(13).allSatisfy(l -> assertThat(l).startsWith(dir.toString()));
        assertThat(r.lines()).contains(dir.resolve("role.yaml") + " Role sgbackup-coordinator");
        assertThat(r.err()).contains("note: repos-gitserver-0: read live from PVC repos-gitserver-0 on node node-a")
                .contains("--max-jobs 4 bounds the coordinator's concurrency").contains("no cluster or sink was touched");

        String id = null;
        for (String f : files) {
            String yaml = Files.readString(dir.resolve(f));
            assertThat(yaml).doesNotContain(SEEDED).doesNotContain("WnE3LXNlZWRlZ");
            if (f.startsWith("job-")) {
                Job j = Serialization.unmarshal(yaml, Job.class);
                String step = j.getMetadata().getLabels().get("sgbackup.dev/step");
                assertThat("job-" + step + ".yaml").isEqualTo(f);
                id = id == null ? j.getMetadata().getLabels().get("sgbackup.dev/backup-id") : id;
                assertThat(j.getMetadata().getLabels()).containsEntry("sgbackup.dev/backup-id", id);
                assertThat(j.getSpec().getBackoffLimit()).isZero();
                assertThat(j.getSpec().getActiveDeadlineSeconds()).isEqualTo(6 * 3600L);
                assertThat(j.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--encrypt", SINK);
                client.batch().v1().jobs().inNamespace("sourcegraph").resource(j).create();
            } else if (f.equals("role.yaml")) {
                client.rbac().roles().inNamespace("sourcegraph").resource(Serialization.unmarshal(yaml, Role.class)).create();
            } else {
                client.rbac().roleBindings().inNamespace("sourcegraph").resource(Serialization.unmarshal(yaml, RoleBinding.class)).create();
            }
        }
        assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(r.err()).contains("for backup " + id);
        Job shard = Serialization.unmarshal(Files.readString(dir.resolve("job-repos-gitserver-2.yaml")), Job.class);
        assertThat(shard.getSpec().getTemplate().getSpec().getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms().get(0).getMatchFields().get(0).getValues()).containsExactly("node-c");
        assertThat(client.batch().v1().jobs().inNamespace("sourcegraph").withLabel("sgbackup.dev/backup-id", id).list().getItems())
                .hasSize(11);
        assertThat(client.rbac().roles().inNamespace("sourcegraph").withName("sgbackup-coordinator").get()).isNotNull();

        // the directory must be new or empty: a second run does not mix its Jobs with these
        CliTest.Run again = run(k8s("backup", dir));
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("is not empty");
    }

    @Test
    void aDeduplicatedBackupsWorkersCarryItsDedupFlagsAndARestoresNone() throws Exception {
        Path dir = tmp.resolve("dedup");
        CliTest.Run r = run(k8s("backup", dir, "--worker-secret", "sgbackup-sink", "--encrypt", "--dedup", "--force-read", "--retry-lock",
                "90m"));
        assertThat(r.code()).as(r.err()).isZero();
        Job shard = Serialization.unmarshal(Files.readString(dir.resolve("job-repos-gitserver-1.yaml")), Job.class);
        List<String> args = shard.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertThat(args).containsSubsequence("worker", "--operation", "backup").contains("--encrypt", "--dedup", "--force-read");
        assertThat(args.get(args.indexOf("--retry-lock") + 1)).isEqualTo("90m");
        Job db = Serialization.unmarshal(Files.readString(dir.resolve("job-frontend.yaml")), Job.class);
        assertThat(db.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--dedup", "--retry-lock");
        // without --dedup a backup's workers make full backups
        Path full = tmp.resolve("full");
        assertThat(run(k8s("backup", full)).code()).isZero();
        assertThat(Files.readString(full.resolve("job-repos-gitserver-1.yaml"))).doesNotContain("--dedup").doesNotContain("--retry-lock");
    }

    @Test
    void restoreEmitsDatabaseAndVolumeJobsForTheBackupNamed() throws Exception {
        Path dir = tmp.resolve("restore");
        CliTest.Run r = run(k8s("restore", dir, "--backup", "20261202T142200Z-0a1b2c", "--phase", "volumes", "--worker-secret", "s"));
        assertThat(r.code()).as(r.err()).isZero();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted()).containsExactly("job-blobstore.yaml",
                    "job-data-indexed-search-0.yaml", "job-grafana-data-grafana-0.yaml", "job-prometheus.yaml", "job-repos-gitserver-0.yaml",
                    "job-repos-gitserver-1.yaml", "job-repos-gitserver-2.yaml", "role.yaml", "rolebinding.yaml");
        }
        Job j = Serialization.unmarshal(Files.readString(dir.resolve("job-repos-gitserver-0.yaml")), Job.class);
        assertThat(j.getMetadata().getName()).isEqualTo("sgrestore-20261202t142200z-0a1b2c-repos-gitserver-0");
        assertThat(j.getSpec().getTemplate().getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("data");
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isFalse();
        });
        assertThat(r.err()).contains("checkpoint before phase volumes");
    }

    @Test
    void emitManifestsTakesNoneOfTheCoordinatorsFlags() {
        CliTest.Run r = run(k8s("backup", tmp.resolve("m"), "--kubeconfig", "/nonexistent", "--pending-timeout", "1m"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--emit-manifests touches no cluster");
        assertThat(tmp.resolve("m")).doesNotExist();
        // the coordinator restores one phase per run: without --phase it is refused before touching anything
        CliTest.Run all = run(k8s("restore", null, "--backup", "20261202T142200Z-0a1b2c"));
        assertThat(all.code()).isEqualTo(2);
        assertThat(all.err()).contains("one phase at a time: --phase db");
    }

    @Test
    void flagsAreChecked() {
        Path dir = tmp.resolve("x");
        CliTest.Run noNs = cli("backup", "--executor", "kubernetes", "--image", IMAGE, "--instance", instance.toString(), "--to", SINK,
                "--emit-manifests", dir.toString());
        assertThat(noNs.code()).isEqualTo(2);
        assertThat(noNs.err()).startsWith("error: 'backup' needs --namespace").contains("usage: sgbackup");
        CliTest.Run noImage = cli("backup", "--executor", "kubernetes", "--namespace", "sourcegraph", "--instance", instance.toString(),
                "--to", SINK, "--emit-manifests", dir.toString());
        assertThat(noImage.err()).startsWith("error: 'backup' needs --image");
        CliTest.Run noInstance = cli("backup", "--executor", "kubernetes", "--namespace", "sourcegraph", "--image", IMAGE, "--to", SINK,
                "--emit-manifests", dir.toString());
        assertThat(noInstance.code()).isEqualTo(2);
        assertThat(noInstance.err()).startsWith("error: --executor kubernetes needs --instance FILE (from 'sgbackup discover --kubernetes')");
        assertThat(run(k8s("backup", dir, "--max-jobs", "0")).err()).startsWith("error: --max-jobs takes a positive number");
        assertThat(run(k8s("backup", dir, "--job-timeout", "soon")).code()).isEqualTo(2);
        assertThat(run(k8s("backup", dir, "--volume", "x=/tmp")).err()).startsWith("error: --volume is not supported with --executor kubernetes");
        // --force-read and --retry-lock belong to a deduplicated backup, as with the local executor
        assertThat(run(k8s("backup", dir, "--force-read")).err())
                .startsWith("error: --force-read applies to deduplicated backups (--dedup)");
        assertThat(run(k8s("backup", dir, "--retry-lock", "5m")).err())
                .startsWith("error: --retry-lock applies to deduplicated backups (--dedup)");
        assertThat(run(k8s("backup", dir, "--dedup", "--retry-lock", "soon")).err()).startsWith("error: --retry-lock: ");
        assertThat(dir).doesNotExist();
        assertThat(run(k8s("backup", dir, "--executor", "k8s")).code()).isEqualTo(2); // given twice
        CliTest.Run bogus = cli("backup", "--executor", "nomad", "--to", SINK);
        assertThat(bogus.err()).startsWith("error: --executor takes local (the default) or kubernetes, not 'nomad'");
        CliTest.Run local = cli("backup", "--namespace", "sourcegraph", "--volume", "x=" + tmp, "--to", tmp.resolve("s").toUri().toString());
        assertThat(local.code()).isEqualTo(2);
        assertThat(local.err()).startsWith("error: --namespace is for --executor kubernetes");
        CliTest.Run badNs = run(List.of("backup", "--executor", "kubernetes", "--namespace", "Not_A_Name", "--image", IMAGE, "--instance",
                instance.toString(), "--to", SINK, "--emit-manifests", dir.toString()));
        assertThat(badNs.code()).isEqualTo(2);
        assertThat(badNs.err()).contains("is not a Kubernetes name");
        // a local sink: a worker's file:// path is inside its own pod
        CliTest.Run file = run(List.of("backup", "--executor", "kubernetes", "--namespace", "sourcegraph", "--image", IMAGE, "--instance",
                instance.toString(), "--to", tmp.resolve("sink").toUri().toString(), "--emit-manifests", dir.toString()));
        assertThat(file.code()).isEqualTo(1);
        assertThat(file.err()).contains("needs an s3:// or gs:// sink");
        assertThat(Files.exists(dir)).isFalse(); // nothing written by any of these
    }
}
