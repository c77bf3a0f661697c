package dev.sgbackup.internal;

import dev.sgbackup.CancelledException;
import dev.sgbackup.IntegrityException;
import dev.sgbackup.InvalidInputException;
import dev.sgbackup.PassphraseRequiredException;
import dev.sgbackup.SgBackupException;
import dev.sgbackup.SinkException;
import dev.sgbackup.StoreException;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Layout;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import dev.sgbackup.transform.Transform;
import dev.sgbackup.transform.Transforms;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/** Executes plans and serves the catalog. Everything public here is internal API. */
public final class Engine {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final BackupSink sink;
    private final Compression compression;
    private final ProgressListener listener;
    private final int parallelism;
    private final int stepParallelism;
    /** Null: new backups are not encrypted, and encrypted backups cannot be read. */
    private final Encryption encryption;

    public Engine(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism) {
        this(sink, compression, listener, parallelism, stepParallelism, null);
    }

    public Engine(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
                  Encryption encryption) {
        this.sink = sink;
        this.compression = compression;
        this.listener = listener;
        this.parallelism = parallelism;
        this.stepParallelism = stepParallelism;
        this.encryption = encryption;
    }

    // ------------------------------------------------------------------ plans

    public MigrationPlan planBackup(List<DataStore> stores, String scope) {
        Set<String> names = new HashSet<>();
        List<PlanStep> steps = new ArrayList<>();
        for (DataStore s : stores) {
            Layout.checkStoreName(s.name());
            if (!names.add(s.name())) {
                throw new InvalidInputException("store name '" + s.name() + "' is used twice; store names must be unique within a backup");
            }
            steps.add(new PlanStep(s.name(), s.kind(), "backup", s.describe(), null, s.estimateSize(), null));
        }
        if (stores.isEmpty()) {
            throw new InvalidInputException("nothing to back up: name at least one store (e.g. --volume NAME=DIR)");
        }
        String transforms = compression.toString() + (encryption == null ? "" : "," + Encryption.TRANSFORM_ID);
        return new MigrationPlan(MigrationPlan.Operation.BACKUP, sink.uri().toString(), null, scope, transforms,
                RestoreOptions.defaults(), steps, stores, List.of());
    }

    public MigrationPlan planRestore(String backupId, List<DataStore> targets, RestoreOptions options) {
        return planRestore(backupId, targets, options, Map.of(), List.of());
    }

    /**
     * A restore plan: the targets run in the order given; the backup's other stores become skip rows with the
     * reason in {@code skipNotes} (default "no target given").
     */
    public MigrationPlan planRestore(String backupId, List<DataStore> targets, RestoreOptions options, Map<String, String> skipNotes,
                                     List<String> notes) {
        Manifest m = manifest(backupId);
        Map<String, DataStore> byName = new LinkedHashMap<>();
        for (DataStore t : targets) {
            if (byName.put(t.name(), t) != null) {
                throw new InvalidInputException("store name '" + t.name() + "' is given twice");
            }
            if (m.store(t.name()).isEmpty()) {
                throw new InvalidInputException("backup " + backupId + " has no store '" + t.name() + "'; it has: "
                        + String.join(", ", m.storeNames()));
            }
        }
        if (targets.isEmpty() && skipNotes.isEmpty()) {
            throw new InvalidInputException("nothing to restore: name a target for at least one of the backup's stores: "
                    + String.join(", ", m.storeNames()));
        }
        List<PlanStep> steps = new ArrayList<>();
        List<DataStore> stores = new ArrayList<>();
        for (DataStore t : targets) {
            StoreBackup sb = m.requireStore(t.name());
            steps.add(new PlanStep(sb.name(), sb.kind(), "restore", t.describe(), null, sb.size(), null));
            stores.add(t);
        }
        for (StoreBackup sb : m.stores()) {
            if (!byName.containsKey(sb.name())) {
                steps.add(new PlanStep(sb.name(), sb.kind(), "skip", sb.description(), null, sb.size(),
                        skipNotes.getOrDefault(sb.name(), "no target given")));
            }
        }
        return new MigrationPlan(MigrationPlan.Operation.RESTORE, sink.uri().toString(), backupId, m.scope(), String.join(",",
                m.artifacts().stream().flatMap(a -> a.transforms().stream()).distinct().toList()), options, steps, stores, notes);
    }

    public CheckReport check(MigrationPlan plan) {
        return check(plan, true);
    }

