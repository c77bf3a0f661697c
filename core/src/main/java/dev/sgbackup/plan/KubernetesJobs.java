package dev.sgbackup.plan;

import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.Operation;
import io.fabric8.kubernetes.api.model.CapabilitiesBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvFromSourceBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.NodeAffinity;
import io.fabric8.kubernetes.api.model.NodeAffinityBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.SeccompProfileBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the Kubernetes objects of a plan run by the Kubernetes executor: one {@code batch/v1} Job per step (the
 * sgbackup image running {@code worker} for that one step) and the coordinator's least-privilege Role and
 * RoleBinding. Builds only: nothing here talks to a cluster. The one class besides {@link KubernetesDiscovery} that
 * touches fabric8 (an optional dependency); {@link KubernetesManifests} loads it after checking the client is there,
 * and no fabric8 type leaves it. The Job shape is documented in docs/kubernetes.md, which these constants follow.
 *
 * <p>One job, so one file (about 500 lines): the objects a run applies, built from the instance file and the plan.
 */
final class KubernetesJobs {
    static final String LABEL_BACKUP_ID = "sgbackup.dev/backup-id";
    static final String LABEL_STEP = "sgbackup.dev/step";
    static final String LABEL_OPERATION = "sgbackup.dev/operation";
    static final String ANNOTATION_STORE = "sgbackup.dev/store";
    static final String CONTAINER = "worker";
    /** Where a worker mounts the one PVC of a volume step: {@code /data/<store>}. */
    static final String DATA = KubernetesManifests.WORKER_DATA_DIR + "/";
    /** A finished Job (its pods and logs) stays a day for the coordinator and the operator, then Kubernetes removes it. */
    static final int TTL_SECONDS = 86_400;
    /** The image's user (examples/pom.xml image.user), for steps that inherit no user: databases and configuration. */
    static final long IMAGE_USER = 65532;
    /** /tmp: the JVM's and zstd-jni's temporary files (the root file system is read-only). */
    static final String TMP_SIZE = "2Gi";

    /** Requests and limits per kind of step (docs/kubernetes.md, "Resources"). */
    record Resources(String cpuRequest, String memoryRequest, String cpuLimit, String memoryLimit) {
    }

    /** A database step: pg_dump/pg_restore or JDBC streams, compression and encryption in the JVM. */
    static final Resources DATABASE = new Resources("500m", "1Gi", "2", "2Gi");
    /** A volume step: tar, compression and encryption of one PVC. */
    static final Resources VOLUME = new Resources("500m", "1Gi", "2", "2Gi");
    /** The configuration: a few documents. */
    static final Resources CONFIG = new Resources("100m", "256Mi", "1", "512Mi");

    private static final Pattern SECRET_KEY_REF = Pattern.compile("secretKeyRef:([^/\\s]+)/(\\S+)$");
    private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");

    /**
     * What every Job of a run shares.
     *
     * @param namespace        where the Jobs run (the release's namespace: the PVCs and Secrets are there)
     * @param image            the sgbackup image, the coordinator's own
     * @param imagePullSecrets pull secrets for that image, besides the workload's own
     * @param serviceAccount   the workers' ServiceAccount (cloud identity for the sink), or null: the namespace's default
     * @param workerSecret     the Secret whose keys become the workers' environment (sink credentials,
     *                         SGBACKUP_PASSPHRASE), or null
     * @param activeDeadlineSeconds a Job's deadline, or null
     * @param compression      the backup's --compression, or null for the default
     * @param encrypt          whether the backup is encrypted (the passphrase comes from the worker Secret)
     * @param snapshots        whether a backup's volume steps read a CSI snapshot where the instance file records a
     *                         snapshot class for their claim
     * @param dedup            whether the backup is deduplicated ({@code --dedup}), {@code forceRead} its {@code --force-read}
     * @param retryLock        a deduplicated backup's {@code --retry-lock}, or null
     */
    record Settings(String namespace, String image, List<String> imagePullSecrets, String serviceAccount, String workerSecret,
                    Long activeDeadlineSeconds, String compression, boolean encrypt, boolean snapshots, boolean dedup, boolean forceRead,
                    java.time.Duration retryLock) {
    }

    /**
     * A step's Job, with what the plan should say about it; for a volume step read from a CSI snapshot, the
     * VolumeSnapshot of its claim and the claim cloned from it that the Job mounts (both named as the Job), else null.
     */
    record StepJob(String store, Job job, List<String> notes, GenericKubernetesResource snapshot, PersistentVolumeClaim cloneClaim) {
        StepJob(String store, Job job, List<String> notes) {
            this(store, job, notes, null, null);
        }
    }

