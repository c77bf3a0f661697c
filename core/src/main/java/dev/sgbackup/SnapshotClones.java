package dev.sgbackup;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CSI-snapshot data mover of a backup run (Velero's pattern, docs/kubernetes.md "Placement and consistency"):
 * before a volume step's Job, a VolumeSnapshot of the step's claim is taken and, once {@code readyToUse}, cloned into
 * a new claim that the Job mounts read-only, unpinned; after the step, and whenever the run's Jobs are deleted, the
 * clone and the snapshot go too. Kept apart from {@link KubernetesCoordinator}, which only calls its hooks.
 * The objects come built from {@code KubernetesManifests} ({@code VolumeSnapshot} and {@code PersistentVolumeClaim}
 * manifests named as their step's Job); a run with none (a restore, {@code --snapshots off}, no snapshot class)
 * touches no snapshot.
 */
final class SnapshotClones {
    static final String GROUP = "snapshot.storage.k8s.io";
    /** VolumeSnapshots, namespaced; through fabric8's generic API (no typed snapshot client is bundled). */
    static final ResourceDefinitionContext SNAPSHOTS = new ResourceDefinitionContext.Builder().withGroup(GROUP).withVersion("v1")
            .withKind("VolumeSnapshot").withPlural("volumesnapshots").withNamespaced(true).build();
    private static final Duration POLL = Duration.ofMillis(500);

    private final KubernetesClient client;
    private final String namespace;
    private final PrintStream err;
    /** By the name of the Job that reads them (which they share). */
    private final Map<String, GenericKubernetesResource> snapshots = new LinkedHashMap<>();
    private final Map<String, PersistentVolumeClaim> clones = new LinkedHashMap<>();
    private int apiCalls;

    SnapshotClones(KubernetesClient client, String namespace, PrintStream err, List<HasMetadata> objects) {
        this.client = client;
        this.namespace = namespace;
        this.err = err;
        for (HasMetadata o : objects) {
            if (o instanceof GenericKubernetesResource g && "VolumeSnapshot".equals(g.getKind())) {
                snapshots.put(g.getMetadata().getName(), g);
            } else if (o instanceof PersistentVolumeClaim p) {
                clones.put(p.getMetadata().getName(), p);
            }
        }
    }

    /** No snapshot: every hook does nothing. */
    static SnapshotClones none(KubernetesClient client, String namespace, PrintStream err) {
        return new SnapshotClones(client, namespace, err, List.of());
    }

    boolean any() {
        return !snapshots.isEmpty();
    }

    int apiCalls() {
        return apiCalls;
    }

    /**
     * Before Job {@code job} is created: its snapshot, taken and ready within {@code timeout}, and its clone. Returns
     * null when the Job may be created (also when it reads no snapshot), else why not: the snapshot's
     * {@code status.error.message}, or that it was not ready in time.
     */
    String prepare(Job job, Duration timeout) throws InterruptedException {
        String name = job.getMetadata().getName();
        GenericKubernetesResource snap = snapshots.get(name);
        PersistentVolumeClaim clone = clones.get(name);
        if (snap == null || clone == null) {
            return null;
        }
        String source = String.valueOf(path(snap.getAdditionalProperties(), "spec", "source", "persistentVolumeClaimName"));
        apiCalls++;
        client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).resource(snap).create();
        err.println("step " + store(job) + ": VolumeSnapshot " + name + " of PVC " + source + " created");
        Instant deadline = Instant.now().plus(timeout);
        GenericKubernetesResource s;
        while (true) {
            apiCalls++;
            s = client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).withName(name).get();
            if (s == null) {
                return "VolumeSnapshot " + name + " of PVC " + source + " was deleted before it was ready";
            }
            Object error = path(s.getAdditionalProperties(), "status", "error", "message");
            if (error != null) {
                return "VolumeSnapshot " + name + " of PVC " + source + " failed: " + error;
            }
            if (Boolean.TRUE.equals(path(s.getAdditionalProperties(), "status", "readyToUse"))) {
                break;
            }
            if (!Instant.now().isBefore(deadline)) {
                return "VolumeSnapshot " + name + " of PVC " + source + " was not ready to use within " + timeout.toSeconds() + "s";
            }
            Thread.sleep(POLL.toMillis());
        }
        // the clone must be at least as large as the snapshot's restore size (the claim may have grown since discovery)
        Object restoreSize = path(s.getAdditionalProperties(), "status", "restoreSize");
        Quantity wanted = clone.getSpec().getResources().getRequests().get("storage");
        if (restoreSize != null && Quantity.getAmountInBytes(new Quantity(restoreSize.toString()))
                .compareTo(Quantity.getAmountInBytes(wanted)) > 0) {
            clone = new PersistentVolumeClaimBuilder(clone).editSpec().editResources().addToRequests("storage",
                    new Quantity(restoreSize.toString())).endResources().endSpec().build();
        }
        apiCalls++;
        client.persistentVolumeClaims().inNamespace(namespace).resource(clone).create();
        err.println("step " + store(job) + ": snapshot " + name + " ready; PVC " + name + " cloned from it (point-in-time)");
        return null;
    }

    /** After Job {@code jobName} finished (succeeded or failed): its clone and snapshot are no longer needed. */
    void release(String jobName) {
        if (!snapshots.containsKey(jobName)) {
            return;
        }
        apiCalls += 2;
        client.persistentVolumeClaims().inNamespace(namespace).withName(jobName).delete();
        client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).withName(jobName).delete();
    }

    /** Deletes every clone and snapshot of the run (by its label), one by one by name: no deletecollection. */
    void deleteRun(String runId) {
        if (!any()) {
            return;
        }
        deleteByLabel(runId);
    }

    private int deleteByLabel(String runId) {
        int n = 0;
        apiCalls += 2;
        for (PersistentVolumeClaim p : client.persistentVolumeClaims().inNamespace(namespace)
                .withLabel(KubernetesCoordinator.LABEL_BACKUP_ID, runId).list().getItems()) {
            apiCalls++;
            client.persistentVolumeClaims().inNamespace(namespace).withName(p.getMetadata().getName()).delete();
            n++;
        }
        for (GenericKubernetesResource s : client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace)
                .withLabel(KubernetesCoordinator.LABEL_BACKUP_ID, runId).list().getItems()) {
            apiCalls++;
            client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace).withName(s.getMetadata().getName()).delete();
            n++;
        }
        return n;
    }

    /**
     * Before a run, after the Jobs' check ({@link KubernetesCoordinator#cleanUpOtherRuns}, which refuses a run while
     * another has active Jobs): snapshots and clones of another run are a dead coordinator's when the newest is older
     * than {@link KubernetesCoordinator#STALE_AFTER}, and are deleted; a newer one is a run between two Jobs and
     * refuses this one. A run without snapshots tries the same and passes quietly when its Role may not (403) or the
     * cluster has no snapshot API (404).
     */
    void cleanUpOtherRuns(String runId) {
        Map<String, Instant> newest = new LinkedHashMap<>();
        try {
            List<HasMetadata> all = new ArrayList<>();
            apiCalls += 2;
            all.addAll(client.persistentVolumeClaims().inNamespace(namespace).withLabel(KubernetesCoordinator.LABEL_NAME, "sgbackup")
                    .list().getItems());
            all.addAll(client.genericKubernetesResources(SNAPSHOTS).inNamespace(namespace)
                    .withLabel(KubernetesCoordinator.LABEL_NAME, "sgbackup").list().getItems());
            for (HasMetadata o : all) {
                String id = o.getMetadata().getLabels().get(KubernetesCoordinator.LABEL_BACKUP_ID);
                if (id == null || id.equals(runId)) {
                    continue;
                }
                Instant created = created(o);
                newest.merge(id, created, (a, b) -> a.isAfter(b) ? a : b);
            }
        } catch (KubernetesClientException e) {
            if (!any() && (e.getCode() == 403 || e.getCode() == 404)) {
                return;
            }
            throw e;
        }
        for (Map.Entry<String, Instant> e : newest.entrySet()) {
            if (e.getValue().isAfter(Instant.now().minus(KubernetesCoordinator.STALE_AFTER))) {
                throw new dev.sgbackup.run.InvalidInputException("namespace " + namespace + " has a VolumeSnapshot or snapshot clone of"
                        + " another sgbackup run (backup " + e.getKey() + ") made less than " + KubernetesCoordinator.STALE_AFTER.toMinutes()
                        + " minutes ago: a run in progress. Wait for it, or remove them with 'kubectl delete volumesnapshots,pvc -n "
                        + namespace + " -l " + KubernetesCoordinator.LABEL_BACKUP_ID + "=" + e.getKey() + "'");
            }
            int n = deleteByLabel(e.getKey());
            err.println("removed " + n + " VolumeSnapshot(s) and snapshot clone(s) of an earlier run (backup " + e.getKey() + ") whose"
                    + " coordinator did not");
        }
    }

    private static Instant created(HasMetadata o) {
        try {
            return o.getMetadata().getCreationTimestamp() == null ? Instant.EPOCH : Instant.parse(o.getMetadata().getCreationTimestamp());
        } catch (RuntimeException e) {
            return Instant.EPOCH;
        }
    }

    private static String store(Job j) {
        return j.getMetadata().getAnnotations().get(KubernetesCoordinator.ANNOTATION_STORE);
    }

    @SuppressWarnings("unchecked")
    private static Object path(Map<String, Object> m, String... keys) {
        Object o = m;
        for (String k : keys) {
            if (!(o instanceof Map)) {
                return null;
            }
            o = ((Map<String, Object>) o).get(k);
        }
        return o;
    }
}