    /**
     * The plan's checks. {@code probeSink}: for a backup, also write and delete a probe object to prove the sink
     * is writable; without it nothing at all is written (for showing a plan).
     */
    public CheckReport check(MigrationPlan plan, boolean probeSink) {
        CheckReport report = new CheckReport();
        if (plan.operation() == MigrationPlan.Operation.BACKUP) {
            if (probeSink) {
                checkSinkWritable(report);
            }
            checkFreeSpace(plan, report);
            for (DataStore s : plan.stores()) {
                try {
                    s.checkBackup(report);
                } catch (RuntimeException e) {
                    report.error(s.name(), e.getMessage());
                }
            }
        } else {
            Manifest m;
            try {
                m = manifest(plan.backupId());
            } catch (SgBackupException e) {
                report.error("backup " + plan.backupId(), e.getMessage());
                return report;
            }
            for (DataStore s : plan.stores()) {
                StoreBackup sb = m.requireStore(s.name());
                if (!sb.kind().equals(s.kind())) {
                    report.error(s.name(), "the backup holds a " + sb.kind() + " store under this name, not " + s.kind());
                    continue;
                }
                try {
                    s.checkRestore(sb, plan.options(), report);
                } catch (RuntimeException e) {
                    report.error(s.name(), e.getMessage());
                }
            }
        }
        return report;
    }

    /** Where the sink is a local directory, warns when the plan's estimate exceeds the free space (compression may still fit). */
    private void checkFreeSpace(MigrationPlan plan, CheckReport report) {
        if (!"file".equals(sink.uri().getScheme())) {
            return;
        }
        long estimate = plan.steps().stream().filter(s -> s.action().equals("backup")).mapToLong(s -> Math.max(0, s.estimatedSize())).sum();
        try {
            java.nio.file.Path p = java.nio.file.Path.of(sink.uri());
            while (p != null && !java.nio.file.Files.exists(p)) {
                p = p.getParent();
            }
            if (p == null) {
                return;
            }
            long free = java.nio.file.Files.getFileStore(p).getUsableSpace();
            if (estimate > free) {
                report.warn("sink " + sink.uri(), "the data to back up is estimated at " + dev.sgbackup.manifest.Sizes.human(estimate)
                        + " before compression, and " + dev.sgbackup.manifest.Sizes.human(free) + " is free there");
            }
        } catch (IOException | RuntimeException e) {
            // free space is not knowable here; nothing to report
        }
    }

    private void checkSinkWritable(CheckReport report) {
        String key = "probes/" + UUID.randomUUID();
        try {
            try (PendingObject o = sink.create(key)) {
                o.stream().write(new byte[] {'o', 'k'});
                o.commit();
            }
            sink.delete(key);
        } catch (IOException | SgBackupException e) {
            if (interrupted(e)) {
                throw new CancelledException("cancelled before anything was written; nothing was committed");
            }
            report.error("sink " + sink.uri(), "not writable: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }

    // ------------------------------------------------------------------ running

    /** Checks (a refusal throws {@link dev.sgbackup.CheckFailedException}), then runs the plan. */
    public RunResult run(MigrationPlan plan) {
        CheckReport checks = check(plan);
        checks.throwIfFailed();
        return plan.operation() == MigrationPlan.Operation.BACKUP ? runBackup(plan, checks) : runRestore(plan, checks);
    }

    /** Progress accounting for one run; emits BYTES events at most every 250 ms. */
    private final class Progress {
        final Instant start = Instant.now();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong artifacts = new AtomicLong();
        final long bytesTotal;
        final long artifactsTotal;
        volatile long lastEmit;

        Progress(long bytesTotal, long artifactsTotal) {
            this.bytesTotal = bytesTotal;
            this.artifactsTotal = artifactsTotal;
        }

        void emit(ProgressEvent.Type type, String step, String artifact, String message) {
            try {
                listener.onEvent(new ProgressEvent(type, step, artifact, bytes.get(), bytesTotal, artifacts.get(), artifactsTotal,
                        Duration.between(start, Instant.now()), message));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "progress listener failed: " + e);
            }
        }

        void add(String step, long n) {
            bytes.addAndGet(n);
            long now = System.nanoTime();
            if (now - lastEmit > 250_000_000L) {
                lastEmit = now;
                emit(ProgressEvent.Type.BYTES, step, null, null);
            }
        }
    }

    private static boolean interrupted(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof InterruptedIOException || c instanceof ClosedByInterruptException || c instanceof InterruptedException
                    || c instanceof CancelledException) {
                return true;
            }
        }
        return Thread.currentThread().isInterrupted();
    }

