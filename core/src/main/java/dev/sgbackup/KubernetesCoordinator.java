package dev.sgbackup;

import dev.sgbackup.plan.KubernetesManifests;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator of {@code --executor kubernetes}: creates a run's Jobs, at most {@code maxJobs} at once, follows
 * them, and says whether every one succeeded. It follows them with a fabric8 informer on the run's label (which lists,
 * then watches, and lists again when the watch ends or the API server answers {@code 410 Gone}) and, as a backstop
 * for a watch that silently stalls, lists the run's Jobs itself every {@code relist}. A Job whose pod has not started
 * {@code pendingTimeout} after the Job was created is given up, with the events of the Job and its pods (Multi-Attach,
 * FailedScheduling, a missing Secret key…). A failed Job stops the run: the others are deleted, with their pods.
 * Committing or abandoning the backup is the caller's ({@link KubernetesRun}). Package-private, like every class that
 * touches fabric8 (an optional dependency): {@link KubernetesRun} checks the client is there before loading it.
 *
 * <p>One job, so one file (about 430 lines): following a run's Jobs to their end.
 */
final class KubernetesCoordinator implements AutoCloseable {
    static final String LABEL_BACKUP_ID = "sgbackup.dev/backup-id";
    static final String LABEL_NAME = "app.kubernetes.io/name";
    static final String ANNOTATION_STORE = "sgbackup.dev/store";
    /** Finished Jobs of another run older than this are a dead coordinator's: the next run deletes them. */
    static final Duration STALE_AFTER = Duration.ofMinutes(10);

    /** How a run of Jobs ended: all succeeded, or the first step that did not, and why. */
    record Outcome(boolean ok, String failedStep, String message, int apiCalls) {
    }

    private final KubernetesClient client;
    private final String namespace;
    private final PrintStream err;
    private int apiCalls;
    /** The run's CSI snapshots and their clones (none unless set): its own class, called from a few hooks here. */
    private SnapshotClones clones;
    /**
     * What a step has done so far, by its ordinal (its position in the run's Jobs, from 1), e.g. {@code 1.2GiB read},
     * or null when nothing is known: printed with a step's success and, every {@link #progressEvery}, for each step
     * still running. Null (the default): state lines only.
     */
    java.util.function.IntFunction<String> progress;
    Duration progressEvery = Duration.ofSeconds(10);
    /** How often the informer's list-and-watch failed and was started again (e.g. on 410 Gone). */
    final java.util.concurrent.atomic.AtomicInteger informerRestarts = new java.util.concurrent.atomic.AtomicInteger();

    KubernetesCoordinator(KubernetesClient client, String namespace, PrintStream err) {
        this.client = client;
        this.namespace = namespace;
        this.err = err;
        this.clones = SnapshotClones.none(client, namespace, err);
    }

    /** The VolumeSnapshots and clones this run's Jobs read (docs/kubernetes.md, "Placement and consistency"). */
    void snapshots(List<io.fabric8.kubernetes.api.model.HasMetadata> objects) {
        this.clones = new SnapshotClones(client, namespace, err, objects);
    }

    /** The VolumeSnapshots and clone claims among the manifests (a backup's snapshot steps), for the coordinator to create. */
    static List<io.fabric8.kubernetes.api.model.HasMetadata> snapshotObjects(KubernetesManifests.Result r) {
        List<io.fabric8.kubernetes.api.model.HasMetadata> objects = new ArrayList<>();
        for (KubernetesManifests.Manifest m : r.manifests()) {
            if (m.kind().equals("VolumeSnapshot")) {
                objects.add(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(m.yaml(),
                        io.fabric8.kubernetes.api.model.GenericKubernetesResource.class));
            } else if (m.kind().equals("PersistentVolumeClaim")) {
                objects.add(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(m.yaml(),
                        io.fabric8.kubernetes.api.model.PersistentVolumeClaim.class));
            }
        }
        return objects;
    }

