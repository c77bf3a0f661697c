package dev.sgbackup.internal;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.StepResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Step scheduling: runs independent steps, up to a bound at once, and reports each one's outcome in step order.
 * The first failure stops the run: steps still running are interrupted and reported as skipped (with what they had
 * done), steps not started are skipped. An interruption of the calling thread cancels every step. It knows nothing
 * of what a step does.
 */
final class StepScheduler {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");

    /** A step of a run: its name, kind and work. */
    record Step(String name, String kind, Callable<StepResult> work) {
    }

    /** Thrown by a step's work with the step's result attached. */
    static final class StepFailure extends RuntimeException {
        final transient StepResult result;

        StepFailure(StepResult result, Throwable cause) {
            super(cause);
            this.result = result;
        }
    }

    /** @param unknown steps still running when the run gave up waiting for them: their outcome is unknown */
    record Outcome(List<StepResult> results, Throwable failure, String failedStep, List<String> unknown) {
    }

    private final int parallelism;

    StepScheduler(int parallelism) {
        this.parallelism = parallelism;
    }

    /** A step that had begun when another failed and was stopped: skipped, with what it had done so far. */
    private static StepResult stopped(StepResult r, String failedStep) {
        return new StepResult(r.step(), r.kind(), StepResult.Status.SKIPPED, r.artifacts(), 0, 0, r.duration(),
                "stopped: step " + failedStep + " failed", r.warnings());
    }

    /** Runs {@code steps}; see the class comment. */
    Outcome run(List<Step> steps) {
        int threads = Math.max(1, Math.min(parallelism, steps.size()));
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "sgbackup-step");
            t.setDaemon(true);
            return t;
        });
        StepResult[] results = new StepResult[steps.size()];
        // What each step really did, recorded by the step's own thread: a cancelled Future forgets the result of a task
        // that was already running, yet such a step may still have finished (a database restore past its last
        // cancellation point commits), and the run must report it as done, not as stopped.
        AtomicReferenceArray<Object> outcomes = new AtomicReferenceArray<>(steps.size());
        AtomicIntegerArray began = new AtomicIntegerArray(steps.size());
        List<Future<StepResult>> futures = new ArrayList<>();
        CompletionService<StepResult> cs = new ExecutorCompletionService<>(pool);
        Map<Future<StepResult>, Integer> index = new HashMap<>();
        for (int i = 0; i < steps.size(); i++) {
            int k = i;
            Callable<StepResult> work = steps.get(i).work();
            Future<StepResult> f = cs.submit(() -> {
                began.set(k, 1);
                try {
                    StepResult r = work.call();
                    outcomes.set(k, r);
                    return r;
                } catch (Exception | Error e) {
                    outcomes.set(k, e);
                    throw e;
                }
            });
            futures.add(f);
            index.put(f, i);
        }
        Throwable failure = null;
        String failedStep = null;
        try {
            for (int n = 0; n < steps.size(); n++) {
                Future<StepResult> f;
                try {
                    f = cs.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    if (failure == null) {
                        failure = new CancelledException("interrupted");
                        failedStep = "(interrupted)";
                    }
                    futures.forEach(x -> x.cancel(true));
                    break;
                }
                int i = index.get(f);
                try {
                    results[i] = f.get();
                } catch (CancellationException e) {
                    // reported below as skipped
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    StepResult r = cause instanceof StepFailure sf ? sf.result : null;
                    Throwable real = cause instanceof StepFailure sf ? sf.getCause() : cause;
                    if (failure == null) {
                        failure = real;
                        failedStep = steps.get(i).name();
                        results[i] = r;
                        futures.forEach(x -> x.cancel(true));
                    } else if (r != null) {
                        results[i] = stopped(r, failedStep);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
            // let interrupted steps finish aborting their pending objects before cleanup runs; this thread may itself
            // be interrupted (Ctrl-C), so clear the flag while waiting and set it again afterwards
            boolean wasInterrupted = Thread.interrupted();
            try {
                if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                    LOG.log(System.Logger.Level.WARNING, "steps did not stop within 60 s");
                }
            } catch (InterruptedException e) {
                wasInterrupted = true;
            } finally {
                if (wasInterrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        List<StepResult> list = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            StepResult r = results[i];
            Object seen = outcomes.get(i);
            if (r == null && seen instanceof StepResult done) {
                r = done; // finished although the run was stopping: its target holds the backup's data
            } else if (r == null && seen instanceof StepFailure sf && sf.result != null && failedStep != null) {
                r = stopped(sf.result, failedStep);
            } else if (r == null && seen == null && began.get(i) == 1) {
                unknown.add(steps.get(i).name());
                r = new StepResult(steps.get(i).name(), steps.get(i).kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO,
                        "still running when the run stopped: its outcome is unknown, check this target", List.of());
            }
            if (r == null) {
                r = new StepResult(steps.get(i).name(), steps.get(i).kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO,
                        failedStep == null ? "not run" : "not started or stopped: step " + failedStep + " failed", List.of());
            }
            list.add(r);
        }
        return new Outcome(list, failure, failedStep, unknown);
    }
}