    private RunResult runBackup(MigrationPlan plan, CheckReport checks) {
        Instant started = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        String id = Layout.newBackupId(started);
        long total = plan.steps().stream().mapToLong(s -> Math.max(0, s.estimatedSize())).sum();
        Progress progress = new Progress(total > 0 ? total : -1, -1);
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "backup " + id);
        Map<String, StoreBackup> doneByName = new ConcurrentHashMap<>();
        Set<String> written = ConcurrentHashMap.newKeySet();
        List<Step> steps = new ArrayList<>();
        Encryption.DataKey dataKey = encryption == null ? null : encryption.newDataKey();
        for (DataStore store : plan.stores()) {
            int ordinal = steps.size() + 1; // names the store in opaque artifact keys
            steps.add(new Step(store.name(), store.kind(), () -> {
                Instant t0 = Instant.now();
                progress.emit(ProgressEvent.Type.STEP_STARTED, store.name(), null, null);
                StoreOutput out = new StoreOutput(id, store, progress, written, dataKey, ordinal);
                try {
                    store.backup(out);
                    StoreBackup sb = out.finish();
                    doneByName.put(store.name(), sb);
                    progress.emit(ProgressEvent.Type.STEP_FINISHED, store.name(), null, null);
                    return new StepResult(store.name(), store.kind(), StepResult.Status.COMPLETED, sb.artifacts().size(), sb.size(),
                            sb.storedSize(), Duration.between(t0, Instant.now()), null, sb.warnings());
                } catch (Throwable t) {
                    out.abortAll();
                    throw new StepFailure(new StepResult(store.name(), store.kind(), StepResult.Status.FAILED, out.artifacts.size(), 0, 0,
                            Duration.between(t0, Instant.now()), String.valueOf(t.getMessage()), out.warnings), t);
                }
            }));
        }
        StepOutcome outcome = runSteps(steps);
        List<StepResult> results = outcome.results;
        Throwable failure = outcome.failure;
        String failedStep = outcome.failedStep;
        List<StoreBackup> done = new ArrayList<>();
        for (DataStore store : plan.stores()) {
            if (doneByName.containsKey(store.name())) {
                done.add(doneByName.get(store.name()));
            }
        }
        if (failure == null && Thread.currentThread().isInterrupted()) {
            failure = new CancelledException("interrupted");
        }
        if (failure == null) {
            try {
                Manifest m = new Manifest(Manifest.FORMAT_VERSION, id, started, Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), Version.current(), plan.scope(),
                        compression.toString(), dataKey == null ? Map.of() : dataKey.parameters(), done);
                byte[] json = ManifestCodec.encode(m, dataKey);
                try (PendingObject o = sink.create(Layout.manifestKey(id), json.length)) {
                    o.stream().write(json);
                    o.commit();
                }
            } catch (Throwable t) {
                failure = t;
                failedStep = "manifest";
            }
        }
        RunResult result = new RunResult("backup", id, failure == null, results, Duration.between(started, Instant.now()), checks);
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, failure == null ? "committed " + id : "not committed");
        if (failure != null) {
            cleanup(written);
            throw backupFailure(failure, failedStep).withRunResult(result);
        }
        return result;
    }

    private void cleanup(Set<String> written) {
        boolean wasInterrupted = Thread.interrupted(); // let deletes run; restore the flag after
        try {
            sink.deleteAll(new ArrayList<>(written));
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "could not remove the artifacts of a failed backup (prune removes them later): " + e.getMessage());
        } finally {
            if (wasInterrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static SgBackupException backupFailure(Throwable t, String step) {
        if (interrupted(t)) {
            return new CancelledException("backup cancelled" + (step.startsWith("(") ? "" : " during step '" + step + "'")
                    + "; nothing was committed");
        }
        if (t instanceof SgBackupException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (step.equals("manifest")) {
            return new SinkException("writing the manifest failed: " + t.getMessage() + "; nothing was committed", t);
        }
        return new StoreException("backup of store '" + step + "' failed: " + t.getMessage() + "; nothing was committed", t);
    }

    /** The BackupOutput one store writes to. */
    private final class StoreOutput implements BackupOutput {
        final String id;
        final DataStore store;
        final Progress progress;
        final Set<String> written;
        final Encryption.DataKey dataKey;
        final int ordinal;
        final AtomicInteger seq = new AtomicInteger();
        final List<ArtifactInfo> artifacts = Collections.synchronizedList(new ArrayList<>());
        final Map<String, String> properties = Collections.synchronizedMap(new TreeMap<>());
        final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
        final Set<Artifact> open = ConcurrentHashMap.newKeySet();
        volatile boolean aborted;

        StoreOutput(String id, DataStore store, Progress progress, Set<String> written, Encryption.DataKey dataKey, int ordinal) {
            this.id = id;
            this.store = store;
            this.progress = progress;
            this.written = written;
            this.dataKey = dataKey;
            this.ordinal = ordinal;
        }

        @Override
        public ArtifactStream artifact(String name, Map<String, String> attributes) throws IOException {
            checkCancelled();
            Pipeline.checkAttributes(attributes);
            Transform t = compression.transform();
            String suffix = t == null ? "" : "." + (t.id().equals("zstd") ? "zst" : "gz");
            List<Transform> chain = new ArrayList<>();
            if (t != null) {
                chain.add(t);
            }
            String key;
            if (dataKey != null) {
                chain.add(dataKey.transform()); // encrypt last: [compression, encryption]
                key = Layout.opaqueArtifactKey(id, ordinal, seq.incrementAndGet()); // names stay in the sealed manifest
            } else {
                key = Layout.artifactKey(id, store.name(), seq.incrementAndGet(), name, suffix);
            }
            PendingObject pending = sink.create(key);
            Artifact a;
            try {
                a = new Artifact(this, name, key, Map.copyOf(attributes), pending, chain);
            } catch (IOException | RuntimeException e) {
                pending.close();
                throw e;
            }
            open.add(a);
            progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, store.name(), name, null);
            return a;
        }

        @Override
        public void property(String key, String value) {
            properties.put(key, value);
        }

        @Override
        public void warn(String message) {
            warnings.add(message);
            progress.emit(ProgressEvent.Type.WARNING, store.name(), null, message);
        }

        @Override
        public int parallelism() {
            return parallelism;
        }

        @Override
        public void checkCancelled() {
            if (Thread.currentThread().isInterrupted() || aborted) {
                throw new CancelledException("backup cancelled; nothing was committed");
            }
        }

        StoreBackup finish() {
            if (!open.isEmpty()) {
                throw new StoreException("store '" + store.name() + "' returned with " + open.size()
                        + " artifact(s) still open; this is a bug in the store: every artifact stream must be closed");
            }
            List<ArtifactInfo> list = new ArrayList<>(artifacts);
            list.sort(Comparator.comparing(ArtifactInfo::key));
            return new StoreBackup(store.name(), store.kind(), store.describe(), properties, list, warnings);
        }

        void abortAll() {
            aborted = true;
            for (Artifact a : open) {
                a.abort();
            }
        }
    }

    /** One artifact being written: plain hash → compression → stored hash → pending object. */
    private final class Artifact extends BackupOutput.ArtifactStream {
        final StoreOutput owner;
        final String name;
        final String key;
        final Map<String, String> attributes;
        final PendingObject pending;
        final Pipeline.MeasuringOutputStream stored;
        final Pipeline.MeasuringOutputStream plain;
        final List<String> transforms;
        boolean closed;

        Artifact(StoreOutput owner, String name, String key, Map<String, String> attributes, PendingObject pending, List<Transform> ts)
                throws IOException {
            this.owner = owner;
            this.name = name;
            this.key = key;
            this.attributes = attributes;
            this.pending = pending;
            this.stored = new Pipeline.MeasuringOutputStream(Pipeline.nonClosing(pending.stream()), n -> { });
            OutputStream chain = stored;
            List<String> ids = new ArrayList<>();
            for (int i = ts.size() - 1; i >= 0; i--) {
                chain = ts.get(i).wrap(chain, new Transform.ArtifactContext(owner.id, key));
                ids.add(0, ts.get(i).id());
            }
            this.transforms = ids;
            this.plain = new Pipeline.MeasuringOutputStream(chain, n -> owner.progress.add(owner.store.name(), n));
        }

        @Override
        public void write(int b) throws IOException {
            plain.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (owner.aborted) {
                throw new CancelledException("backup aborted");
            }
            plain.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            plain.flush();
        }

        @Override
        public synchronized void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                plain.close(); // finishes the transforms; the sink stream is only flushed
                pending.commit();
                owner.written.add(key);
            } catch (IOException | RuntimeException e) {
                owner.open.remove(this);
                pending.close();
                throw e;
            }
            pending.close();
            owner.open.remove(this);
            owner.artifacts.add(new ArtifactInfo(name, key, plain.count(), plain.sha256(), stored.count(), stored.sha256(), transforms,
                    attributes));
            owner.progress.artifacts.incrementAndGet();
            owner.progress.emit(ProgressEvent.Type.ARTIFACT_FINISHED, owner.store.name(), name, null);
        }

        @Override
        public synchronized void abort() {
            if (closed) {
                return;
            }
            closed = true;
            owner.open.remove(this);
            try {
                pending.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "aborting " + key + " failed: " + e.getMessage());
            }
        }
    }

    /** A step of a run: its name, kind and work. */
    private record Step(String name, String kind, java.util.concurrent.Callable<StepResult> work) {
    }

    /** Thrown by a step's work with the step's result attached. */
    private static final class StepFailure extends RuntimeException {
        final StepResult result;

        StepFailure(StepResult result, Throwable cause) {
            super(cause);
            this.result = result;
        }
    }

    /** @param unknown steps still running when the run gave up waiting for them: their outcome is unknown */
    private record StepOutcome(List<StepResult> results, Throwable failure, String failedStep, List<String> unknown) {
    }

    /** A step that had begun when another failed and was stopped: skipped, with what it had done so far. */
    private static StepResult stopped(StepResult r, String failedStep) {
        return new StepResult(r.step(), r.kind(), StepResult.Status.SKIPPED, r.artifacts(), 0, 0, r.duration(),
                "stopped: step " + failedStep + " failed", r.warnings());
    }

    /**
     * Runs independent steps, up to {@code stepParallelism} at once, and returns their results in step order.
     * The first failure stops the run: steps still running are interrupted and reported as skipped, steps not
     * started are skipped. An interruption of the calling thread cancels every step.
     */
    private StepOutcome runSteps(List<Step> steps) {
        int threads = Math.max(1, Math.min(stepParallelism, steps.size()));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "sgbackup-step");
            t.setDaemon(true);
            return t;
        });
        StepResult[] results = new StepResult[steps.size()];
        // What each step really did, recorded by the step's own thread: a cancelled Future forgets the result of a task
        // that was already running, yet such a step may still have finished (a database restore past its last
        // cancellation point commits), and the run must report it as done, not as stopped.
        java.util.concurrent.atomic.AtomicReferenceArray<Object> outcomes = new java.util.concurrent.atomic.AtomicReferenceArray<>(steps.size());
        java.util.concurrent.atomic.AtomicIntegerArray began = new java.util.concurrent.atomic.AtomicIntegerArray(steps.size());
        List<java.util.concurrent.Future<StepResult>> futures = new ArrayList<>();
        java.util.concurrent.CompletionService<StepResult> cs = new java.util.concurrent.ExecutorCompletionService<>(pool);
        Map<java.util.concurrent.Future<StepResult>, Integer> index = new java.util.HashMap<>();
        for (int i = 0; i < steps.size(); i++) {
            int k = i;
            java.util.concurrent.Callable<StepResult> work = steps.get(i).work();
            java.util.concurrent.Future<StepResult> f = cs.submit(() -> {
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
                java.util.concurrent.Future<StepResult> f;
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
                } catch (java.util.concurrent.CancellationException e) {
                    // reported below as skipped
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (java.util.concurrent.ExecutionException e) {
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
                if (!pool.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
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
        return new StepOutcome(list, failure, failedStep, unknown);
    }

    /**
     * Runs a restore: consecutive steps of the same phase (the databases; the volumes; the configuration) are
     * independent and run up to {@code stepParallelism} at once; phases run one after the other, in plan order.
     * The first failure stops the steps running beside it (they roll back) and skips every later step.
     */
    private RunResult runRestore(MigrationPlan plan, CheckReport checks) {
        Instant started = Instant.now();
        Manifest m = manifest(plan.backupId());
        long total = 0;
        long arts = 0;
        for (DataStore s : plan.stores()) {
            StoreBackup sb = m.requireStore(s.name());
            total += sb.size();
            arts += sb.artifacts().size();
        }
        Progress progress = new Progress(total, arts);
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "restore " + m.id());
        Map<String, DataStore> targets = new LinkedHashMap<>();
        plan.stores().forEach(s -> targets.put(s.name(), s));
        StepResult[] results = new StepResult[plan.steps().size()];
        // batches of consecutive steps of one phase, by index into plan.steps()
        List<List<Integer>> batches = new ArrayList<>();
        dev.sgbackup.plan.Phase batchPhase = null;
        for (int i = 0; i < plan.steps().size(); i++) {
            PlanStep step = plan.steps().get(i);
            StoreBackup sb = m.requireStore(step.store());
            DataStore store = step.action().equals("restore") ? targets.get(sb.name()) : null;
            if (store == null) {
                results[i] = new StepResult(sb.name(), sb.kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO,
                        step.note() == null ? "no target given" : step.note(), List.of());
                continue;
            }
            if (plan.options().dryRun()) {
                results[i] = new StepResult(sb.name(), sb.kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO,
                        "dry run: checks passed, nothing written", List.of());
                continue;
            }
            dev.sgbackup.plan.Phase phase = dev.sgbackup.plan.Phase.of(sb.kind());
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
                    StoreBackup sb = m.requireStore(plan.steps().get(i).store());
                    results[i] = new StepResult(sb.name(), sb.kind(), StepResult.Status.SKIPPED, 0, 0, 0, Duration.ZERO,
                            "not started: step " + failedStep + " failed", List.of());
                }
                continue;
            }
            List<Step> steps = new ArrayList<>();
            for (int i : batch) {
                StoreBackup sb = m.requireStore(plan.steps().get(i).store());
                DataStore store = targets.get(sb.name());
                steps.add(new Step(sb.name(), sb.kind(), () -> restoreStep(m, sb, store, plan, progress)));
            }
            StepOutcome outcome = runSteps(steps);
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
        RunResult result = new RunResult("restore", m.id(), failure == null, List.of(results), Duration.between(started, Instant.now()),
                checks);
        if (failure != null) {
            String changed = completed.isEmpty() ? (unknown.isEmpty() ? "no target was changed" : "")
                    : "already restored (these targets now hold the backup's data): " + String.join(", ", completed);
            if (!unknown.isEmpty()) {
                changed += (changed.isEmpty() ? "" : "; ") + "still running when the run stopped, so their state is unknown:"
                        + " " + String.join(", ", unknown);
            }
            String prefix = interrupted(failure) ? "restore cancelled" + (failedStep.startsWith("(") ? "" : " during step '" + failedStep + "'")
                    : "restore of store '" + failedStep + "' failed";
            String msg = prefix + ": " + failure.getMessage() + "; " + changed;
            if (failure instanceof Error e) {
                throw e;
            }
            SgBackupException e;
            if (interrupted(failure)) {
                e = new CancelledException(msg);
            } else if (failure instanceof IntegrityException) {
                e = new IntegrityException(msg, failure);
            } else if (failure instanceof InvalidInputException) {
                e = new InvalidInputException(msg, failure);
            } else if (failure instanceof SinkException) {
                e = new SinkException(msg, failure);
            } else {
                e = new StoreException(msg, failure);
            }
            throw e.withRunResult(result);
        }
        return result;
    }

    /** One restore step: the store reads its artifacts; a failure carries the step's result. */
    private StepResult restoreStep(Manifest m, StoreBackup sb, DataStore store, MigrationPlan plan, Progress progress) {
        Instant t0 = Instant.now();
        progress.emit(ProgressEvent.Type.STEP_STARTED, sb.name(), null, null);
        StoreInput in = new StoreInput(m, sb, plan.options(), progress);
        try {
            store.restore(in);
        } catch (Throwable t) {
            Throwable failure = t;
            if (!(t instanceof IntegrityException) && !interrupted(t)) {
                // damaged bytes can make a store's parser fail before the end-of-artifact check: say so
                String damage = findDamage(m, sb);
                if (damage != null) {
                    failure = new IntegrityException(damage + " (the store reported: " + t.getMessage() + ")", t);
                }
            }
            throw new StepFailure(new StepResult(sb.name(), sb.kind(), StepResult.Status.FAILED, 0, 0, 0,
                    Duration.between(t0, Instant.now()), String.valueOf(failure.getMessage()), in.warnings), failure);
        }
        progress.emit(ProgressEvent.Type.STEP_FINISHED, sb.name(), null, null);
        return new StepResult(sb.name(), sb.kind(), StepResult.Status.COMPLETED, sb.artifacts().size(), sb.size(), sb.storedSize(),
                Duration.between(t0, Instant.now()), null, in.warnings);
    }

    /** Re-reads a store's stored bytes and returns the first damage found, or null if every artifact is intact. */
    private String findDamage(Manifest m, StoreBackup sb) {
        byte[] buf = new byte[1 << 16];
        for (ArtifactInfo a : sb.artifacts()) {
            try (InputStream in = Pipeline.open(sink, m.id(), sb.name(), a, resolver(m), n -> { })) {
                while (in.read(buf) >= 0) {
                    // read to the end: the hashes are checked there
                }
            } catch (IntegrityException e) {
                return e.getMessage();
            } catch (NoSuchObjectException e) {
                return "artifact " + sb.name() + "/" + a.name() + " (" + a.key() + ") is missing";
            } catch (IOException | RuntimeException e) {
                return null; // not provably damage (e.g. the sink is unreachable); keep the store's own error
            }
        }
        return null;
    }

    /** Transforms by manifest id; the encryption transform comes from the backup's own data key. */
    private Function<String, Transform> resolver(Manifest m) {
        return id -> id.equals(Encryption.TRANSFORM_ID) && m.encrypted() ? unlock(m.id(), m.encryption()).transform() : Transforms.forId(id);
    }

    private Encryption.DataKey unlock(String backupId, Map<String, String> parameters) {
        if (encryption == null) {
            throw new PassphraseRequiredException(backupId, "backup " + backupId + " is encrypted; set SGBACKUP_PASSPHRASE to its passphrase (CLI) or"
                    + " give it with SgBackup.builder().encryption(Encryption.passphrase(...)) or Encryption.key(...)");
        }
        return encryption.unlock(parameters, backupId); // cached: one PBKDF2 run per backup
    }

    private final class StoreInput implements RestoreInput {
        final Manifest manifest;
        final StoreBackup backup;
        final RestoreOptions options;
        final Progress progress;
        final List<String> warnings = Collections.synchronizedList(new ArrayList<>());

        StoreInput(Manifest manifest, StoreBackup backup, RestoreOptions options, Progress progress) {
            this.manifest = manifest;
            this.backup = backup;
            this.options = options;
            this.progress = progress;
        }

        @Override
        public StoreBackup backup() {
            return backup;
        }

        @Override
        public InputStream open(ArtifactInfo artifact) throws IOException {
            if (!backup.artifacts().contains(artifact)) {
                throw new InvalidInputException("artifact " + artifact.name() + " is not part of store " + backup.name());
            }
            progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, backup.name(), artifact.name(), null);
            try {
                return Pipeline.open(sink, manifest.id(), backup.name(), artifact, resolver(manifest), n -> progress.add(backup.name(), n));
            } catch (NoSuchObjectException e) {
                throw new IntegrityException("artifact " + backup.name() + "/" + artifact.name() + " (" + artifact.key()
                        + ") is missing from " + sink.uri() + "; the backup is incomplete — restore another backup");
            }
        }

        @Override
        public RestoreOptions options() {
            return options;
        }

        @Override
        public void warn(String message) {
            warnings.add(message);
            progress.emit(ProgressEvent.Type.WARNING, backup.name(), null, message);
        }

        @Override
        public int parallelism() {
            return parallelism;
        }

        @Override
        public void checkCancelled() {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("restore cancelled");
            }
        }
    }

    // ------------------------------------------------------------------ catalog

    /** The whole manifest; an encrypted one is opened with the engine's passphrase or key (which must be right). */
    public Manifest manifest(String backupId) {
        return readManifest(backupId, true);
    }

    private Manifest readManifest(String backupId, boolean open) {
        Layout.checkBackupId(backupId);
        String key = Layout.manifestKey(backupId);
        byte[] bytes;
        try (InputStream in = sink.read(key)) {
            bytes = in.readAllBytes();
        } catch (NoSuchObjectException e) {
            throw new InvalidInputException("no backup " + backupId + " in " + sink.uri() + "; 'sgbackup list' shows the backups there");
        } catch (IOException e) {
            throw new SinkException("reading the manifest of " + backupId + " from " + sink.uri() + " failed: " + e.getMessage(), e);
        }
        Manifest m = ManifestCodec.decode(bytes, key, open ? p -> unlock(backupId, p) : null);
        if (!m.id().equals(backupId)) {
            throw new IntegrityException("manifest " + key + " names backup " + m.id() + ", not " + backupId + "; it was moved or tampered with");
        }
        if (open && encryption != null && !m.encrypted()) {
            // someone able to write the sink could put a forged plain backup where an encrypted one was expected
            throw new InvalidInputException("backup " + backupId + " is not encrypted, but a passphrase or key was given; refusing to"
                    + " trust it as if it were. If it was made without encryption, read it without a passphrase (unset SGBACKUP_PASSPHRASE)");
        }
        return m;
    }

    public List<BackupSummary> list() {
        List<BackupSummary> out = new ArrayList<>();
        sink.listAll(Layout.MANIFESTS).forEach(o -> {
            String id = Layout.backupIdOfManifest(o.key());
            if (id == null) {
                return;
            }
            try {
                Manifest m = readManifest(id, false); // encrypted: the clear part only; plain size and stores are sealed
                out.add(m.encrypted() ? new BackupSummary(id, m.createdAt(), m.scope(), -1, storedBytes(id), List.of(), true)
                        : BackupSummary.of(m));
            } catch (IntegrityException e) {
                LOG.log(System.Logger.Level.WARNING, e.getMessage());
                listener.onEvent(new ProgressEvent(ProgressEvent.Type.WARNING, null, null, 0, -1, 0, -1, Duration.ZERO, e.getMessage()));
            }
        });
        out.sort(Comparator.comparing(BackupSummary::id).reversed());
        return out;
    }

    /** Bytes stored under a backup's data prefix (what the sink holds for it, whatever the manifest says). */
    private long storedBytes(String backupId) {
        return sink.listAll(Layout.dataPrefix(backupId)).mapToLong(ObjectInfo::size).sum();
    }

    public VerifyReport verify(String backupId) {
        Manifest m = manifest(backupId);
        Progress progress = new Progress(m.size(), m.artifacts().size());
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "verify " + backupId);
        List<String> problems = new ArrayList<>();
        int checked = 0;
        byte[] buf = new byte[1 << 16];
        for (StoreBackup sb : m.stores()) {
            for (ArtifactInfo a : sb.artifacts()) {
                checked++;
                progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, sb.name(), a.name(), null);
                try (InputStream in = Pipeline.open(sink, m.id(), sb.name(), a, resolver(m), n -> progress.add(sb.name(), n))) {
                    while (in.read(buf) >= 0) {
                        // reading to the end checks sizes and hashes
                    }
                } catch (NoSuchObjectException e) {
                    problems.add(sb.name() + "/" + a.name() + " (" + a.key() + "): missing");
                } catch (IntegrityException | SinkException e) {
                    problems.add(e.getMessage());
                } catch (IOException e) {
                    problems.add(sb.name() + "/" + a.name() + " (" + a.key() + "): unreadable: " + e.getMessage());
                }
                progress.artifacts.incrementAndGet();
                progress.emit(ProgressEvent.Type.ARTIFACT_FINISHED, sb.name(), a.name(), null);
            }
        }
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, problems.isEmpty() ? "ok" : problems.size() + " bad");
        return new VerifyReport(backupId, checked, progress.bytes.get(), problems);
    }

    public void delete(String backupId) {
        Layout.checkBackupId(backupId);
        String key = Layout.manifestKey(backupId);
        try {
            if (sink.stat(key).isEmpty()) {
                throw new InvalidInputException("no backup " + backupId + " in " + sink.uri() + "; 'sgbackup list' shows the backups there");
            }
            sink.delete(key);
            deletePrefix(Layout.dataPrefix(backupId));
            // unfinished uploads under the backup (left by a killed process) go too; the backup is gone, so no grace
            sink.removeStaleUploads(Layout.dataPrefix(backupId), Duration.ZERO);
        } catch (IOException e) {
            throw new SinkException("deleting backup " + backupId + " from " + sink.uri() + " failed: " + e.getMessage()
                    + (e instanceof NoSuchObjectException ? "" : "; run delete again (what is left is data without a manifest, which prune also removes)"), e);
        }
    }

    private void deletePrefix(String prefix) throws IOException {
        List<String> batch = new ArrayList<>();
        for (ObjectInfo o : (Iterable<ObjectInfo>) sink.listAll(prefix)::iterator) {
            batch.add(o.key());
            if (batch.size() == 1000) {
                sink.deleteAll(batch);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            sink.deleteAll(batch);
        }
    }

    public List<String> removeLeftovers(Duration grace, boolean dryRun) {
        Instant cutoff = Instant.now().minus(grace);
        List<String> removed = new ArrayList<>();
        try {
            Set<String> committed = new HashSet<>();
            sink.listAll(Layout.MANIFESTS).forEach(o -> {
                String id = Layout.backupIdOfManifest(o.key());
                if (id != null) {
                    committed.add(id);
                }
            });
            List<String> batch = new ArrayList<>();
            for (ObjectInfo o : (Iterable<ObjectInfo>) sink.listAll(Layout.DATA)::iterator) {
                String id = Layout.backupIdOfData(o.key());
                if (id == null || committed.contains(id)) {
                    continue;
                }
                // a backup still running writes under its id; its id time and the object's time are both recent
                if (Layout.timeOf(id).isBefore(cutoff) && o.lastModified().isBefore(cutoff)) {
                    removed.add(o.key());
                    batch.add(o.key());
                }
            }
            sink.listAll("probes/").filter(o -> o.lastModified().isBefore(cutoff)).forEach(o -> {
                removed.add(o.key());
                batch.add(o.key());
            });
            if (!dryRun) {
                sink.deleteAll(batch);
                sink.removeStaleUploads("", grace);
            }
        } catch (IOException e) {
            throw new SinkException("removing leftovers from " + sink.uri() + " failed: " + e.getMessage(), e);
        }
        return removed;
    }
}