    /** The Jobs of {@code KubernetesManifests.Result}'s YAML documents. */
    static List<Job> jobs(List<String> yaml) {
        return yaml.stream().map(y -> io.fabric8.kubernetes.client.utils.Serialization.unmarshal(y, Job.class)).toList();
    }

    /** The store each Job runs (its annotation: labels may have shortened the name). */
    static List<String> stores(List<Job> jobs) {
        return jobs.stream().map(j -> j.getMetadata().getAnnotations().get(ANNOTATION_STORE)).toList();
    }

    /** A client for the kubeconfig's context (kubectl's rules: --kubeconfig, KUBECONFIG, ~/.kube/config), or the pod's account. */
    static KubernetesClient connect(Path kubeconfig, String context) {
        Config cfg;
        try {
            cfg = kubeconfig == null ? Config.autoConfigure(context) : Config.fromKubeconfig(context, kubeconfig.toFile());
        } catch (RuntimeException e) {
            throw new dev.sgbackup.run.InvalidInputException("cannot use " + (kubeconfig == null ? "the kubeconfig or the pod's service"
                    + " account" : "the kubeconfig " + kubeconfig) + " (" + e.getClass().getSimpleName() + "): check it with 'kubectl"
                    + " config view'");
        }
        cfg.setRequestRetryBackoffLimit(3);
        cfg.setConnectionTimeout(10_000);
        cfg.setRequestTimeout(30_000);
        return new KubernetesClientBuilder().withConfig(cfg).build();
    }

    /**
     * Before a run: finished Jobs of other sgbackup runs whose last one ended more than {@link #STALE_AFTER} ago are a
     * dead coordinator's and are deleted (their data, without a manifest, is a leftover {@code prune} removes after
     * its grace period). Active Jobs of another run refuse this one: a concurrent run or a dead coordinator's workers
     * still running; the message says how to remove them.
     */
    void cleanUpOtherRuns(String backupId) {
        Map<String, List<Job>> byRun = new LinkedHashMap<>();
        apiCalls++;
        for (Job j : client.batch().v1().jobs().inNamespace(namespace).withLabel(LABEL_NAME, "sgbackup").list().getItems()) {
            String id = j.getMetadata().getLabels().get(LABEL_BACKUP_ID);
            if (id != null && !id.equals(backupId)) {
                byRun.computeIfAbsent(id, k -> new ArrayList<>()).add(j);
            }
        }
        for (Map.Entry<String, List<Job>> e : byRun.entrySet()) {
            List<Job> active = e.getValue().stream().filter(j -> state(j) == State.ACTIVE).toList();
            if (!active.isEmpty()) {
                throw new dev.sgbackup.run.InvalidInputException("namespace " + namespace + " has " + active.size() + " active Job(s) of"
                        + " another sgbackup run (backup " + e.getKey() + ", e.g. " + active.get(0).getMetadata().getName() + "): a run"
                        + " in progress, or the workers of a coordinator that died. Wait for it, or remove them with 'kubectl delete"
                        + " jobs -n " + namespace + " -l " + LABEL_BACKUP_ID + "=" + e.getKey() + "'");
            }
            Instant last = e.getValue().stream().map(KubernetesCoordinator::finishedAt).filter(Objects::nonNull).max(Instant::compareTo)
                    .orElse(Instant.EPOCH);
            if (last.isBefore(Instant.now().minus(STALE_AFTER))) {
                deleteRun(e.getKey());
                err.println("removed " + e.getValue().size() + " finished Job(s) of an earlier run (backup " + e.getKey() + ") whose"
                        + " coordinator did not; its data, if never committed, is a leftover 'sgbackup prune' removes after the grace period");
            }
        }
        clones.cleanUpOtherRuns(backupId);
    }

