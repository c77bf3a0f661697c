package dev.sgbackup.plan;

import static dev.sgbackup.plan.DiscoveryTest.SEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.KubernetesOptions;
import dev.sgbackup.run.Operation;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.RestoreOptions;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes executor's Jobs, built from the Helm release of {@code discover/kubernetes/helm.yaml} (three
 * gitserver shards on nodes a, b and c, three databases) discovered through fabric8's API server mock in CRUD mode,
 * then read back from their YAML and applied to the same mock.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class KubernetesJobsTest {
    static final String NS = KubernetesDiscoveryTest.NS;
    static final String IMAGE = "registry.example.com/sgbackup:0.1.0";
    static final String ID = "20261202T142200Z-0a1b2c";
    static final String SINK = "s3://acme-backups/sourcegraph";

    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    InstanceDescription d;
    Path kubeconfig;

    @BeforeEach
    void setUp() throws Exception {
        KubernetesDiscoveryTest.load(client, "helm.yaml", NS);
        kubeconfig = KubernetesDiscoveryTest.kubeconfig(tmp, "http://" + server.getHostName() + ":" + server.getPort());
        d = Deployments.kubernetes().kubeconfig(kubeconfig).discover();
    }

    static KubernetesManifests.Options options() {
        return new KubernetesManifests.Options(NS, IMAGE, List.of("sgbackup-registry"), "sgbackup-worker", "sgbackup-sink",
                Duration.ofHours(6), "sgbackup", "zstd:3", true);
    }

    KubernetesManifests.Result backup(InstanceDescription desc) {
        return KubernetesManifests.of(desc, KubernetesManifests.backupPlan(desc, Scope.ALL, SINK, "zstd:3"), ID, options());
    }

    /** A backup Job's position among the Jobs, from 1: its --ordinal. */
    static int ordinal(KubernetesManifests.Result r, String store) {
        return new java.util.ArrayList<>(jobs(r).keySet()).indexOf(store) + 1;
    }

    static Map<String, Job> jobs(KubernetesManifests.Result r) {
        Map<String, Job> out = new LinkedHashMap<>();
        for (KubernetesManifests.Manifest m : r.manifests()) {
            if (m.kind().equals("Job")) {
                Job j = Serialization.unmarshal(m.yaml(), Job.class);
                out.put(j.getMetadata().getAnnotations().get(KubernetesJobs.ANNOTATION_STORE), j);
            }
        }
        return out;
    }

    static PodSpec pod(Job j) {
        return j.getSpec().getTemplate().getSpec();
    }

    static Container container(Job j) {
        return pod(j).getContainers().get(0);
    }

    @Test
    void oneJobPerStepAndTheCoordinatorsRole() {
        KubernetesManifests.Result r = backup(d);
        assertThat(r.manifests()).extracting(KubernetesManifests.Manifest::file).containsExactly("job-config.yaml", "job-frontend.yaml",
                "job-codeintel.yaml", "job-codeinsights.yaml", "job-blobstore.yaml", "job-data-indexed-search-0.yaml",
                "job-grafana-data-grafana-0.yaml", "job-prometheus.yaml", "job-repos-gitserver-0.yaml", "job-repos-gitserver-1.yaml",
                "job-repos-gitserver-2.yaml", "role.yaml", "rolebinding.yaml");
        Job shard = jobs(r).get("repos-gitserver-1");
        assertThat(shard.getMetadata().getName()).isEqualTo("sgbackup-20261202t142200z-0a1b2c-repos-gitserver-1");
        assertThat(shard.getMetadata().getNamespace()).isEqualTo(NS);
        assertThat(container(shard).getImage()).isEqualTo(IMAGE);
        assertThat(container(shard).getArgs()).containsExactly("worker", "--operation", "backup", "--backup-id", ID, "--step",
                "repos-gitserver-1", "--ordinal", String.valueOf(ordinal(r, "repos-gitserver-1")), "--to", SINK, "--compression", "zstd:3", "--encrypt", "--volume",
                "repos-gitserver-1=/data/repos-gitserver-1");
        assertThat(jobs(r).values()).allSatisfy(j -> assertThat(container(j).getImage()).isEqualTo(IMAGE));
        // the ordinals are 1..N in plan order: the coordinator commits the step records in that order
        java.util.List<String> ordinals = jobs(r).values().stream().map(j -> container(j).getArgs())
                .map(a -> a.get(a.indexOf("--ordinal") + 1)).toList();
        assertThat(ordinals).containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, ordinals.size()).mapToObj(String::valueOf).toList());
    }

    @Test
    void eachShardRunsOnTheNodeWhereItsVolumeIsAttached() {
        KubernetesManifests.Result r = backup(d);
        Map<String, Job> jobs = jobs(r);
        Map<String, String> nodes = new LinkedHashMap<>();
        for (String shard : List.of("repos-gitserver-0", "repos-gitserver-1", "repos-gitserver-2", "data-indexed-search-0", "blobstore")) {
            var terms = pod(jobs.get(shard)).getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                    .getNodeSelectorTerms();
            assertThat(terms).hasSize(1);
            var field = terms.get(0).getMatchFields().get(0);
            assertThat(field.getKey()).isEqualTo("metadata.name");
            assertThat(field.getOperator()).isEqualTo("In");
            nodes.put(shard, String.join(",", field.getValues()));
        }
        assertThat(nodes).containsExactly(Map.entry("repos-gitserver-0", "node-a"), Map.entry("repos-gitserver-1", "node-b"),
                Map.entry("repos-gitserver-2", "node-c"), Map.entry("data-indexed-search-0", "node-a"), Map.entry("blobstore", "node-c"));
        // a volume no running pod mounts, and the databases (network clients): no pinning
        assertThat(pod(jobs.get("prometheus")).getAffinity()).isNull();
        assertThat(pod(jobs.get("frontend")).getAffinity()).isNull();
        assertThat(r.notes()).contains("repos-gitserver-1: read live from PVC repos-gitserver-1 on node node-b (ReadWriteOnce, no CSI"
                + " snapshot used): the copy is not point-in-time; StatefulSet/gitserver keeps writing while it is read");
        // the PVC: read-only for a backup, at /data/<store>, with /tmp an emptyDir
        Job shard = jobs.get("repos-gitserver-1");
        Volume data = pod(shard).getVolumes().stream().filter(v -> v.getName().equals("data")).findFirst().orElseThrow();
        assertThat(data.getPersistentVolumeClaim().getClaimName()).isEqualTo("repos-gitserver-1");
        assertThat(data.getPersistentVolumeClaim().getReadOnly()).isTrue();
        assertThat(container(shard).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/data/repos-gitserver-1");
            assertThat(m.getReadOnly()).isTrue();
        });
        Volume tmpDir = pod(shard).getVolumes().stream().filter(v -> v.getName().equals("tmp")).findFirst().orElseThrow();
        assertThat(tmpDir.getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("2Gi"));
        assertThat(container(shard).getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/tmp"));
        // what the workload's pod needs to be schedulable: inherited, plus the image's own pull secret
        assertThat(pod(shard).getNodeSelector()).containsExactly(Map.entry("sourcegraph.com/pool", "sourcegraph"));
        assertThat(pod(shard).getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("dedicated");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
        assertThat(pod(shard).getPriorityClassName()).isEqualTo("sourcegraph-high");
        assertThat(pod(shard).getImagePullSecrets()).extracting(s -> s.getName()).containsExactly("sourcegraph-registry", "sgbackup-registry");
    }

    @Test
    void aRestoreWritesThePvcAndIsNotPinned() {
        MigrationPlan plan = KubernetesManifests.restorePlan(d, ID, SINK, new RestoreOptions(false, false), Phase.ALL);
        assertThat(plan.steps()).extracting(PlanStep::store).startsWith("frontend", "codeintel", "codeinsights").contains("repos-gitserver-2");
        assertThat(plan.notes()).anyMatch(n -> n.startsWith("checkpoint before phase volumes: "));
        KubernetesManifests.Result r = KubernetesManifests.of(d, plan, ID, options());
        Job shard = jobs(r).get("repos-gitserver-2");
        assertThat(shard.getMetadata().getName()).isEqualTo("sgrestore-20261202t142200z-0a1b2c-repos-gitserver-2");
        assertThat(container(shard).getArgs()).containsExactly("worker", "--operation", "restore", "--backup-id", ID, "--step",
                "repos-gitserver-2", "--from", SINK, "--volume", "repos-gitserver-2=/data/repos-gitserver-2");
        Volume data = pod(shard).getVolumes().stream().filter(v -> v.getName().equals("data")).findFirst().orElseThrow();
        assertThat(data.getPersistentVolumeClaim().getReadOnly()).isFalse();
        assertThat(container(shard).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/data/repos-gitserver-2");
            assertThat(m.getReadOnly()).isFalse();
        });
        assertThat(pod(shard).getAffinity()).isNull();
        assertThat(r.notes()).contains("repos-gitserver-2: PVC repos-gitserver-2 was mounted on node node-c when discovered: scale"
                + " StatefulSet/gitserver down at the checkpoint before the volume phase, or the Job waits on Multi-Attach");
        // the restored repositories are owned by gitserver's user and group
        assertThat(pod(shard).getSecurityContext().getRunAsUser()).isEqualTo(100L);
        assertThat(pod(shard).getSecurityContext().getFsGroup()).isEqualTo(101L);
    }

    @Test
    void securityContextIsGitserversAndRestricted() {
        Map<String, Job> jobs = jobs(backup(d));
        for (Job j : jobs.values()) {
            var p = pod(j).getSecurityContext();
            var c = container(j).getSecurityContext();
            assertThat(p.getRunAsNonRoot()).isTrue();
            assertThat(p.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            assertThat(p.getRunAsUser()).isNotNull().isNotZero();
            assertThat(c.getRunAsNonRoot()).isTrue();
            assertThat(c.getAllowPrivilegeEscalation()).isFalse();
            assertThat(c.getPrivileged()).isFalse();
            assertThat(c.getReadOnlyRootFilesystem()).isTrue();
            assertThat(c.getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(c.getCapabilities().getAdd()).isNullOrEmpty();
            assertThat(c.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            assertThat(pod(j).getAutomountServiceAccountToken()).isFalse();
            assertThat(pod(j).getServiceAccountName()).isEqualTo("sgbackup-worker");
            assertThat(pod(j).getRestartPolicy()).isEqualTo("Never");
        }
        var shard = pod(jobs.get("repos-gitserver-0")).getSecurityContext();
        assertThat(shard.getRunAsUser()).isEqualTo(100L);
        assertThat(shard.getRunAsGroup()).isEqualTo(101L);
        assertThat(shard.getFsGroup()).isEqualTo(101L);
        assertThat(shard.getFsGroupChangePolicy()).isEqualTo("OnRootMismatch");
        assertThat(container(jobs.get("repos-gitserver-0")).getSecurityContext().getRunAsUser()).isEqualTo(100L);
        assertThat(container(jobs.get("repos-gitserver-0")).getSecurityContext().getRunAsGroup()).isEqualTo(101L);
        // a database step owns no files: the image's user
        assertThat(pod(jobs.get("frontend")).getSecurityContext().getRunAsUser()).isEqualTo(65532L);
        assertThat(pod(jobs.get("frontend")).getSecurityContext().getFsGroup()).isNull();
    }

    @Test
    void databaseCredentialsOnlyThroughTheFrontendsSecretKeyRefs() {
        KubernetesManifests.Result r = backup(d);
        Map<String, Job> jobs = jobs(r);
        Map<String, String> refs = new LinkedHashMap<>();
        for (String step : List.of("frontend", "codeintel", "codeinsights", "config")) {
            Container c = container(jobs.get(step));
            for (EnvVar e : c.getEnv()) {
                assertThat(e.getValue()).as(step + " " + e.getName()).isNull();
                refs.put(step, e.getName() + "=" + e.getValueFrom().getSecretKeyRef().getName() + "/" + e.getValueFrom().getSecretKeyRef().getKey());
            }
        }
        assertThat(refs).containsExactly(Map.entry("frontend", "PGPASSWORD=pgsql-auth/password"),
                Map.entry("codeintel", "CODEINTEL_PGPASSWORD=codeintel-db-auth/password"),
                Map.entry("codeinsights", "CODEINSIGHTS_PGPASSWORD=codeinsights-db-auth/password"),
                Map.entry("config", "PGPASSWORD=pgsql-auth/password"));
        assertThat(container(jobs.get("codeintel")).getArgs()).containsSubsequence("--postgres",
                "codeintel=jdbc:postgresql://codeintel-db:5432/sg?user=sg", "--password-env", "CODEINTEL_PGPASSWORD");
        assertThat(container(jobs.get("config")).getArgs()).containsSubsequence("--sourcegraph-db",
                "jdbc:postgresql://pgsql:5432/sg?user=sg", "--password-env", "PGPASSWORD");
        // sink credentials and passphrase: the worker Secret, whole
        assertThat(jobs.values()).allSatisfy(j -> assertThat(container(j).getEnvFrom()).singleElement()
                .satisfies(f -> assertThat(f.getSecretRef().getName()).isEqualTo("sgbackup-sink")));
        // no secret value anywhere: not the passwords, not their base64 as the Secrets hold them
        String all = r.manifests().stream().map(KubernetesManifests.Manifest::yaml).collect(Collectors.joining("\n")) + r.notes();
        assertThat(all).doesNotContain(SEEDED);
        for (String pw : List.of("pgsql", "codeintel", "codeinsights")) {
            String b64 = Base64.getEncoder().encodeToString((SEEDED + "-" + pw + "-password").getBytes(StandardCharsets.UTF_8));
            assertThat(all).doesNotContain(b64);
        }
        assertThat(all).doesNotContain("WnE3LXNlZWRlZ"); // the base64 prefix of every seeded password
    }

    @Test
    void labelsBackoffTtlFailurePolicyDeadlineAndResources() {
        Map<String, Job> jobs = jobs(backup(d));
        for (Map.Entry<String, Job> e : jobs.entrySet()) {
            Job j = e.getValue();
            Map<String, String> labels = j.getMetadata().getLabels();
            assertThat(labels).containsEntry("sgbackup.dev/backup-id", ID).containsEntry("sgbackup.dev/step", e.getKey())
                    .containsEntry("sgbackup.dev/operation", "backup").containsEntry("app.kubernetes.io/name", "sgbackup");
            assertThat(j.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(labels);
            assertThat(j.getSpec().getBackoffLimit()).isZero();
            assertThat(j.getSpec().getTtlSecondsAfterFinished()).isEqualTo(86_400);
            assertThat(j.getSpec().getActiveDeadlineSeconds()).isEqualTo(6 * 3600L);
            var rules = j.getSpec().getPodFailurePolicy().getRules();
            assertThat(rules).hasSize(2);
            assertThat(rules.get(0).getAction()).isEqualTo("Ignore");
            assertThat(rules.get(0).getOnPodConditions()).singleElement().satisfies(c -> {
                assertThat(c.getType()).isEqualTo("DisruptionTarget");
                assertThat(c.getStatus()).isEqualTo("True");
            });
            assertThat(rules.get(1).getAction()).isEqualTo("FailJob");
            assertThat(rules.get(1).getOnExitCodes().getOperator()).isEqualTo("NotIn");
            assertThat(rules.get(1).getOnExitCodes().getValues()).containsExactly(0);
            assertThat(rules.get(1).getOnExitCodes().getContainerName()).isEqualTo("worker");
            var res = container(j).getResources();
            assertThat(res.getRequests()).containsKeys("cpu", "memory");
            assertThat(res.getLimits()).containsKeys("cpu", "memory");
        }
        var shard = container(jobs.get("repos-gitserver-0")).getResources();
        assertThat(shard.getRequests()).containsEntry("cpu", new Quantity("500m")).containsEntry("memory", new Quantity("1Gi"));
        assertThat(shard.getLimits()).containsEntry("cpu", new Quantity("2")).containsEntry("memory", new Quantity("2Gi"));
        var config = container(jobs.get("config")).getResources();
        assertThat(config.getLimits()).containsEntry("memory", new Quantity("512Mi"));
    }

    @Test
    void labelValuesAndJobNamesAreAlwaysValid() {
        assertThat(KubernetesJobs.labelValue("repos-gitserver-0")).isEqualTo("repos-gitserver-0");
        // store names may end in '.', '_' or '-' and run to 63 characters: label values may not end so
        String odd = KubernetesJobs.labelValue("gitserver_");
        assertThat(odd).matches("gitserver-[0-9a-f]{8}").isNotEqualTo(KubernetesJobs.labelValue("gitserver."));
        String long63 = "a".repeat(62) + "-";
        assertThat(KubernetesJobs.labelValue(long63)).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9_.]*[a-z0-9])?");
        for (String store : List.of("a", "repos-gitserver-0", "gitserver_x.y", "z".repeat(63), "x-".repeat(31) + "y")) {
            String name = KubernetesJobs.jobName(Operation.BACKUP, ID, store);
            assertThat(name).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
        }
        assertThat(KubernetesJobs.jobName(Operation.BACKUP, ID, "z".repeat(63)))
                .isNotEqualTo(KubernetesJobs.jobName(Operation.BACKUP, ID, "z".repeat(62) + "y"));
    }

    /** The discovered description with one store's location or pod replaced. */
    static InstanceDescription with(InstanceDescription d, String store, java.util.function.UnaryOperator<InstanceDescription.Store> f) {
        List<InstanceDescription.Store> stores = new ArrayList<>();
        d.stores().forEach(s -> stores.add(s.name().equals(store) ? f.apply(s) : s));
        return new InstanceDescription(d.format(), d.deployment(), d.version(), stores, d.warnings());
    }

    static InstanceDescription.Store modes(InstanceDescription.Store s, String... modes) {
        InstanceDescription.Location l = s.location();
        return new InstanceDescription.Store(s.name(), s.kind(), s.recreatable(), s.holds(), s.origin(),
                new InstanceDescription.Location(l.volume(), l.directory(), l.host(), l.port(), l.database(), l.user(), l.external(),
                        l.namespace(), l.pvc(), l.mountPath(), l.subPath(), l.node(), List.of(modes), l.storage()), s.credentials(), s.pod());
    }

    @Test
    void withASnapshotClassAVolumeStepReadsAReadOnlyCloneOfASnapshotUnpinnedAndTheRoleMayManageSnapshots() throws Exception {
        KubernetesDiscoveryTest.loadStorage(client, "storage-eks.yaml");
        InstanceDescription eks = Deployments.kubernetes().kubeconfig(kubeconfig).discover();
        MigrationPlan plan = KubernetesManifests.backupPlan(eks, Scope.ALL, SINK, "zstd:3");
        KubernetesManifests.Result r = KubernetesManifests.of(eks, plan, ID, options(), KubernetesOptions.Snapshots.AUTO);
        String name = "sgbackup-20261202t142200z-0a1b2c-repos-gitserver-1";
        Map<String, KubernetesManifests.Manifest> byFile = new LinkedHashMap<>();
        r.manifests().forEach(m -> byFile.put(m.file(), m));
        assertThat(byFile.keySet()).containsSubsequence("snapshot-repos-gitserver-1.yaml", "clone-repos-gitserver-1.yaml",
                "job-repos-gitserver-1.yaml");
        var snap = Serialization.unmarshal(byFile.get("snapshot-repos-gitserver-1.yaml").yaml(),
                io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
        assertThat(snap.getApiVersion()).isEqualTo("snapshot.storage.k8s.io/v1");
        assertThat(snap.getKind()).isEqualTo("VolumeSnapshot");
        assertThat(snap.getMetadata().getName()).isEqualTo(name);
        assertThat(snap.getMetadata().getLabels()).containsEntry("app.kubernetes.io/name", "sgbackup").containsEntry("sgbackup.dev/backup-id", ID)
                .containsEntry("sgbackup.dev/step", "repos-gitserver-1");
        assertThat(snap.getAdditionalProperties().get("spec")).isEqualTo(Map.of("volumeSnapshotClassName", "csi-aws-vsc",
                "source", Map.of("persistentVolumeClaimName", "repos-gitserver-1")));
        var clone = Serialization.unmarshal(byFile.get("clone-repos-gitserver-1.yaml").yaml(), io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class);
        assertThat(clone.getMetadata().getName()).isEqualTo(name);
        assertThat(clone.getMetadata().getLabels()).containsEntry("sgbackup.dev/backup-id", ID);
        assertThat(clone.getSpec().getAccessModes()).containsExactly("ReadWriteOnce");
        assertThat(clone.getSpec().getStorageClassName()).isEqualTo("sourcegraph");
        assertThat(clone.getSpec().getResources().getRequests().get("storage").toString()).isEqualTo("100Gi");
        assertThat(clone.getSpec().getDataSource().getApiGroup()).isEqualTo("snapshot.storage.k8s.io");
        assertThat(clone.getSpec().getDataSource().getKind()).isEqualTo("VolumeSnapshot");
        assertThat(clone.getSpec().getDataSource().getName()).isEqualTo(name);
        Job shard = jobs(r).get("repos-gitserver-1");
        assertThat(pod(shard).getAffinity()).isNull();
        assertThat(pod(shard).getVolumes()).filteredOn(v -> v.getName().equals("data")).singleElement()
                .satisfies(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo(name))
                .satisfies(v -> assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue());
        assertThat(container(shard).getVolumeMounts()).filteredOn(m -> m.getName().equals("data")).singleElement()
                .satisfies(m -> assertThat(m.getReadOnly()).isTrue()).satisfies(m -> assertThat(m.getSubPath()).isNull());
        assertThat(r.notes()).anyMatch(n -> n.startsWith("repos-gitserver-1: read from CSI snapshot " + name) && n.contains("point-in-time"))
                .noneMatch(n -> n.startsWith("repos-gitserver-1: read live"));
        var role = Serialization.unmarshal(byFile.get("role.yaml").yaml(), io.fabric8.kubernetes.api.model.rbac.Role.class);
        assertThat(role.getRules()).anySatisfy(rule -> {
            assertThat(rule.getApiGroups()).containsExactly("snapshot.storage.k8s.io");
            assertThat(rule.getResources()).containsExactly("volumesnapshots");
            assertThat(rule.getVerbs()).containsExactly("create", "get", "list", "watch", "delete");
        }).anySatisfy(rule -> {
            assertThat(rule.getResources()).containsExactly("persistentvolumeclaims");
            assertThat(rule.getVerbs()).contains("create", "delete", "list");
        }).noneSatisfy(rule -> assertThat(rule.getResources()).containsAnyOf("storageclasses", "volumesnapshotclasses"));
        // off: today's Jobs, pinned, on the live claim, and a Role without snapshot rules
        KubernetesManifests.Result off = KubernetesManifests.of(eks, plan, ID, options(), KubernetesOptions.Snapshots.OFF);
        assertThat(off.manifests()).noneMatch(m -> m.kind().equals("VolumeSnapshot") || m.kind().equals("PersistentVolumeClaim"));
        assertThat(pod(jobs(off).get("repos-gitserver-1")).getAffinity()).isNotNull();
        assertThat(off.manifests().stream().filter(m -> m.file().equals("role.yaml")).findFirst().orElseThrow().yaml())
                .doesNotContain("volumesnapshots");
        // a ReadWriteOncePod claim can be backed up from a snapshot: the Job mounts the clone, never the claim
        InstanceDescription rwop = with(eks, "repos-gitserver-1", st -> modes(st, "ReadWriteOncePod"));
        KubernetesManifests.Result fromSnapshot = KubernetesManifests.of(rwop, KubernetesManifests.backupPlan(rwop, Scope.ALL, SINK, null), ID,
                options(), KubernetesOptions.Snapshots.AUTO);
        assertThat(pod(jobs(fromSnapshot).get("repos-gitserver-1")).getVolumes()).anySatisfy(v -> assertThat(v.getPersistentVolumeClaim() == null
                ? null : v.getPersistentVolumeClaim().getClaimName()).isEqualTo(name));
        assertThatThrownBy(() -> KubernetesManifests.of(rwop, KubernetesManifests.backupPlan(rwop, Scope.ALL, SINK, null), ID, options(),
                KubernetesOptions.Snapshots.OFF)).hasMessageContaining("is ReadWriteOncePod");
        // a restore never reads a snapshot
        MigrationPlan restore = KubernetesManifests.restorePlan(eks, ID, SINK, new RestoreOptions(false, false), Phase.VOLUMES);
        assertThat(KubernetesManifests.of(eks, restore, ID, options(), KubernetesOptions.Snapshots.AUTO).manifests())
                .noneMatch(m -> m.kind().equals("VolumeSnapshot"));
        // every object applies to the API server (the mock) as written
        for (KubernetesManifests.Manifest m : r.manifests()) {
            if (m.kind().equals("VolumeSnapshot")) {
                client.genericKubernetesResources(new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder()
                        .withGroup("snapshot.storage.k8s.io").withVersion("v1").withKind("VolumeSnapshot").withPlural("volumesnapshots")
                        .withNamespaced(true).build()).inNamespace(NS).resource(Serialization.unmarshal(m.yaml(),
                        io.fabric8.kubernetes.api.model.GenericKubernetesResource.class)).create();
            } else if (m.kind().equals("PersistentVolumeClaim")) {
                client.persistentVolumeClaims().inNamespace(NS).resource(Serialization.unmarshal(m.yaml(),
                        io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class)).create();
            }
        }
    }

    @Test
    void requiredRefusesNamingTheClaimsWithoutASnapshotClass() throws Exception {
        KubernetesDiscoveryTest.loadStorage(client, "storage-helm.yaml");
        InstanceDescription helm = Deployments.kubernetes().kubeconfig(kubeconfig).discover();
        MigrationPlan plan = KubernetesManifests.backupPlan(helm, Scope.ALL, SINK, null);
        assertThatThrownBy(() -> KubernetesManifests.of(helm, plan, ID, options(), KubernetesOptions.Snapshots.REQUIRED))
                .isInstanceOf(InvalidInputException.class).hasMessageStartingWith("--snapshots required: no VolumeSnapshotClass for the CSI"
                        + " driver of PVC(s) ")
                .hasMessageContaining("repos-gitserver-0 (StorageClass sourcegraph, driver kubernetes.io/gce-pd)")
                .hasMessageContaining("repos-gitserver-2 (StorageClass sourcegraph, driver kubernetes.io/gce-pd)");
        // auto: read live, pinned, as without a snapshot class
        KubernetesManifests.Result auto = KubernetesManifests.of(helm, plan, ID, options(), KubernetesOptions.Snapshots.AUTO);
        assertThat(auto.manifests()).noneMatch(m -> m.kind().equals("VolumeSnapshot"));
        assertThat(pod(jobs(auto).get("repos-gitserver-2")).getAffinity()).isNotNull();
    }

    @Test
    void aReadWriteOncePodVolumeIsRefused() {
        InstanceDescription rwop = with(d, "repos-gitserver-1", s -> modes(s, "ReadWriteOncePod"));
        assertThatThrownBy(() -> backup(rwop)).isInstanceOf(InvalidInputException.class)
                .hasMessage("step repos-gitserver-1: PVC repos-gitserver-1 is ReadWriteOncePod: only one pod in the cluster may mount it,"
                        + " and StatefulSet/gitserver's pod does, so no worker Job can read it; sgbackup refuses such volumes (change"
                        + " the claim to ReadWriteOnce, or back it up from inside the workload)");
        MigrationPlan restore = KubernetesManifests.restorePlan(rwop, ID, SINK, new RestoreOptions(false, false), Phase.VOLUMES);
        assertThatThrownBy(() -> KubernetesManifests.of(rwop, restore, ID, options())).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("is ReadWriteOncePod").hasMessageContaining("no worker Job can write it");
    }

    @Test
    void aSharedVolumeIsNotPinned() {
        InstanceDescription rwx = with(d, "repos-gitserver-1", s -> modes(s, "ReadWriteMany"));
        Job shard = jobs(backup(rwx)).get("repos-gitserver-1");
        assertThat(pod(shard).getAffinity()).isNull();
    }

    @Test
    void aWorkloadRunningAsRootIsRefusedAndAPasswordOutsideASecretToo() {
        InstanceDescription root = with(d, "repos-gitserver-0", s -> new InstanceDescription.Store(s.name(), s.kind(), s.recreatable(),
                s.holds(), s.origin(), s.location(), s.credentials(), new InstanceDescription.Pod("StatefulSet/gitserver",
                Map.of("runAsUser", 0), Map.of(), Map.of(), List.of(), null, List.of())));
        assertThatThrownBy(() -> backup(root)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("StatefulSet/gitserver runs as root (runAsUser 0)");
        InstanceDescription plain = with(d, "codeintel", s -> new InstanceDescription.Store(s.name(), s.kind(), s.recreatable(), s.holds(),
                s.origin(), s.location(), "env:CODEINTEL_PGPASSWORD@Deployment/sourcegraph-frontend", s.pod()));
        assertThatThrownBy(() -> backup(plain)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("step codeintel: the password of database codeintel comes from no Secret");
    }

    @Test
    void aCustomisedReleaseSubPathAndAPlainDataSource() throws Exception {
        KubernetesDiscoveryTest.load(client, "helm-customised.yaml", KubernetesDiscoveryTest.CUSTOM_NS);
        InstanceDescription custom = Deployments.kubernetes().kubeconfig(kubeconfig).context("custom").discover();
        KubernetesManifests.Options o = KubernetesManifests.Options.of(KubernetesDiscoveryTest.CUSTOM_NS, IMAGE);
        // CODEINSIGHTS_PGDATASOURCE is a plain value in the frontend's spec (password inside): never copied, so refused
        assertThatThrownBy(() -> KubernetesManifests.of(custom, KubernetesManifests.backupPlan(custom, Scope.POSTGRES, SINK, null), ID, o))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageStartingWith("step codeinsights: the password of database codeinsights comes from no Secret"
                        + " (env:CODEINSIGHTS_PGDATASOURCE@Deployment/sourcegraph-frontend)")
                .message().doesNotContain(SEEDED);
        InstanceDescription rest = custom.without(java.util.Set.of("codeinsights"));
        KubernetesManifests.Result r = KubernetesManifests.of(rest, KubernetesManifests.backupPlan(rest, Scope.ALL, SINK, null), ID, o);
        Job git = jobs(r).get("repos-sourcegraph-git-0");
        assertThat(container(git).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/data/repos-sourcegraph-git-0");
            assertThat(m.getSubPath()).isEqualTo("repos");
        });
        assertThat(pod(git).getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms()
                .get(0).getMatchFields().get(0).getValues()).containsExactly("node-ssd-1");
        // no worker Secret or ServiceAccount: said; a workload without security context: the image's user, said
        assertThat(container(git).getEnvFrom()).isEmpty();
        assertThat(r.notes()).contains("repos-sourcegraph-git-0: no --worker-secret and no --service-account: the worker has no sink"
                + " credentials but the node's own", "repos-sourcegraph-git-0: StatefulSet/sourcegraph-git sets no runAsUser: the worker"
                + " runs as the image's user 65532, which may not own its files");
        assertThat(pod(git).getSecurityContext().getRunAsUser()).isEqualTo(65532L);
        String all = r.manifests().stream().map(KubernetesManifests.Manifest::yaml).collect(Collectors.joining("\n")) + r.notes();
        assertThat(all).doesNotContain(SEEDED);
    }

    @Test
    void aLocalSinkIsRefused() {
        assertThatThrownBy(() -> KubernetesManifests.of(d, KubernetesManifests.backupPlan(d, Scope.ALL, "file:///backups", null), ID,
                options())).isInstanceOf(InvalidInputException.class).hasMessageContaining("needs an s3:// or gs:// sink");
    }

    @Test
    void theEmittedObjectsAreAcceptedByTheApiServerMock() {
        KubernetesManifests.Result r = backup(d);
        for (KubernetesManifests.Manifest m : r.manifests()) {
            switch (m.kind()) {
                case "Job" -> client.batch().v1().jobs().inNamespace(NS).resource(Serialization.unmarshal(m.yaml(), Job.class)).create();
                case "Role" -> client.rbac().roles().inNamespace(NS).resource(Serialization.unmarshal(m.yaml(), Role.class)).create();
                default -> client.rbac().roleBindings().inNamespace(NS).resource(Serialization.unmarshal(m.yaml(), RoleBinding.class)).create();
            }
        }
        List<Job> stored = client.batch().v1().jobs().inNamespace(NS).withLabel("sgbackup.dev/backup-id", ID).list().getItems();
        assertThat(stored).hasSize(11);
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel("sgbackup.dev/step", "repos-gitserver-2").list().getItems())
                .singleElement().satisfies(j -> assertThat(j.getSpec().getTemplate().getSpec())
                        .isEqualTo(jobs(r).get("repos-gitserver-2").getSpec().getTemplate().getSpec()));
        Role role = client.rbac().roles().inNamespace(NS).withName("sgbackup-coordinator").get();
        assertThat(role.getRules()).extracting(PolicyRule::getResources, PolicyRule::getVerbs).containsExactly(
                org.assertj.core.groups.Tuple.tuple(List.of("jobs"), List.of("create", "get", "list", "watch", "delete")),
                org.assertj.core.groups.Tuple.tuple(List.of("pods"), List.of("get", "list", "watch")),
                org.assertj.core.groups.Tuple.tuple(List.of("pods/log"), List.of("get")),
                org.assertj.core.groups.Tuple.tuple(List.of("events"), List.of("list", "watch")),
                org.assertj.core.groups.Tuple.tuple(List.of("persistentvolumeclaims"), List.of("get")));
        RoleBinding binding = client.rbac().roleBindings().inNamespace(NS).withName("sgbackup-coordinator").get();
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> assertThat(s.getName()).isEqualTo("sgbackup"));
        // no rule on secrets: what the Jobs read from Secrets, the kubelet resolves
        assertThat(role.getRules()).noneMatch(rule -> rule.getResources().contains("secrets"));
    }

    @Test
    void optionsAreValidated() {
        assertThatThrownBy(() -> KubernetesManifests.Options.of("Bad_NS", IMAGE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not a Kubernetes name");
        assertThatThrownBy(() -> KubernetesManifests.Options.of(NS, " ")).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> KubernetesManifests.of(d, KubernetesManifests.backupPlan(d, Scope.ALL, SINK, null), "latest",
                KubernetesManifests.Options.of(NS, IMAGE))).isInstanceOf(InvalidInputException.class).hasMessageContaining("not a backup id");
        assertThat(KubernetesManifests.newBackupId(java.time.Instant.parse("2026-12-02T14:22:00Z"))).matches("20261202T142200Z-[0-9a-f]{6}");
    }
}
