package dev.sgbackup;

import dev.sgbackup.manifest.Retention;
import dev.sgbackup.plan.InstanceDescription;
import dev.sgbackup.plan.KubernetesManifests;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.KubernetesOptions;
import dev.sgbackup.run.Operation;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.RestoreOptions;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A plan run by {@link dev.sgbackup.run.Executor#kubernetes}: its steps as Jobs ({@link KubernetesManifests}), run and
 * followed by the {@link KubernetesCoordinator}; a backup is started (its wrapped data key in the sink when
 * encrypted), committed from the step records only when every Job succeeded, and otherwise abandoned: the Jobs
 * deleted, what the steps wrote removed, no manifest (docs/kubernetes.md). Names no fabric8 type itself; it checks
 * the client is on the class path before it loads the coordinator.
 */
final class KubernetesRun {
    /** What the coordinator needs of fabric8: the client, its OkHttp transport, the Job model. */
    static final List<String> CLIENT_CLASSES = List.of("io.fabric8.kubernetes.client.KubernetesClientBuilder",
            "io.fabric8.kubernetes.client.okhttp.OkHttpClientFactory", "io.fabric8.kubernetes.api.model.batch.v1.Job");
    static final String MISSING = "the Kubernetes executor needs io.fabric8:kubernetes-client (with"
            + " io.fabric8:kubernetes-httpclient-okhttp) on the classpath, an optional dependency of sgbackup-core; the CLI bundles it";
    /** The coordinator lists its Jobs itself this often, whatever the watch delivers; tests shorten it. */
    static Duration relist = Duration.ofSeconds(30);
    /** How often the coordinator prints each running step's bytes (system property sgbackup.kubernetes.progressEvery). */
    static Duration progressEvery = duration("sgbackup.kubernetes.progressEvery", Duration.ofSeconds(10));

    private KubernetesRun() {
    }

    private static Duration duration(String property, Duration otherwise) {
        String v = System.getProperty(property);
        try {
            return v == null ? otherwise : Retention.parseDuration(v);
        } catch (InvalidInputException e) {
            return otherwise;
        }
    }

    /** Refuses, with one message naming the missing dependency, when the client is not on the class path. */
    static void requireClient(List<String> classes) {
        for (String c : classes) {
            try {
                Class.forName(c, false, KubernetesRun.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new InvalidInputException(MISSING);
            }
        }
    }

    /**
     * @param dedup     the engine's {@code dedup}, {@code forceRead} and {@code retryLock}: the workers' too (a deduplicated
     *                  backup's coordinator holds its lease from the begin to the commit, each worker its own meanwhile)
     */
    static RunResult backup(SgBackup sg, InstanceDescription d, Scope scope, KubernetesOptions k, String compression, boolean encrypt,
                            boolean dedup, boolean forceRead, Duration retryLock) {
        requireClient(CLIENT_CLASSES);
        MigrationPlan plan = KubernetesManifests.backupPlan(d, scope, workerSink(sg, k), compression);
        String id = KubernetesManifests.newBackupId(Instant.now());
        KubernetesManifests.Options o = options(k, compression, encrypt);
        o = new KubernetesManifests.Options(o.namespace(), o.image(), o.imagePullSecrets(), o.serviceAccount(), o.workerSecret(),
                o.jobTimeout(), o.coordinatorAccount(), o.compression(), o.encrypt(), dedup, dedup && forceRead, dedup ? retryLock : null);
        KubernetesManifests.Result r = KubernetesManifests.of(d, plan, id, o, k.snapshots());
        return coordinate(sg, plan, r, true, k);
    }

    static RunResult restore(SgBackup sg, InstanceDescription d, String backupId, RestoreOptions options, Phase phase, KubernetesOptions k) {
        requireClient(CLIENT_CLASSES);
        if (phase == Phase.ALL || phase == Phase.CONFIG) {
            // the databases' and the volumes' Jobs would all start at once, skipping the checkpoint between them
            // (workloads scaled down) that the operator must pass: one phase per run
            throw new InvalidInputException("a restore through Jobs runs one phase at a time: the databases (the instance scaled"
                    + " down), then the volumes (after the checkpoint it prints); the configuration comes with the frontend database");
        }
        MigrationPlan plan = KubernetesManifests.restorePlan(d, backupId, workerSink(sg, k), options, phase);
        KubernetesManifests.Result r = KubernetesManifests.of(d, plan, backupId, options(k, null, false), KubernetesOptions.Snapshots.OFF);
        return coordinate(sg, plan, r, false, k);
    }

    /** The sink URI the workers open: the options', else the engine's without its query (endpoint, region). */
    private static String workerSink(SgBackup sg, KubernetesOptions k) {
        if (k.sink() != null) {
            return k.sink();
        }
        String u = sg.sink().uri().toString();
        return u.contains("?") ? u.substring(0, u.indexOf('?')) : u;
    }

    private static KubernetesManifests.Options options(KubernetesOptions k, String compression, boolean encrypt) {
        if (k.image() == null) {
            throw new InvalidInputException("the Kubernetes executor needs the image its Jobs run (KubernetesOptions.of(namespace, image))");
        }
        return new KubernetesManifests.Options(k.namespace(), k.image(), k.imagePullSecrets(), k.serviceAccount(), k.workerSecret(),
                k.jobTimeout(), "sgbackup", compression, encrypt);
    }

    /**
     * The coordinator: the plan's Jobs in the cluster, followed to the end (docs/kubernetes.md). A backup is started
     * (its wrapped data key in the sink when encrypted), committed from the step records only when every Job
     * succeeded, and otherwise abandoned: the Jobs deleted, what the steps wrote removed, no manifest.
     */
    private static RunResult coordinate(SgBackup sg, MigrationPlan plan, KubernetesManifests.Result r, boolean backup, KubernetesOptions k) {
        PrintStream err = lines(k.messages());
        var jobs = KubernetesCoordinator.jobs(r.manifests().stream().filter(m -> m.kind().equals("Job")).map(KubernetesManifests.Manifest::yaml)
                .toList());
        List<String> stores = KubernetesCoordinator.stores(jobs);
        String id = r.backupId();
        int maxJobs = k.maxJobs();
        plan.notes().forEach(n -> err.println("note: " + n));
        r.notes().forEach(n -> err.println("note: " + n));
        Instant started = Instant.now();
        try (KubernetesCoordinator c = new KubernetesCoordinator(KubernetesCoordinator.connect(k.kubeconfig(), k.context()), k.namespace(),
                err)) {
            c.snapshots(KubernetesCoordinator.snapshotObjects(r));
            c.cleanUpOtherRuns(id);
            if (backup) {
                sg.beginStepBackup(id);
                // each running step's bytes from the progress object its worker writes, a finished one's from its record
                c.progress = ordinal -> bytes(sg, id, ordinal);
                c.progressEvery = progressEvery;
            }
            KubernetesCoordinator.Outcome out;
            try {
                err.println((backup ? "backup " : "restore of backup ") + id + ": " + jobs.size() + " Jobs, at most " + maxJobs + " at once");
                out = c.run(id, jobs, maxJobs, k.pendingTimeout(), relist);
            } catch (InterruptedException | RuntimeException | Error e) {
                if (backup) {
                    abandon(err, sg, id); // also ends a deduplicated backup's lease
                }
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new CancelledException((backup ? "backup " : "restore ") + "cancelled: its Jobs were deleted"
                            + (backup ? "; nothing was committed" : ""));
                }
                if (e instanceof Error x) {
                    throw x;
                }
                throw (RuntimeException) e;
            }
            if (!out.ok()) {
                if (backup) {
                    abandon(err, sg, id);
                }
                throw new StoreException("step " + out.failedStep() + " failed: " + out.message() + "; the other Jobs were deleted"
                        + (backup ? "; nothing was committed" : "; the stores whose steps succeeded hold the backup's data, the others"
                        + " may be partly written"));
            }
            if (!backup) {
                c.deleteRun(id);
                List<StepResult> steps = new ArrayList<>();
                List<PlanStep> planned = plan.steps().stream().filter(p -> p.action() != PlanStep.Action.SKIP).toList();
                for (int i = 0; i < stores.size(); i++) {
                    steps.add(new StepResult(stores.get(i), planned.get(i).kind(), StepResult.Status.COMPLETED, 0, -1, -1, Duration.ZERO,
                            null, List.of()));
                }
                err.println("restored " + stores.size() + " steps of backup " + id + " through Jobs (" + out.apiCalls() + " API calls)");
                return new RunResult(Operation.RESTORE, id, false, steps, Duration.between(started, Instant.now()));
            }
            RunResult result;
            try {
                result = sg.commitStepBackup(id, started, plan.scope(), stores);
            } catch (RuntimeException | Error e) {
                abandon(err, sg, id);
                throw e;
            } finally {
                c.deleteRun(id);
            }
            err.println("committed " + id + " from " + stores.size() + " step records (" + c.apiCalls() + " API calls)");
            return result;
        }
    }

    /**
     * Prune's part in the cluster: the Jobs of every sgbackup run in the namespace none of whose Jobs is active are
     * deleted (a live coordinator deletes its Jobs as soon as they have all finished, so such Jobs are a dead one's, or
     * the last moments of one that is committing and no longer needs them); the runs with an active Job are named and
     * left alone.
     */
    static dev.sgbackup.run.JobsPruned pruneJobs(KubernetesOptions k, boolean dryRun) {
        requireClient(CLIENT_CLASSES);
        java.util.Map<String, Integer> removed = new java.util.LinkedHashMap<>();
        java.util.Map<String, Integer> active = new java.util.LinkedHashMap<>();
        try (KubernetesCoordinator c = new KubernetesCoordinator(KubernetesCoordinator.connect(k.kubeconfig(), k.context()), k.namespace(),
                lines(k.messages()))) {
            for (KubernetesCoordinator.RunJobs r : c.runs()) {
                if (r.active() > 0) {
                    active.put(r.backupId(), r.active());
                    continue;
                }
                if (!dryRun) {
                    c.deleteRun(r.backupId());
                }
                removed.put(r.backupId(), r.jobs());
            }
        }
        return new dev.sgbackup.run.JobsPruned(k.namespace(), dryRun, removed, active);
    }

    /** What a backup step has read so far, e.g. {@code 1.2GiB read}, or null when its worker has written nothing yet. */
    private static String bytes(SgBackup sg, String id, int ordinal) {
        try {
            OptionalLong b = sg.stepBytes(id, ordinal);
            return b.isPresent() ? Sizes.human(b.getAsLong()) + " read" : null;
        } catch (RuntimeException e) {
            return null; // progress is best effort: a sink hiccup is no reason to stop the run
        }
    }

    private static void abandon(PrintStream err, SgBackup sg, String id) {
        try {
            long n = sg.abandonStepBackup(id);
            err.println("removed " + n + " objects the steps of " + id + " wrote");
        } catch (RuntimeException e) {
            err.println("warning: " + e.getMessage());
        }
    }

    /** A print stream handing each line to {@code sink}. */
    static PrintStream lines(Consumer<String> sink) {
        return new PrintStream(new OutputStream() {
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();

            @Override
            public synchronized void write(int b) {
                if (b == '\n') {
                    sink.accept(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                } else if (b != '\r') {
                    line.write(b);
                }
            }
        }, true, StandardCharsets.UTF_8);
    }
}