    /**
     * Runs {@code jobs} (one per step, in plan order) for run {@code runId}: at most {@code maxJobs} at once; returns
     * when all succeeded, or at the first failure (then the others are deleted). Interrupted: deletes the run's Jobs
     * and throws {@link InterruptedException}.
     */
    Outcome run(String runId, List<Job> jobs, int maxJobs, Duration pendingTimeout, Duration relist) throws InterruptedException {
        Deque<Job> queue = new ArrayDeque<>(jobs);
        Map<String, String> stores = new LinkedHashMap<>();
        jobs.forEach(j -> stores.put(j.getMetadata().getName(), j.getMetadata().getAnnotations().get(ANNOTATION_STORE)));
        Map<String, Integer> ordinals = new LinkedHashMap<>();
        jobs.forEach(j -> ordinals.put(j.getMetadata().getName(), ordinals.size() + 1));
        Map<String, Instant> created = new LinkedHashMap<>();
        Map<String, State> states = new LinkedHashMap<>();
        BlockingQueue<Job> events = new LinkedBlockingQueue<>();
        ResourceEventHandler<Job> handler = new ResourceEventHandler<>() {
            @Override
            public void onAdd(Job j) {
                events.add(j);
            }

            @Override
            public void onUpdate(Job before, Job after) {
                events.add(after);
            }

            @Override
            public void onDelete(Job j, boolean unknownFinalState) {
                // deleted by someone else while we wait: a failure unless it had succeeded
                events.add(new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder(j).editMetadata().addToAnnotations("sgbackup.dev/deleted",
                        "true").endMetadata().build());
            }
        };
        apiCalls += 2; // the informer's list and watch (and one more of each per re-list)
        SharedIndexInformer<Job> informer = client.batch().v1().jobs().inNamespace(namespace).withLabel(LABEL_BACKUP_ID, runId)
                .runnableInformer(0);
        // a watch that fails (410 Gone: the resource version it resumes from is too old; a dropped connection) makes
        // the informer list again and watch anew, also before its first watch is up: never give up on it
        informer.addEventHandler(handler).exceptionHandler((isStarted, t) -> {
            informerRestarts.incrementAndGet();
            return true;
        });
        informer.start(); // not awaited: the loop below does not depend on it (its backstop list covers a slow start)
        boolean finished = false;
        try {
            int running = 0;
            int succeeded = 0;
            Instant nextList = Instant.now().plus(relist);
            Instant nextPendingCheck = Instant.now().plus(Duration.ofSeconds(1));
            Instant nextProgress = Instant.now().plus(progressEvery);
            while (succeeded < jobs.size()) {
                while (running < maxJobs && !queue.isEmpty()) {
                    Job j = queue.poll();
                    String notReady = clones.prepare(j, pendingTimeout); // a snapshot step: its snapshot and clone first
                    if (notReady != null) {
                        err.println("step " + stores.get(j.getMetadata().getName()) + ": failed: " + notReady);
                        deleteRun(runId);
                        finished = true;
                        return new Outcome(false, stores.get(j.getMetadata().getName()), notReady, apiCalls + clones.apiCalls());
                    }
                    apiCalls++;
                    client.batch().v1().jobs().inNamespace(namespace).resource(j).create();
                    created.put(j.getMetadata().getName(), Instant.now());
                    states.put(j.getMetadata().getName(), State.ACTIVE);
                    running++;
                    err.println("step " + stores.get(j.getMetadata().getName()) + ": Job " + j.getMetadata().getName() + " created");
                }
                List<Job> seen = new ArrayList<>();
                Job first = events.poll(200, TimeUnit.MILLISECONDS);
                if (first != null) {
                    seen.add(first);
                    events.drainTo(seen);
                }
                if (!Instant.now().isBefore(nextList)) {
                    // the backstop: what the API server says now, whatever the watch delivered
                    apiCalls++;
                    seen.addAll(client.batch().v1().jobs().inNamespace(namespace).withLabel(LABEL_BACKUP_ID, runId).list().getItems());
                    nextList = Instant.now().plus(relist);
                }
                for (Job j : seen) {
                    String name = j.getMetadata().getName();
                    if (states.get(name) != State.ACTIVE) {
                        continue; // not ours, not created yet, or already decided
                    }
                    State st = "true".equals(j.getMetadata().getAnnotations() == null ? null
                            : j.getMetadata().getAnnotations().get("sgbackup.dev/deleted")) ? State.FAILED : state(j);
                    if (st == State.SUCCEEDED || st == State.FAILED) {
                        clones.release(name);
                    }
                    if (st == State.SUCCEEDED) {
                        states.put(name, st);
                        running--;
                        succeeded++;
                        String done = progress == null ? null : progress.apply(ordinals.get(name));
                        err.println("step " + stores.get(name) + ": succeeded (" + succeeded + "/" + jobs.size() + ")"
                                + (done == null ? "" : ", " + done));
                    } else if (st == State.FAILED) {
                        states.put(name, st);
                        String why = failure(j);
                        err.println("step " + stores.get(name) + ": failed: " + why);
                        deleteRun(runId);
                        finished = true;
                        return new Outcome(false, stores.get(name), why, apiCalls);
                    }
                }
                if (progress != null && !Instant.now().isBefore(nextProgress)) {
                    nextProgress = Instant.now().plus(progressEvery);
                    for (Map.Entry<String, State> e : states.entrySet()) {
                        String so = e.getValue() == State.ACTIVE ? progress.apply(ordinals.get(e.getKey())) : null;
                        if (so != null) {
                            err.println("step " + stores.get(e.getKey()) + ": running, " + so);
                        }
                    }
                }
                if (!Instant.now().isBefore(nextPendingCheck)) {
                    nextPendingCheck = Instant.now().plus(Duration.ofSeconds(1));
                    for (Map.Entry<String, Instant> c : created.entrySet()) {
                        if (states.get(c.getKey()) == State.ACTIVE && c.getValue().plus(pendingTimeout).isBefore(Instant.now())
                                && !started(c.getKey())) {
                            String why = "its pod did not start within " + pendingTimeout.toSeconds() + "s: " + events(c.getKey());
                            err.println("step " + stores.get(c.getKey()) + ": given up: " + why);
                            deleteRun(runId);
                            finished = true;
                            return new Outcome(false, stores.get(c.getKey()), why, apiCalls);
                        }
                    }
                }
            }
            finished = true;
            return new Outcome(true, null, null, apiCalls + clones.apiCalls());
        } finally {
            informer.close();
            if (!finished) {
                // interrupted (or an unexpected failure): no Job of this run may go on writing
                boolean wasInterrupted = Thread.interrupted();
                try {
                    deleteRun(runId);
                } catch (RuntimeException e) {
                    err.println("warning: could not delete the Jobs of this run (" + e.getMessage() + "): 'kubectl delete jobs -n "
                            + namespace + " -l " + LABEL_BACKUP_ID + "=" + runId + "'");
                } finally {
                    if (wasInterrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }

    /** A run's Jobs in the namespace: how many, and how many have not finished. */
    record RunJobs(String backupId, int jobs, int active) {
    }

    /** The namespace's sgbackup Jobs by run (their backup id label), for prune. */
    List<RunJobs> runs() {
        Map<String, int[]> byRun = new LinkedHashMap<>();
        apiCalls++;
        for (Job j : client.batch().v1().jobs().inNamespace(namespace).withLabel(LABEL_NAME, "sgbackup").list().getItems()) {
            String id = j.getMetadata().getLabels().get(LABEL_BACKUP_ID);
            if (id != null) {
                int[] n = byRun.computeIfAbsent(id, k -> new int[2]);
                n[0]++;
                n[1] += state(j) == State.ACTIVE ? 1 : 0;
            }
        }
        List<RunJobs> out = new ArrayList<>();
        byRun.forEach((id, n) -> out.add(new RunJobs(id, n[0], n[1])));
        return out;
    }

    /** Deletes every Job of the run, with its pods. */
    void deleteRun(String runId) {
        apiCalls++;
        // one by one, by name: the Role grants delete, not deletecollection
        for (Job j : client.batch().v1().jobs().inNamespace(namespace).withLabel(LABEL_BACKUP_ID, runId).list().getItems()) {
            apiCalls++;
            client.batch().v1().jobs().inNamespace(namespace).withName(j.getMetadata().getName())
                    .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
        }
        clones.deleteRun(runId);
    }

    int apiCalls() {
        return apiCalls + clones.apiCalls();
    }

    enum State { ACTIVE, SUCCEEDED, FAILED }

    static State state(Job j) {
        if (j.getStatus() == null) {
            return State.ACTIVE;
        }
        for (JobCondition c : j.getStatus().getConditions()) {
            if ("True".equals(c.getStatus()) && "Complete".equals(c.getType())) {
                return State.SUCCEEDED;
            }
            if ("True".equals(c.getStatus()) && "Failed".equals(c.getType())) {
                return State.FAILED;
            }
        }
        return State.ACTIVE;
    }

    private static Instant finishedAt(Job j) {
        if (j.getStatus() == null) {
            return null;
        }
        String t = j.getStatus().getCompletionTime();
        if (t == null) {
            t = j.getStatus().getConditions().stream().filter(c -> "True".equals(c.getStatus())).map(JobCondition::getLastTransitionTime)
                    .filter(Objects::nonNull).findFirst().orElse(null);
        }
        try {
            return t == null ? null : Instant.parse(t);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Why a Job failed: its Failed condition, and its worker's termination message (the last lines of its log). */
    private String failure(Job j) {
        if (j.getStatus() == null) {
            return "its Job was deleted before it finished";
        }
        String cond = j.getStatus().getConditions().stream().filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()))
                .map(c -> c.getReason() + (c.getMessage() == null ? "" : ": " + c.getMessage())).findFirst()
                .orElse("its Job was deleted before it finished");
        String message = null;
        try {
            for (Pod p : pods(j.getMetadata().getName())) {
                for (ContainerStatus cs : p.getStatus() == null ? List.<ContainerStatus>of() : p.getStatus().getContainerStatuses()) {
                    if (cs.getState() != null && cs.getState().getTerminated() != null && cs.getState().getTerminated().getMessage() != null) {
                        message = cs.getState().getTerminated().getMessage().strip();
                    }
                }
            }
        } catch (KubernetesClientException e) {
            message = null;
        }
        return cond + (message == null || message.isEmpty() ? "" : "; the worker said: " + lastLines(message, 5));
    }

    private List<Pod> pods(String jobName) {
        apiCalls++;
        return client.pods().inNamespace(namespace).withLabel("job-name", jobName).list().getItems();
    }

    /** Whether the Job's pod is past Pending (running, or finished). */
    private boolean started(String jobName) {
        return pods(jobName).stream().anyMatch(p -> p.getStatus() != null && p.getStatus().getPhase() != null
                && !"Pending".equals(p.getStatus().getPhase()));
    }

    /** The events of the Job and its pods, oldest first, as {@code Reason: message}. */
    private String events(String jobName) {
        List<String> names = new ArrayList<>(List.of(jobName));
        pods(jobName).forEach(p -> names.add(p.getMetadata().getName()));
        apiCalls++;
        List<String> out = new ArrayList<>();
        for (Event e : client.v1().events().inNamespace(namespace).list().getItems()) {
            if (e.getInvolvedObject() != null && names.contains(e.getInvolvedObject().getName())) {
                out.add(e.getReason() + ": " + e.getMessage());
            }
        }
        return out.isEmpty() ? "no events (is a node free for it, and its image pullable?)" : String.join("; ", out);
    }

    private static String lastLines(String s, int n) {
        List<String> lines = s.lines().toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }

    @Override
    public void close() {
        client.close();
    }
}
