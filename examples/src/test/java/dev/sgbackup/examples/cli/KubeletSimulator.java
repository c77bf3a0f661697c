package dev.sgbackup.examples.cli;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The kubelet (and the scheduler, the attach/detach controller and the Job controller) of a simulated cluster, over
 * fabric8's API server mock in CRUD mode. It watches Jobs; for each new one it makes its pod and either refuses it as
 * a real cluster would — a PVC that does not exist (FailedScheduling), a Secret or Secret key that does not exist
 * (CreateContainerConfigError), a ReadWriteOnce volume attached to another node than the one the pod is pinned to
 * (FailedAttachVolume, Multi-Attach) — leaving the pod Pending with an Event, or runs the container: the image's
 * entry point (the CLI's {@code Main}) as a local process with exactly the Job's args and an environment made of
 * only the image's (PATH, LANG and LC_ALL, as examples/pom.xml sets them) and the Job's {@code env} (values and
 * {@code secretKeyRef}s resolved from the mock's Secrets) and {@code envFrom} Secrets. A PVC is the local directory {@code pvRoot/<claim>[/<subPath>]} standing for its volume; a
 * mount path in the args is rewritten to that directory, as the mount would make it appear. When the process ends it
 * sets the pod's phase and termination message (the last log lines: {@code FallbackToLogsOnError}) and the Job's
 * status: {@code Complete}, or {@code Failed} with reason {@code PodFailurePolicy} (the Jobs' FailJob rule), as the
 * Job controller would. A Job deleted while its process runs kills the process (pod termination).
 *
 * <p>What it does not simulate: scheduling on capacity, taints and tolerations, image pulls, PodSecurity admission,
 * read-only mounts (the directory is writable to the process), evictions and the Ignore rule.
 */
final class KubeletSimulator implements AutoCloseable {
    /** The VolumeSnapshot resource ({@code snapshot.storage.k8s.io/v1}), as the CSI snapshot controller serves it. */
    static final io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext SNAPSHOTS =
            new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder().withGroup("snapshot.storage.k8s.io")
                    .withVersion("v1").withKind("VolumeSnapshot").withPlural("volumesnapshots").withNamespaced(true).build();

    /** A Job labelled so is history a test wrote (e.g. a dead run's finished Jobs): never run. */
    static final String HISTORY = "test.sgbackup.dev/history";
    private final KubernetesClient client;
    private final String namespace;
    private final Path pvRoot;
    private final Path work;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final Map<String, Process> running = new ConcurrentHashMap<>();
    private final AtomicInteger concurrent = new AtomicInteger();
    private final AtomicInteger maxConcurrent = new AtomicInteger();
    private final List<String> started = new CopyOnWriteArrayList<>();
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final SharedIndexInformer<Job> informer;
    /** Each worker's combined output, by Job name. */
    final Map<String, String> logs = new ConcurrentHashMap<>();
    /**
     * Called by the fake CSI snapshotter with the source claim's name once a snapshot's data is cut (copied) and
     * before the snapshot is marked {@code readyToUse}: a test changes the live volume here to show the copy is
     * point-in-time.
     */
    volatile java.util.function.Consumer<String> afterSnapshotCut = claim -> { };
    /** The VolumeSnapshots the fake snapshotter cut, in order (source claim names). */
    final List<String> snapshotsCut = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.ScheduledExecutorService csi = Executors.newSingleThreadScheduledExecutor();

    KubeletSimulator(KubernetesClient client, String namespace, Path pvRoot, Path work) {
        this.client = client;
        this.namespace = namespace;
        this.pvRoot = pvRoot;
        this.work = work;
        this.informer = client.batch().v1().jobs().inNamespace(namespace).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Job j) {
                if (j.getMetadata().getLabels() != null && j.getMetadata().getLabels().containsKey(HISTORY)) {
                    return; // a test's record of what ran before this cluster existed: nothing to run
                }
                if (seen.add(j.getMetadata().getName() + "/" + j.getMetadata().getUid())) {
                    pool.submit(() -> start(j));
                }
            }

            @Override
            public void onUpdate(Job before, Job after) {
            }

            @Override
            public void onDelete(Job j, boolean unknown) {
                Process p = running.remove(j.getMetadata().getName());
                if (p != null) {
                    p.destroyForcibly();
                }
                // background propagation: the Job's pods go with it
                client.pods().inNamespace(namespace).withLabel("job-name", j.getMetadata().getName()).delete();
            }
        }, 0);
        csi.scheduleWithFixedDelay(this::csiPass, 100, 100, TimeUnit.MILLISECONDS);
    }

    static final io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext SNAPSHOT_CLASSES =
            new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder().withGroup("snapshot.storage.k8s.io")
                    .withVersion("v1").withKind("VolumeSnapshotClass").withPlural("volumesnapshotclasses").withNamespaced(false).build();

    /**
     * A cluster's StorageClasses (typed) and VolumeSnapshotClasses (a CRD: the generic API), both cluster-scoped, from
     * core's fixture {@code discover/kubernetes/<resource>} (storage-eks.yaml, storage-gke.yaml, storage-helm.yaml).
     */
    static void loadStorage(KubernetesClient client, String resource) throws IOException {
        try (var in = KubeletSimulator.class.getResourceAsStream("/discover/kubernetes/" + resource)) {
            for (var o : client.load(in).items()) {
                if (o instanceof io.fabric8.kubernetes.api.model.GenericKubernetesResource g) {
                    client.genericKubernetesResources(SNAPSHOT_CLASSES).resource(g).create();
                } else {
                    client.resource(o).create();
                }
            }
        }
    }

    /** The Jobs whose pod this kubelet made, as created, by name. */
    final Map<String, Job> jobsSeen = new ConcurrentHashMap<>();

    /**
     * The CSI external-snapshotter and external-provisioner of the simulated cluster, one pass: a new VolumeSnapshot
     * of an existing claim whose StorageClass's provisioner (the claim's CSI driver) is its VolumeSnapshotClass's
     * driver has the claim's volume directory copied (the snapshot's content, cut now) and becomes
     * {@code readyToUse}; of a missing claim, or with a class of another driver or none, it gets {@code status.error}.
     * A claim whose dataSource is a ready VolumeSnapshot is bound to a new PersistentVolume (a hostPath) holding a copy
     * of the snapshot's content. Deleted clones and snapshots take their directories with them.
     */
    private void csiPass() {
        try {
            var snaps = client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace);
            Set<String> live = new java.util.HashSet<>();
            for (var snap : snaps.list().getItems()) {
                live.add(snap.getMetadata().getName());
                if (snap.getAdditionalProperties().get("status") == null) {
                    cut(snap);
                }
            }
            for (PersistentVolumeClaim pvc : client.persistentVolumeClaims().inNamespace(namespace).list().getItems()) {
                var src = pvc.getSpec().getDataSource();
                if (src != null && "VolumeSnapshot".equals(src.getKind()) && pvc.getSpec().getVolumeName() == null) {
                    provision(pvc, src.getName());
                }
            }
            // the snapshot's content goes with it (deletionPolicy Delete)
            try (var dirs = Files.list(Files.createDirectories(work.resolve("snapshots")))) {
                for (Path d : dirs.toList()) {
                    if (!live.contains(d.getFileName().toString())) {
                        deleteTree(d);
                    }
                }
            }
        } catch (Exception e) {
            // the mock may be shutting down; the next pass tries again
        }
    }

    @SuppressWarnings("unchecked")
    private void cut(io.fabric8.kubernetes.api.model.GenericKubernetesResource snap) throws IOException {
        Map<String, Object> spec = (Map<String, Object>) snap.getAdditionalProperties().getOrDefault("spec", Map.of());
        Map<String, Object> source = (Map<String, Object>) spec.getOrDefault("source", Map.of());
        String claim = (String) source.get("persistentVolumeClaimName");
        String className = (String) spec.get("volumeSnapshotClassName");
        PersistentVolumeClaim pvc = claim == null ? null : client.persistentVolumeClaims().inNamespace(namespace).withName(claim).get();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("readyToUse", false);
        String error = null;
        if (pvc == null) {
            error = "Failed to create snapshot: failed to get input parameters to create snapshot " + snap.getMetadata().getName()
                    + ": \"persistentvolumeclaims \\\"" + claim + "\\\" not found\"";
        } else {
            String sc = pvc.getSpec().getStorageClassName();
            var storageClass = sc == null ? null : client.storage().v1().storageClasses().withName(sc).get();
            String driver = storageClass == null ? null : storageClass.getProvisioner(); // the claim's CSI driver
            var vsc = className == null ? null : client.genericKubernetesResources(SNAPSHOT_CLASSES).withName(className).get();
            Object vscDriver = vsc == null ? null : vsc.getAdditionalProperties().get("driver");
            if (vsc == null) {
                error = "Failed to create snapshot content with error failed to get input parameters to create snapshot "
                        + snap.getMetadata().getName() + ": \"volumesnapshotclass.snapshot.storage.k8s.io \\\"" + className
                        + "\\\" not found\"";
            } else if (driver == null || !driver.equals(vscDriver)) {
                error = "Failed to create snapshot content with error snapshot controller failed to update " + snap.getMetadata().getName()
                        + ": VolumeSnapshotClass " + className + " of driver " + vscDriver + " does not match the driver " + driver
                        + " of PersistentVolumeClaim " + claim;
            } else {
                Path to = work.resolve("snapshots").resolve(snap.getMetadata().getName());
                copyTree(volumeDir(pvc), to);
                snapshotsCut.add(claim);
                afterSnapshotCut.accept(claim);
                status.put("readyToUse", true);
                status.put("restoreSize", pvc.getSpec().getResources().getRequests().get("storage").toString());
                status.put("boundVolumeSnapshotContentName", "snapcontent-" + snap.getMetadata().getUid());
                status.put("creationTime", Instant.now().toString());
            }
        }
        if (error != null) {
            status.put("error", Map.of("message", error, "time", Instant.now().toString()));
        }
        var latest = client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).withName(snap.getMetadata().getName())
                .get();
        if (latest != null) {
            latest.getAdditionalProperties().put("status", status);
            client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).resource(latest).updateStatus();
        }
    }

    /** A claim cloned from a VolumeSnapshot: bound, once the snapshot is ready, to a new hostPath volume with its content. */
    @SuppressWarnings("unchecked")
    private void provision(PersistentVolumeClaim pvc, String snapshot) throws IOException {
        var snap = client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).withName(snapshot).get();
        Map<String, Object> status = snap == null ? null : (Map<String, Object>) snap.getAdditionalProperties().get("status");
        if (status == null || !Boolean.TRUE.equals(status.get("readyToUse"))) {
            return; // the external-provisioner waits for the snapshot
        }
        String pv = "pvc-" + pvc.getMetadata().getUid();
        Path dir = work.resolve("volumes").resolve(pv);
        copyTree(work.resolve("snapshots").resolve(snapshot), dir);
        client.persistentVolumes().resource(new io.fabric8.kubernetes.api.model.PersistentVolumeBuilder().withNewMetadata().withName(pv)
                .endMetadata().withNewSpec().withAccessModes(pvc.getSpec().getAccessModes())
                .withCapacity(pvc.getSpec().getResources().getRequests()).withStorageClassName(pvc.getSpec().getStorageClassName())
                .withNewHostPath().withPath(dir.toString()).endHostPath()
                .withNewClaimRef().withName(pvc.getMetadata().getName()).withNamespace(namespace).endClaimRef().endSpec().build()).create();
        PersistentVolumeClaim latest = client.persistentVolumeClaims().inNamespace(namespace).withName(pvc.getMetadata().getName()).get();
        if (latest == null) {
            return;
        }
        latest.getSpec().setVolumeName(pv);
        latest = client.persistentVolumeClaims().inNamespace(namespace).resource(latest).update();
        latest.setStatus(new io.fabric8.kubernetes.api.model.PersistentVolumeClaimStatusBuilder().withPhase("Bound")
                .withAccessModes(pvc.getSpec().getAccessModes()).withCapacity(pvc.getSpec().getResources().getRequests()).build());
        client.persistentVolumeClaims().inNamespace(namespace).resource(latest).updateStatus();
    }

    /**
     * The directory standing for a claim's volume: the hostPath of the PersistentVolume it is bound to, or, for the
     * release's own claims (bound to no PersistentVolume object here), {@code pvRoot/<claim>}.
     */
    private Path volumeDir(PersistentVolumeClaim pvc) {
        String pv = pvc.getSpec().getVolumeName();
        var v = pv == null ? null : client.persistentVolumes().withName(pv).get();
        if (v != null && v.getSpec().getHostPath() != null) {
            return Path.of(v.getSpec().getHostPath().getPath());
        }
        return pvRoot.resolve(pvc.getMetadata().getName());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    /** The most worker processes that ran at once. */
    int maxConcurrent() {
        return maxConcurrent.get();
    }

    /** The Jobs whose container was started, in order. */
    List<String> started() {
        return started;
    }

    private void start(Job job) {
        String name = job.getMetadata().getName();
        jobsSeen.put(name, job);
        PodSpec spec = job.getSpec().getTemplate().getSpec();
        Container c = spec.getContainers().get(0);
        String node = pinnedNode(spec);
        Pod pod = client.pods().inNamespace(namespace).resource(new PodBuilder().withNewMetadata().withName(name + "-x7k2p")
                .withNamespace(namespace).addToLabels(job.getSpec().getTemplate().getMetadata() == null ? Map.of()
                        : job.getSpec().getTemplate().getMetadata().getLabels()).addToLabels("job-name", name)
                .endMetadata().withSpec(new io.fabric8.kubernetes.api.model.PodSpecBuilder(spec).withNodeName(node == null ? "node-a" : node)
                        .build()).build()).create();
        pod = setPod(pod, "Pending", null, null, null);
        try {
            Map<String, Path> mounts = new LinkedHashMap<>();
            for (VolumeMount m : c.getVolumeMounts()) {
                Volume v = spec.getVolumes().stream().filter(x -> x.getName().equals(m.getName())).findFirst().orElseThrow();
                if (v.getPersistentVolumeClaim() != null) {
                    String claim = v.getPersistentVolumeClaim().getClaimName();
                    PersistentVolumeClaim pvc = client.persistentVolumeClaims().inNamespace(namespace).withName(claim).get();
                    if (pvc == null) {
                        refuse(pod, "FailedScheduling", "0/3 nodes are available: persistentvolumeclaim \"" + claim + "\" not found.");
                        return;
                    }
                    // a claim being provisioned (a snapshot's clone): the pod is not scheduled before it is bound
                    for (int i = 0; i < 300 && pvc != null && pvc.getSpec().getDataSource() != null && pvc.getSpec().getVolumeName() == null; i++) {
                        Thread.sleep(100);
                        pvc = client.persistentVolumeClaims().inNamespace(namespace).withName(claim).get();
                    }
                    if (pvc == null || pvc.getSpec().getVolumeName() == null && pvc.getSpec().getDataSource() != null) {
                        refuse(pod, "FailedScheduling", "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
                        return;
                    }
                    String attached = attachedNode(claim, name);
                    boolean rwo = pvc.getSpec().getAccessModes().contains("ReadWriteOnce");
                    if (rwo && attached != null && !attached.equals(node)) {
                        refuse(pod, "FailedAttachVolume", "Multi-Attach error for volume \"pvc-" + claim + "\" Volume is already"
                                + " exclusively attached to one node (" + attached + ") and can't be attached to another");
                        return;
                    }
                    // a clone is a new volume, attached to no node yet: no Multi-Attach (attachedNode finds no other pod)
                    Path dir = volumeDir(pvc);
                    mounts.put(m.getMountPath(), m.getSubPath() == null || m.getSubPath().isEmpty() ? dir : dir.resolve(m.getSubPath()));
                } else {
                    mounts.put(m.getMountPath(), Files.createDirectories(work.resolve(name).resolve(m.getName())));
                }
            }
            Map<String, String> env = new LinkedHashMap<>();
            for (EnvFromSource f : c.getEnvFrom()) {
                Secret s = client.secrets().inNamespace(namespace).withName(f.getSecretRef().getName()).get();
                if (s == null) {
                    refuse(pod, "Failed", "Error: secret \"" + f.getSecretRef().getName() + "\" not found");
                    return;
                }
                s.getData().forEach((k, v) -> env.put(k, decode(v)));
            }
            for (EnvVar e : c.getEnv()) {
                if (e.getValueFrom() == null) {
                    env.put(e.getName(), e.getValue());
                    continue;
                }
                var ref = e.getValueFrom().getSecretKeyRef();
                Secret s = client.secrets().inNamespace(namespace).withName(ref.getName()).get();
                if (s == null) {
                    refuse(pod, "Failed", "Error: secret \"" + ref.getName() + "\" not found");
                    return;
                }
                if (s.getData() == null || !s.getData().containsKey(ref.getKey())) {
                    refuse(pod, "Failed", "Error: couldn't find key " + ref.getKey() + " in Secret " + namespace + "/" + ref.getName());
                    return;
                }
                env.put(e.getName(), decode(s.getData().get(ref.getKey())));
            }
            List<String> args = new ArrayList<>();
            for (String a : c.getArgs()) {
                for (Map.Entry<String, Path> m : mounts.entrySet()) {
                    a = a.replace(m.getKey(), m.getValue().toString());
                }
                args.add(a);
            }
            run(job, pod, env, args);
        } catch (Exception e) {
            refuse(pod, "SimulatorError", String.valueOf(e));
        }
    }

    private void run(Job job, Pod pod, Map<String, String> env, List<String> args) throws IOException, InterruptedException {
        String name = job.getMetadata().getName();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        // the image's own environment (examples/pom.xml, jib: LANG, LC_ALL, PATH), then the Job's
        pb.environment().put("PATH", System.getenv("PATH"));
        pb.environment().put("LANG", "C.UTF-8");
        pb.environment().put("LC_ALL", "C.UTF-8");
        pb.environment().putAll(env);
        Path log = Files.createDirectories(work.resolve(name)).resolve("log.txt");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        started.add(name);
        int now = concurrent.incrementAndGet();
        maxConcurrent.accumulateAndGet(now, Math::max);
        pod = setPod(pod, "Running", null, null, null);
        Process p = pb.start();
        running.put(name, p);
        int code;
        try {
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
            }
            code = p.waitFor();
        } finally {
            concurrent.decrementAndGet();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        logs.put(name, out);
        if (running.remove(name) == null) {
            return; // the Job was deleted: its pod is gone, nothing to report
        }
        // FallbackToLogsOnError: the last 80 lines, at most 2048 bytes, of a failed container's log
        List<String> lines = out.lines().toList();
        String message = String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
        if (message.length() > 2048) {
            message = message.substring(message.length() - 2048);
        }
        setPod(pod, code == 0 ? "Succeeded" : "Failed", code, code == 0 ? null : message, null);
        String t = Instant.now().toString();
        Job latest = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
        if (latest == null) {
            return;
        }
        latest.setStatus(code == 0
                ? new JobStatusBuilder().withSucceeded(1).withStartTime(t).withCompletionTime(t).withConditions(
                        new JobConditionBuilder().withType("SuccessCriteriaMet").withStatus("True").withLastTransitionTime(t).build(),
                        new JobConditionBuilder().withType("Complete").withStatus("True").withLastTransitionTime(t).build()).build()
                : new JobStatusBuilder().withFailed(1).withStartTime(t).withConditions(
                        new JobConditionBuilder().withType("FailureTarget").withStatus("True").withReason("PodFailurePolicy")
                                .withLastTransitionTime(t).build(),
                        new JobConditionBuilder().withType("Failed").withStatus("True").withReason("PodFailurePolicy")
                                .withMessage("Container worker for pod " + namespace + "/" + pod.getMetadata().getName() + " failed with exit"
                                        + " code " + code + " matching FailJob rule at index 1").withLastTransitionTime(t).build()).build());
        client.batch().v1().jobs().inNamespace(namespace).resource(latest).updateStatus();
    }

    private Pod setPod(Pod pod, String phase, Integer exitCode, String message, String reason) {
        Pod latest = client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).get();
        if (latest == null) {
            return pod;
        }
        var status = new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase(phase);
        if (exitCode != null) {
            status.withContainerStatuses(new ContainerStatusBuilder().withName("worker").withState(new ContainerStateBuilder()
                    .withNewTerminated().withExitCode(exitCode).withMessage(message).withReason(exitCode == 0 ? "Completed" : "Error")
                    .endTerminated().build()).build());
        }
        latest.setStatus(status.build());
        return client.pods().inNamespace(namespace).resource(latest).updateStatus();
    }

    /** Leaves the pod Pending with the Event a real cluster would record. */
    private void refuse(Pod pod, String reason, String message) {
        client.v1().events().inNamespace(namespace).resource(new EventBuilder().withNewMetadata()
                .withName(pod.getMetadata().getName() + "." + Long.toHexString(System.nanoTime())).endMetadata()
                .withNewInvolvedObject().withKind("Pod").withName(pod.getMetadata().getName()).withNamespace(namespace).endInvolvedObject()
                .withReason(reason).withMessage(message).withType("Warning").build()).create();
    }

    /** The node the pod is pinned to by a required node affinity on metadata.name, or null. */
    private static String pinnedNode(PodSpec spec) {
        if (spec.getAffinity() == null || spec.getAffinity().getNodeAffinity() == null
                || spec.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution() == null) {
            return null;
        }
        for (NodeSelectorTerm t : spec.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms()) {
            for (NodeSelectorRequirement r : t.getMatchFields()) {
                if (r.getKey().equals("metadata.name") && r.getOperator().equals("In") && r.getValues().size() == 1) {
                    return r.getValues().get(0);
                }
            }
        }
        return null;
    }

    /** The node of a running pod (not the Job's own) that mounts the claim: where its RWO volume is attached. */
    private String attachedNode(String claim, String jobName) {
        for (Pod p : client.pods().inNamespace(namespace).list().getItems()) {
            if (p.getMetadata().getLabels() != null && jobName.equals(p.getMetadata().getLabels().get("job-name"))) {
                continue;
            }
            boolean running = p.getStatus() == null || p.getStatus().getPhase() == null || "Running".equals(p.getStatus().getPhase());
            if (running && p.getSpec().getNodeName() != null && p.getSpec().getVolumes().stream()
                    .anyMatch(v -> v.getPersistentVolumeClaim() != null && claim.equals(v.getPersistentVolumeClaim().getClaimName()))) {
                return p.getSpec().getNodeName();
            }
        }
        return null;
    }

    private static String decode(String b64) {
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        csi.shutdownNow();
        informer.close();
        running.values().forEach(Process::destroyForcibly);
        pool.shutdownNow();
    }
}