    /** The API group of CSI snapshots. */
    static final String SNAPSHOT_GROUP = "snapshot.storage.k8s.io";

    private KubernetesJobs() {
    }

    /**
     * The Job of one plan step.
     *
     * @param ordinal a backup step's position among the plan's steps that run, from 1
     * @param replace a restore's {@code --replace}
     *
     * @throws InvalidInputException when the step cannot run as a Job (a ReadWriteOncePod volume, a volume the
     *                               instance file has no PVC for, a database with no secretKeyRef for its password…)
     */
    static StepJob job(Operation op, String sink, String backupId, int ordinal, boolean replace, PlanStep step, InstanceDescription d,
                       Settings s) {
        if (step.action() == PlanStep.Action.SKIP) {
            throw new IllegalArgumentException("a skipped step has no Job: " + step.store());
        }
        List<String> notes = new ArrayList<>();
        List<String> args = new ArrayList<>(List.of("worker", "--operation", op == Operation.BACKUP ? "backup" : "restore",
                "--backup-id", backupId, "--step", step.store()));
        if (op == Operation.BACKUP) {
            // the step's position in the plan: names an encrypted backup's artifacts and the step's record, and the
            // coordinator commits the records in this order
            args.addAll(List.of("--ordinal", String.valueOf(ordinal)));
        }
        args.addAll(List.of(op == Operation.BACKUP ? "--to" : "--from", sink));
        if (op == Operation.RESTORE && replace) {
            args.add("--replace");
        }
        if (op == Operation.BACKUP && s.compression() != null) {
            args.addAll(List.of("--compression", s.compression()));
        }
        if (op == Operation.BACKUP && s.encrypt()) {
            args.add("--encrypt");
        }
        if (op == Operation.BACKUP && s.dedup()) {
            args.add("--dedup");
            if (s.forceRead()) {
                args.add("--force-read");
            }
            if (s.retryLock() != null) {
                // whole seconds, rounded up: the worker's --retry-lock takes no fraction
                java.time.Duration wait = s.retryLock().getNano() == 0 ? s.retryLock()
                        : java.time.Duration.ofSeconds(s.retryLock().getSeconds() + 1);
                args.addAll(List.of("--retry-lock", dev.sgbackup.manifest.Retention.formatDuration(wait)));
            }
        }
        List<EnvVar> env = new ArrayList<>();
        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().withSizeLimit(new Quantity(TMP_SIZE)).endEmptyDir().build());
        mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());
        InstanceDescription.Pod inherit;
        NodeAffinity affinity = null;
        GenericKubernetesResource snapshot = null;
        PersistentVolumeClaim clone = null;
        Resources res;
        boolean ownsFiles = false;
        switch (step.kind()) {
            case "volume" -> {
                Store st = store(d, step.store());
                Location l = st.location();
                if (l == null || l.pvc() == null) {
                    throw new InvalidInputException("step " + step.store() + ": the instance file names no PersistentVolumeClaim for it"
                            + " (discover it with 'sgbackup discover --kubernetes')");
                }
                List<String> modes = l.accessModes() == null ? List.of() : l.accessModes();
                boolean backup = op == Operation.BACKUP;
                InstanceDescription.Storage storage = l.storage();
                // a backup from a CSI snapshot (Velero's data mover): the Job mounts a new claim cloned from a
                // VolumeSnapshot of the workload's, so it neither shares the workload's volume nor needs its node
                boolean fromSnapshot = backup && s.snapshots() && storage != null && storage.snapshotClass() != null
                        && storage.size() != null;
                String name = jobName(op, backupId, step.store());
                if (modes.contains("ReadWriteOncePod") && !fromSnapshot) {
                    throw new InvalidInputException("step " + step.store() + ": PVC " + l.pvc() + " is ReadWriteOncePod: only one pod"
                            + " in the cluster may mount it" + (backup ? ", and " + st.origin() + "'s pod does" : "")
                            + ", so no worker Job can " + (backup ? "read" : "write") + " it; sgbackup refuses such volumes"
                            + " (change the claim to ReadWriteOnce, or back it up from inside the workload)");
                }
                if (!backup && modes.size() == 1 && modes.contains("ReadOnlyMany")) {
                    throw new InvalidInputException("step " + step.store() + ": PVC " + l.pvc() + " is ReadOnlyMany: a restore cannot"
                            + " write it");
                }
                boolean shared = modes.contains("ReadWriteMany") || backup && modes.contains("ReadOnlyMany");
                if (modes.isEmpty()) {
                    notes.add(step.store() + ": the access modes of PVC " + l.pvc() + " are unknown (an instance file of an older"
                            + " discover?): taken as ReadWriteOnce");
                }
                if (fromSnapshot) {
                    Map<String, String> labels = labels(op, backupId, step.store());
                    snapshot = new GenericKubernetesResourceBuilder().withApiVersion(SNAPSHOT_GROUP + "/v1").withKind("VolumeSnapshot")
                            .withNewMetadata().withName(name).withNamespace(s.namespace()).withLabels(labels)
                            .withAnnotations(Map.of(ANNOTATION_STORE, step.store())).endMetadata()
                            .withAdditionalProperties(Map.of("spec", Map.of("volumeSnapshotClassName", storage.snapshotClass(),
                                    "source", Map.of("persistentVolumeClaimName", l.pvc())))).build();
                    clone = new PersistentVolumeClaimBuilder().withNewMetadata().withName(name).withNamespace(s.namespace())
                            .withLabels(labels).withAnnotations(Map.of(ANNOTATION_STORE, step.store())).endMetadata()
                            .withNewSpec().withAccessModes("ReadWriteOnce").withStorageClassName(storage.storageClass())
                            .withNewResources().addToRequests("storage", new Quantity(storage.size())).endResources()
                            .withNewDataSource().withApiGroup(SNAPSHOT_GROUP).withKind("VolumeSnapshot").withName(name).endDataSource()
                            .endSpec().build();
                    notes.add(step.store() + ": read from CSI snapshot " + name + " of PVC " + l.pvc() + " (VolumeSnapshotClass "
                            + storage.snapshotClass() + "), cloned into a new PVC " + name + " mounted read-only: the copy is point-in-time"
                            + " (crash-consistent: " + st.origin() + " is not quiesced); no node pinning");
                } else if (backup && !shared && l.node() != null) {
                    affinity = onNode(l.node());
                    notes.add(step.store() + ": read live from PVC " + l.pvc() + " on node " + l.node() + " (ReadWriteOnce, no CSI"
                            + " snapshot used): the copy is not point-in-time; " + st.origin() + " keeps writing while it is read");
                } else if (backup) {
                    notes.add(step.store() + ": read live from PVC " + l.pvc() + (shared ? " (shared access)" : " (mounted by no running pod)")
                            + ", no CSI snapshot used: the copy is not point-in-time");
                } else if (l.node() != null && !shared) {
                    notes.add(step.store() + ": PVC " + l.pvc() + " was mounted on node " + l.node() + " when discovered: scale "
                            + st.origin() + " down at the checkpoint before the volume phase, or the Job waits on Multi-Attach");
                }
                String dir = DATA + step.store();
                volumes.add(new VolumeBuilder().withName("data").withNewPersistentVolumeClaim(fromSnapshot ? name : l.pvc(), backup).build());
                mounts.add(new VolumeMountBuilder().withName("data").withMountPath(dir).withSubPath(l.subPath()).withReadOnly(backup).build());
                args.addAll(List.of("--volume", step.store() + "=" + dir));
                inherit = st.pod();
                ownsFiles = true;
                res = VOLUME;
            }
            case "postgres" -> {
                Store st = store(d, step.store());
                database(step.store(), st, "--postgres", step.store() + "=", args, env);
                inherit = st.pod();
                res = DATABASE;
            }
            case "sourcegraph-config" -> {
                // the configuration through the frontend database (complete, unredacted), with its credentials
                Store fe = d.stores().stream().filter(x -> x.name().equals("frontend") && InstanceDescription.POSTGRES.equals(x.kind()))
                        .findFirst().orElseThrow(() -> new InvalidInputException("step " + step.store() + ": the configuration is read"
                                + " through the frontend database, which the instance file does not name"));
                database(step.store(), fe, "--sourcegraph-db", "", args, env);
                inherit = fe.pod();
                res = CONFIG;
            }
            default -> throw new InvalidInputException("step " + step.store() + ": a store of kind " + step.kind() + " cannot run as a"
                    + " Kubernetes Job");
        }
        if (s.workerSecret() == null && s.serviceAccount() == null) {
            notes.add(step.store() + ": no --worker-secret and no --service-account: the worker has no sink credentials but the"
                    + " node's own" + (s.encrypt() ? ", and no passphrase" : ""));
        }
        if (inherit == null) {
            inherit = new InstanceDescription.Pod(null, null, null, null, null, null, null);
        }
        Container c = new ContainerBuilder().withName(CONTAINER).withImage(s.image()).withArgs(args).withEnv(env)
                .withEnvFrom(s.workerSecret() == null ? List.of()
                        : List.of(new EnvFromSourceBuilder().withNewSecretRef().withName(s.workerSecret()).endSecretRef().build()))
                .withVolumeMounts(mounts)
                .withResources(new ResourceRequirementsBuilder()
                        .addToRequests("cpu", new Quantity(res.cpuRequest())).addToRequests("memory", new Quantity(res.memoryRequest()))
                        .addToLimits("cpu", new Quantity(res.cpuLimit())).addToLimits("memory", new Quantity(res.memoryLimit())).build())
                // a failed worker's last log lines become its termination message: the coordinator reports them from
                // the pod's status, without reading logs
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .withSecurityContext(containerSecurity(step.store(), inherit, ownsFiles)).build();
        Set<String> pullSecrets = new LinkedHashSet<>(inherit.imagePullSecrets());
        pullSecrets.addAll(s.imagePullSecrets());
        PodSpecBuilder pod = new PodSpecBuilder().withRestartPolicy("Never").withServiceAccountName(s.serviceAccount())
                .withAutomountServiceAccountToken(false).withEnableServiceLinks(false)
                .withSecurityContext(podSecurity(step.store(), inherit, ownsFiles, notes))
                .withNodeSelector(inherit.nodeSelector().isEmpty() ? null : new LinkedHashMap<>(inherit.nodeSelector()))
                .withTolerations(inherit.tolerations().stream().map(t -> convert(t, Toleration.class)).toList())
                .withPriorityClassName(inherit.priorityClassName())
                .withImagePullSecrets(pullSecrets.stream().map(LocalObjectReference::new).toList())
                .withContainers(c).withVolumes(volumes);
        if (affinity != null) {
            pod.withNewAffinity().withNodeAffinity(affinity).endAffinity();
        }
        Map<String, String> labels = labels(op, backupId, step.store());
        Job job = new JobBuilder().withNewMetadata().withName(jobName(op, backupId, step.store())).withNamespace(s.namespace())
                .withLabels(labels).withAnnotations(Map.of(ANNOTATION_STORE, step.store())).endMetadata()
                .withNewSpec().withBackoffLimit(0).withTtlSecondsAfterFinished(TTL_SECONDS)
                .withActiveDeadlineSeconds(s.activeDeadlineSeconds())
                .withNewPodFailurePolicy()
                .addToRules(new PodFailurePolicyRuleBuilder().withAction("Ignore")
                        .addNewOnPodCondition().withType("DisruptionTarget").withStatus("True").endOnPodCondition().build())
                .addToRules(new PodFailurePolicyRuleBuilder().withAction("FailJob")
                        .withNewOnExitCodes().withContainerName(CONTAINER).withOperator("NotIn").withValues(0).endOnExitCodes().build())
                .endPodFailurePolicy()
                .withNewTemplate().withNewMetadata().withLabels(labels).withAnnotations(Map.of(ANNOTATION_STORE, step.store())).endMetadata()
                .withSpec(pod.build()).endTemplate()
                .endSpec().build();
        return new StepJob(step.store(), job, notes, snapshot, clone);
    }

    private static Store store(InstanceDescription d, String name) {
        return d.stores().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new InvalidInputException("step " + name + ": the instance file has no store of that name"));
    }

    /**
     * A database's connection for the worker: the JDBC URL from the instance file's host, port, database and user
     * (no secret: they are in the instance file already), the password only through the secretKeyRef the frontend
     * uses, under the same variable name, which {@code --password-env} names.
     */
    private static void database(String step, Store st, String flag, String prefix, List<String> args, List<EnvVar> env) {
        Location l = st.location();
        if (l == null || l.host() == null) {
            throw new InvalidInputException("step " + step + ": the instance file has no host for database " + st.name());
        }
        String ref = st.credentials();
        Matcher m = ref == null ? null : SECRET_KEY_REF.matcher(ref);
        if (m == null || !ref.startsWith("env:") || !m.find()) {
            throw new InvalidInputException("step " + step + ": the password of database " + st.name() + " comes from no Secret ("
                    + (ref == null ? "no credentials reference" : ref) + "): a worker Job takes it only through a secretKeyRef, never"
                    + " as a value; put it into a Secret the frontend reads, and discover again");
        }
        int at = ref.indexOf('@');
        String var = ref.substring(4, at < 0 ? ref.indexOf(' ') : at);
        args.addAll(List.of(flag, prefix + InstanceDescription.jdbcUrl(l), "--password-env", var));
        env.add(new EnvVarBuilder().withName(var).withNewValueFrom().withNewSecretKeyRef().withName(m.group(1)).withKey(m.group(2))
                .endSecretKeyRef().endValueFrom().build());
    }

    /**
     * The pod's security context: the workload's (its user, group and fsGroup own the files a volume step reads or
     * writes), made restricted-profile compatible (non-root, RuntimeDefault seccomp); steps without files of a
     * workload run as the image's user.
     */
    private static PodSecurityContext podSecurity(String step, InstanceDescription.Pod inherit, boolean ownsFiles, List<String> notes) {
        PodSecurityContext p = ownsFiles ? convert(inherit.securityContext(), PodSecurityContext.class) : new PodSecurityContext();
        if (p == null) {
            p = new PodSecurityContext();
        }
        Long user = ownsFiles ? userOf(inherit) : null;
        if (ownsFiles && user != null && user == 0) {
            throw new InvalidInputException("step " + step + ": " + inherit.workload() + " runs as root (runAsUser 0): a worker that owns"
                    + " its files would have to as well, which sgbackup refuses (the restricted PodSecurity profile forbids it)");
        }
        if (ownsFiles && user == null) {
            notes.add(step + ": " + (inherit.workload() == null ? "its workload" : inherit.workload()) + " sets no runAsUser: the worker"
                    + " runs as the image's user " + IMAGE_USER + ", which may not own its files");
        }
        if (p.getRunAsUser() == null && user == null) {
            p.setRunAsUser(IMAGE_USER);
            p.setRunAsGroup(IMAGE_USER);
        } else if (p.getRunAsUser() == null) {
            p.setRunAsUser(user);
        }
        p.setRunAsNonRoot(true);
        p.setSeccompProfile(new SeccompProfileBuilder().withType("RuntimeDefault").build());
        return p;
    }

    /** The user a workload's container runs as: the container's runAsUser, else the pod's. */
    private static Long userOf(InstanceDescription.Pod inherit) {
        Object u = inherit.containerSecurityContext().get("runAsUser");
        u = u == null ? inherit.securityContext().get("runAsUser") : u;
        return u instanceof Number n ? n.longValue() : null;
    }

    /** The container's: the workload container's user and group, nothing more; no privilege, no capability. */
    private static SecurityContext containerSecurity(String step, InstanceDescription.Pod inherit, boolean ownsFiles) {
        SecurityContext c = new SecurityContext();
        if (ownsFiles) {
            SecurityContext w = convert(inherit.containerSecurityContext(), SecurityContext.class);
            if (w != null) {
                c.setRunAsUser(w.getRunAsUser());
                c.setRunAsGroup(w.getRunAsGroup());
            }
            if (c.getRunAsUser() != null && c.getRunAsUser() == 0) {
                throw new InvalidInputException("step " + step + ": " + inherit.workload() + "'s container runs as root (runAsUser 0):"
                        + " sgbackup refuses to run a worker as root");
            }
        }
        c.setRunAsNonRoot(true);
        c.setAllowPrivilegeEscalation(false);
        c.setPrivileged(false);
        c.setReadOnlyRootFilesystem(true);
        c.setCapabilities(new CapabilitiesBuilder().withDrop("ALL").build());
        c.setSeccompProfile(new SeccompProfileBuilder().withType("RuntimeDefault").build());
        return c;
    }

    /** Only on the node where the RWO volume is attached: by the node's name (metadata.name), not a label. */
    private static NodeAffinity onNode(String node) {
        return new NodeAffinityBuilder().withNewRequiredDuringSchedulingIgnoredDuringExecution().addNewNodeSelectorTerm()
                .addNewMatchField().withKey("metadata.name").withOperator("In").withValues(node).endMatchField()
                .endNodeSelectorTerm().endRequiredDuringSchedulingIgnoredDuringExecution().build();
    }

    private static <T> T convert(Map<String, Object> m, Class<T> type) {
        if (m == null || m.isEmpty()) {
            return null;
        }
        try {
            return Serialization.unmarshal(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m), type);
        } catch (Exception e) {
            throw new InvalidInputException("the instance file's pod settings do not read as a " + type.getSimpleName() + " ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    /** The labels every object of a run carries: the backup id, the step (label-value-safe), the operation. */
    static Map<String, String> labels(Operation op, String backupId, String store) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put("app.kubernetes.io/name", "sgbackup");
        l.put("app.kubernetes.io/component", "worker");
        l.put(LABEL_OPERATION, op == Operation.BACKUP ? "backup" : "restore");
        l.put(LABEL_BACKUP_ID, labelValue(backupId));
        l.put(LABEL_STEP, labelValue(store));
        return l;
    }

    /**
     * A label value for a name: itself when it is one (at most 63 characters, alphanumeric at both ends); else its
     * valid characters, cut, and 8 hex digits of its SHA-256, so two names never share a value.
     */
    static String labelValue(String name) {
        if (name.length() <= 63 && LABEL_VALUE.matcher(name).matches()) {
            return name;
        }
        String clean = name.replaceAll("[^-A-Za-z0-9_.]", "-");
        clean = clean.substring(0, Math.min(clean.length(), 54)).replaceAll("^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "");
        return (clean.isEmpty() ? "x" : clean) + "-" + hash(name);
    }

    /**
     * A Job's name: {@code sgbackup-<backup id>-<store>} (restores: {@code sgrestore-…}), lower case, DNS-label-safe,
     * at most 63 characters (a Job's name is also a pod label); stable for a backup id and store, and distinct per store.
     */
    static String jobName(Operation op, String backupId, String store) {
        String base = (op == Operation.BACKUP ? "sgbackup-" : "sgrestore-") + backupId.toLowerCase(Locale.ROOT) + "-";
        String s = store.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        String name = base + s;
        if (name.length() <= 63 && s.equals(store) && name.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
            return name;
        }
        String cut = name.substring(0, Math.min(name.length(), 54)).replaceAll("-+$", "");
        return cut + "-" + hash(store);
    }

    private static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The coordinator's Role: what it needs to run, follow and clean up the Jobs, and no more (docs/kubernetes.md). */
    static Role role(String namespace, String name) {
        return role(namespace, name, false);
    }

    /**
     * The coordinator's Role; with {@code snapshots} (a run that reads CSI snapshots) it also creates, follows and
     * deletes VolumeSnapshots and the claims cloned from them, and lists both to remove a dead run's.
     */
    static Role role(String namespace, String name, boolean snapshots) {
        List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rules = new ArrayList<>(List.of(
                new PolicyRuleBuilder().withApiGroups("batch").withResources("jobs")
                        .withVerbs("create", "get", "list", "watch", "delete").build(),
                new PolicyRuleBuilder().withApiGroups("").withResources("pods").withVerbs("get", "list", "watch").build(),
                new PolicyRuleBuilder().withApiGroups("").withResources("pods/log").withVerbs("get").build(),
                new PolicyRuleBuilder().withApiGroups("").withResources("events").withVerbs("list", "watch").build()));
        if (snapshots) {
            rules.add(new PolicyRuleBuilder().withApiGroups("").withResources("persistentvolumeclaims")
                    .withVerbs("get", "list", "create", "delete").build());
            rules.add(new PolicyRuleBuilder().withApiGroups(SNAPSHOT_GROUP).withResources("volumesnapshots")
                    .withVerbs("create", "get", "list", "watch", "delete").build());
        } else {
            rules.add(new PolicyRuleBuilder().withApiGroups("").withResources("persistentvolumeclaims").withVerbs("get").build());
        }
        return new RoleBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                .withLabels(Map.of("app.kubernetes.io/name", "sgbackup", "app.kubernetes.io/component", "coordinator")).endMetadata()
                .withRules(rules).build();
    }

    /** Binds the coordinator's Role to its ServiceAccount. */
    static RoleBinding roleBinding(String namespace, String name, String serviceAccount) {
        return new RoleBindingBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                .withLabels(Map.of("app.kubernetes.io/name", "sgbackup", "app.kubernetes.io/component", "coordinator")).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(name).endRoleRef()
                .addNewSubject().withKind("ServiceAccount").withName(serviceAccount).withNamespace(namespace).endSubject()
                .build();
    }

    static String yaml(Object o) {
        return Serialization.asYaml(o);
    }
}
