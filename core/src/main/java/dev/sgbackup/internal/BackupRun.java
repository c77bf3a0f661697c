package dev.sgbackup.internal;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.Operation;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The backup run: a new backup id and data key, every store's step scheduled (each writes its artifacts through
 * the pipeline straight to the sink), then the commit — the manifest is written last and only when every step
 * succeeded. On any failure the run writes no manifest and removes what its steps wrote.
 */
final class BackupRun {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final RunContext ctx;
    private final StepExecutor executor;

    BackupRun(RunContext ctx, StepExecutor executor) {
        this.ctx = ctx;
        this.executor = executor;
    }

    RunResult run(MigrationPlan plan, CheckReport checks) {
        Instant started = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String id = Layout.newBackupId(started);
        long total = plan.steps().stream().mapToLong(s -> Math.max(0, s.estimatedSize())).sum();
        Progress progress = ctx.progress(total > 0 ? total : -1, -1);
        // a deduplicated backup holds a shared lease from before it loads any index until its manifest is committed
        // (or it failed): garbage collection needs the exclusive one, so it never deletes a chunk this backup may use
        Lease lease = ctx.dedup().enabled() ? Lease.shared(ctx.sink(), "backup " + id, ctx.dedup().retryLock()) : null;
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "backup " + id);
        try {
            return run(plan, checks, id, started, progress, lease);
        } finally {
            if (lease != null) {
                lease.close();
            }
        }
    }

    private RunResult run(MigrationPlan plan, CheckReport checks, String id, Instant started, Progress progress, Lease lease) {
        Map<String, StoreBackup> doneByName = new ConcurrentHashMap<>();
        Set<String> written = ConcurrentHashMap.newKeySet();
        List<StepScheduler.Step> steps = new ArrayList<>();
        // a dedup backup's checks opened the repository: its key object's key-encryption key wraps this data key too
        Encryption.DataKey dataKey = ctx.keys().newDataKey();
        for (DataStore store : plan.stores()) {
            int ordinal = steps.size() + 1;
            steps.add(new StepScheduler.Step(store.name(), store.kind().id(), () -> {
                StepExecutor.BackupRecord r = executor.backup(id, ordinal, store, dataKey, progress, written);
                doneByName.put(store.name(), r.stored());
                return r.result();
            }));
        }
        StepScheduler.Outcome outcome = new StepScheduler(ctx.stepParallelism()).run(steps);
        List<StepResult> results = outcome.results();
        Throwable failure = outcome.failure();
        String failedStep = outcome.failedStep();
        List<StoreBackup> done = new ArrayList<>();
        for (DataStore store : plan.stores()) {
            if (doneByName.containsKey(store.name())) {
                done.add(doneByName.get(store.name()));
            }
        }
        if (failure == null && Thread.currentThread().isInterrupted()) {
            failure = new CancelledException("interrupted");
            failedStep = "(interrupted)";
        }
        if (failure == null) {
            try {
                if (lease != null) {
                    lease.check(); // lost (e.g. this process was suspended past its lease): a prune may have run; commit nothing
                }
                commit(new Manifest(Manifest.FORMAT_VERSION, id, started, Instant.now().truncatedTo(ChronoUnit.MILLIS), Manifest.currentToolVersion(),
                        plan.scope().id(), ctx.compression().toString(), dataKey == null ? Map.of() : dataKey.parameters(), done), dataKey);
            } catch (Throwable t) {
                failure = t;
                failedStep = "manifest";
            }
        }
        RunResult result = new RunResult(Operation.BACKUP, id, failure == null, results, Duration.between(started, Instant.now()), checks);
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, failure == null ? "committed " + id : "not committed");
        if (failure != null) {
            cleanup(written);
            throw Failures.backup(failure, failedStep).withRunResult(result);
        }
        return result;
    }

    /** The commit: the manifest, written last; sealed with the data key when the backup is encrypted. */
    private void commit(Manifest m, Encryption.DataKey dataKey) throws java.io.IOException {
        byte[] json = m.encode(dataKey);
        try (PendingObject o = ctx.sink().create(Layout.manifestKey(m.id()), json.length)) {
            o.stream().write(json);
            o.commit();
        }
    }

    private void cleanup(Set<String> written) {
        boolean wasInterrupted = Thread.interrupted(); // let deletes run; restore the flag after
        try {
            ctx.sink().deleteAll(new ArrayList<>(written));
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "could not remove the artifacts of a failed backup (prune removes them later): " + e.getMessage());
        } finally {
            if (wasInterrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
