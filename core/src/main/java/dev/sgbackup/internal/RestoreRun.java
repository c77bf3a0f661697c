package dev.sgbackup.internal;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.run.Operation;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The restore run: consecutive steps of the same phase (the databases; the volumes; the configuration) are
 * independent and run up to the step parallelism at once; phases run one after the other, in plan order. The
 * first failure stops the steps running beside it (they roll back) and skips every later step; the failure
 * says which targets already hold the backup's data.
 */
final class RestoreRun {
    private final RunContext ctx;
    private final Catalog catalog;
    private final StepExecutor executor;

    RestoreRun(RunContext ctx, Catalog catalog, StepExecutor executor) {
        this.ctx = ctx;
        this.catalog = catalog;
        this.executor = executor;
    }

    private static StepResult skipped(StoreBackup sb, String why) {
        return new StepResult(sb.name(), sb.kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO, why, List.of());
    }

    RunResult run(MigrationPlan plan, CheckReport checks) {
        Instant started = Instant.now();
        Manifest m = catalog.manifest(plan.backupId());
        long total = 0;
        long arts = 0;
        for (DataStore s : plan.stores()) {
            StoreBackup sb = m.requireStore(s.name());
            total += sb.size();
            arts += sb.artifacts().size();
        }
        Progress progress = ctx.progress(total, arts);
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "restore " + m.id());
        Map<String, DataStore> targets = new LinkedHashMap<>();
        plan.stores().forEach(s -> targets.put(s.name(), s));
        StepResult[] results = new StepResult[plan.steps().size()];
        // batches of consecutive steps of one phase, by index into plan.steps()
        List<List<Integer>> batches = new ArrayList<>();
        Phase batchPhase = null;
        for (int i = 0; i < plan.steps().size(); i++) {
            PlanStep step = plan.steps().get(i);
            StoreBackup sb = m.requireStore(step.store());
            DataStore store = step.action() == PlanStep.Action.RESTORE ? targets.get(sb.name()) : null;
            if (store == null) {
                results[i] = skipped(sb, step.note() == null ? "no target given" : step.note());
                continue;
            }
            if (plan.options().dryRun()) {
                results[i] = skipped(sb, "dry run: checks passed, nothing written");
                continue;
            }
            Phase phase = store.kind().phase();
            if (batches.isEmpty() || phase != batchPhase) {
                batches.add(new ArrayList<>());
                batchPhase = phase;
            }
            batches.get(batches.size() - 1).add(i);
        }
        Throwable failure = null;
        String failedStep = null;
        List<String> completed = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (List<Integer> batch : batches) {
            if (failure != null) {
                for (int i : batch) {
                    results[i] = skipped(m.requireStore(plan.steps().get(i).store()), "not started: step " + failedStep + " failed");
                }
                continue;
            }
            List<StepScheduler.Step> steps = new ArrayList<>();
            for (int i : batch) {
                StoreBackup sb = m.requireStore(plan.steps().get(i).store());
                DataStore store = targets.get(sb.name());
                steps.add(new StepScheduler.Step(sb.name(), sb.kind(), () -> executor.restore(m, sb, store, plan.options(), progress)));
            }
            StepScheduler.Outcome outcome = new StepScheduler(ctx.stepParallelism()).run(steps);
            for (int k = 0; k < batch.size(); k++) {
                StepResult r = outcome.results().get(k);
                results[batch.get(k)] = r;
                if (r.status() == StepResult.Status.COMPLETED) {
                    completed.add(r.step());
                }
            }
            unknown.addAll(outcome.unknown());
            if (outcome.failure() != null) {
                failure = outcome.failure();
                failedStep = outcome.failedStep();
            }
        }
        if (failure == null && Thread.currentThread().isInterrupted()) {
            failure = new CancelledException("interrupted");
            failedStep = "(interrupted)";
        }
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, failure == null ? "restored " + m.id() : "failed");
        RunResult result = new RunResult(Operation.RESTORE, m.id(), failure == null, List.of(results), Duration.between(started, Instant.now()),
                checks);
        if (failure != null) {
            throw Failures.restore(failure, failedStep, changed(completed, unknown)).withRunResult(result);
        }
        return result;
    }

    /** What a failed restore changed: the targets that completed, and those whose state is unknown. */
    private static String changed(List<String> completed, List<String> unknown) {
        String changed = completed.isEmpty() ? (unknown.isEmpty() ? "no target was changed" : "")
                : "already restored (these targets now hold the backup's data): " + String.join(", ", completed);
        if (!unknown.isEmpty()) {
            changed += (changed.isEmpty() ? "" : "; ") + "still running when the run stopped, so their state is unknown:"
                    + " " + String.join(", ", unknown);
        }
        return changed;
    }
}
