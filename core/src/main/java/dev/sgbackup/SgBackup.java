package dev.sgbackup;

import dev.sgbackup.sink.Sinks;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.CheckFailedException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.internal.Engine;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.PassphraseChange;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.manifest.RetentionDecision;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.store.StoreBackup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.run.Executor;
import dev.sgbackup.run.JobsPruned;
import dev.sgbackup.plan.InstanceDescription;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The entry point: one sink, built once, immutable and shareable.
 *
 * <pre>{@code
 * var sg = SgBackup.to(Sinks.local(Path.of("/backups")));
 * RunResult r = sg.backup(Stores.directory("repos", Path.of("/data/repos")));
 * sg.list();                       // committed backups, newest first
 * sg.verify(r.backupId());         // re-reads every artifact (a dedup backup: its structure; see VerifyOptions)
 * sg.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("repos", Path.of("/new/repos")));
 * }</pre>
 *
 * <p>One job, so one file (about 530 lines, most of it the API's documentation): the facade. Each method hands over to
 * the engine's room for that job ({@code dev.sgbackup.internal}).
 */
public final class SgBackup implements AutoCloseable {
    /** The default grace period of {@link #prune}: leftovers younger than this are never removed. */
    public static final Duration DEFAULT_PRUNE_GRACE = Duration.ofHours(24);

    private final BackupSink sink;
    private final Compression compression;
    private final ProgressListener listener;
    private final int parallelism;
    private final Scope scope;
    private final int stepParallelism;
    private final Encryption encryption;
    private final boolean dedup;
    private final boolean forceRead;
    private final java.time.Duration retryLock;
    private final Engine engine;
    private final boolean ownsSink;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private SgBackup(Builder b) {
        this.sink = Objects.requireNonNull(b.sink, "sink");
        this.ownsSink = b.ownsSink;
        this.compression = b.compression;
        this.listener = b.listener;
        this.parallelism = b.parallelism;
        this.scope = b.scope;
        this.stepParallelism = b.stepParallelism;
        this.encryption = b.encryption;
        this.dedup = b.dedup;
        this.forceRead = b.forceRead;
        this.retryLock = b.retryLock;
        this.engine = new Engine(sink, compression, listener, parallelism, stepParallelism, encryption, dedup, forceRead, retryLock);
    }

    /** An engine with default settings (zstd:3, no progress listener) on {@code sink}. */
    public static SgBackup to(BackupSink sink) {
        return builder().sink(sink).build();
    }

    /** An engine with default settings on the sink at {@code uri} ({@code file:///…}, {@code s3://…}, {@code gs://…}). */
    public static SgBackup to(String uri) {
        return builder().sink(uri).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset with this engine's settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.sink = sink; // shared, not owned: this engine closes it
        b.ownsSink = false;
        b.compression = compression;
        b.listener = listener;
        b.parallelism = parallelism;
        b.scope = scope;
        b.stepParallelism = stepParallelism;
        b.encryption = encryption;
        b.dedup = dedup;
        b.forceRead = forceRead;
        b.retryLock = retryLock;
        return b;
    }

    public BackupSink sink() {
        return sink;
    }

    // ---- plans

    /** The plan for backing up {@code stores}; writes nothing. */
    public MigrationPlan planBackup(Collection<? extends DataStore> stores) {
        return engine.planBackup(List.copyOf(stores), scope);
    }

    /** The plan for restoring backup {@code backupId} into {@code targets} (matched to the backup's stores by name). */
    public MigrationPlan planRestore(String backupId, Collection<? extends DataStore> targets, RestoreOptions options) {
        return engine.planRestore(backupId, List.copyOf(targets), options);
    }

    /**
     * The plan for backing up {@code instance} with one of Sourcegraph's options ({@link Scope}); it lists what
     * is left out and what a new instance would have to regenerate. Writes nothing.
     */
    public MigrationPlan planBackup(Instance instance, Scope scope) {
        return engine.planBackup(instance, scope);
    }

    /**
     * The plan for restoring backup {@code backupId} into the new {@code instance}, for one phase or all of
     * them, in phase order (databases, volumes, configuration) with the operator's checkpoints as notes.
     * Configuration the frontend database already carries is not written twice.
     */
    public MigrationPlan planRestore(String backupId, Instance instance, RestoreOptions options, Phase phase) {
        return engine.planRestore(backupId, instance, options, phase);
    }

    /** Runs every check of the plan and returns what it found; writes nothing. */
    public CheckReport check(MigrationPlan plan) {
        return engine.check(plan, true);
    }

    /**
     * The checks of the plan that write nothing at all (for a backup, every check but the sink probe): what a plan
     * shows before it runs, e.g. {@code plan.explain(sg.preview(plan))}.
     */
    public CheckReport preview(MigrationPlan plan) {
        return engine.check(plan, false);
    }

    /** Runs the plan's checks and throws {@link CheckFailedException} (with every finding) if one refuses it. */
    public void validate(MigrationPlan plan) {
        engine.check(plan, true).throwIfFailed();
    }

    /**
     * Checks, then runs the plan. A refused check throws {@link CheckFailedException} (nothing was written). A backup
     * that fails is not committed; a restore that fails says what it changed. Either way the exception carries every
     * step's outcome: {@link SgBackupException#runResult()}.
     */
    public RunResult run(MigrationPlan plan) {
        return engine.run(plan);
    }

    // ---- one-call forms

    public RunResult backup(DataStore... stores) {
        return run(planBackup(Arrays.asList(stores)));
    }

    public RunResult backup(Collection<? extends DataStore> stores) {
        return run(planBackup(stores));
    }

    public RunResult restore(String backupId, RestoreOptions options, DataStore... targets) {
        return run(planRestore(backupId, Arrays.asList(targets), options));
    }

    /**
     * Backs up {@code instance} (an instance file: {@code sgbackup discover}'s description) with one of Sourcegraph's
     * options, its steps run by {@code executor}. {@link Executor#local()}: as {@code run(planBackup(instance
     * .toInstance().build(), scope))}, database passwords from the variables the description references.
     * {@link Executor#kubernetes}: each step a Job running the sgbackup image's {@code worker} command (the description
     * must be of a Kubernetes deployment, the sink s3:// or gs://), this engine the coordinator: it starts the backup
     * (with this engine's encryption, the workers' passphrase coming from the worker Secret), creates the Jobs, and
     * commits the one manifest from their step records when all succeeded; otherwise it deletes the Jobs, removes what
     * they wrote and throws, committing nothing (docs/kubernetes.md). The workers compress with this engine's compression,
     * and with {@code Builder.dedup} make deduplicated steps (with its {@code forceRead} and {@code retryLock}), the
     * engine holding the backup's lease from before the first Job until the commit.
     */
    public RunResult backup(InstanceDescription instance, Scope scope, Executor executor) {
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(scope, "scope");
        if (Objects.requireNonNull(executor, "executor") instanceof Executor.Kubernetes k) {
            return KubernetesRun.backup(this, instance, scope, k.options(), compression.toString(), encryption != null, dedup,
                    forceRead, retryLock);
        }
        return run(planBackup(instance.toInstance().build(), scope));
    }

    /**
     * Restores backup {@code backupId} into {@code instance} (its description), one phase or (locally) all, its steps
     * run by {@code executor}. {@link Executor#local()}: as {@code run(planRestore(backupId, instance.toInstance()
     * .build(), options, phase))}. {@link Executor#kubernetes}: one Job per database or PVC volume of the phase, which
     * must be {@link Phase#DB} or {@link Phase#VOLUMES} (the operator scales the workloads at the checkpoint between
     * them); the configuration comes with the frontend database.
     */
    public RunResult restore(String backupId, InstanceDescription instance, RestoreOptions options, Phase phase, Executor executor) {
        Objects.requireNonNull(instance, "instance");
        if (Objects.requireNonNull(executor, "executor") instanceof Executor.Kubernetes k) {
            return KubernetesRun.restore(this, instance, backupId, options, phase, k.options());
        }
        return run(planRestore(backupId, instance.toInstance().build(), options, phase));
    }

    /**
     * Removes, in the Kubernetes executor's namespace, the Jobs of sgbackup runs none of whose Jobs is active: what a
     * coordinator killed outright (SIGKILL, its node lost) leaves behind, as a live one deletes its Jobs once they
     * have finished. Runs with an active Job are named in the result and left alone. The data such a run wrote
     * without committing is a leftover {@link #prune} removes after its grace period. A local executor has no Jobs:
     * nothing to do.
     */
    public JobsPruned pruneJobs(Executor executor, boolean dryRun) {
        if (Objects.requireNonNull(executor, "executor") instanceof Executor.Kubernetes k) {
            return KubernetesRun.pruneJobs(k.options(), dryRun);
        }
        return new JobsPruned("", dryRun, Map.of(), Map.of());
    }

    // ---- catalog

    /** Committed backups, newest first. Data without a manifest is not a backup and is not listed. */
    public List<BackupSummary> list() {
        return engine.list();
    }

    /** The manifest of a committed backup. */
    public Manifest show(String backupId) {
        return engine.manifest(backupId);
    }

    /**
     * Verifies a backup: a full backup's artifacts are all re-read and their sizes and hashes checked; a deduplicated
     * backup's structure is checked (trees, index, packs present and long enough) without reading chunks. Same as
     * {@code verify(backupId, VerifyOptions.structure())}. Names every problem found.
     */
    public VerifyReport verify(String backupId) {
        return verify(backupId, VerifyOptions.structure());
    }

    /**
     * Verifies a backup as deep as {@code options} say for a deduplicated one: {@link VerifyOptions#readData()} reads
     * every pack it references and checks every chunk against its id, {@link VerifyOptions#readDataSubset(int)} a
     * random N% of those packs. A full backup is always re-read whole; the options change nothing there.
     *
     * <pre>{@code
     * sg.verify(id, VerifyOptions.readDataSubset(10)).throwIfFailed();
     * }</pre>
     */
    public VerifyReport verify(String backupId, VerifyOptions options) {
        return engine.verify(backupId, Objects.requireNonNull(options, "options"));
    }

    /**
     * Changes the passphrase (or raw key) of every encrypted backup in the sink, full and deduplicated, from this
     * engine's {@link Builder#encryption encryption} to {@code newEncryption}, without re-encrypting any data: each
     * backup's manifest gets its data key wrapped anew (an atomic replace), and the deduplicated repository a key object
     * for the new passphrase; the old key objects are deleted last. Afterwards every backup opens with the new
     * passphrase and none with the old. Interrupted (a crash, a sink error), every backup still opens with the old or
     * the new passphrase, and calling it again with the same two finishes the job. Run it while no backup is running:
     * one still running writes its manifest with the old passphrase (a second run then changes it).
     *
     * <pre>{@code
     * SgBackup.builder().sink(sink).encryption(Encryption.passphrase(old)).build()
     *         .changePassphrase(Encryption.passphrase(neu));
     * }</pre>
     *
     * @throws InvalidInputException if this engine has no passphrase, or the deduplicated repository opens with neither
     */
    public PassphraseChange changePassphrase(Encryption newEncryption) {
        return engine.changePassphrase(newEncryption);
    }

    /**
     * Deletes a backup: its manifest first (so it stops existing), then its data. Returns the bytes of the objects
     * deleted: the manifest and a full backup's data, or a deduplicated backup's tree objects. A deduplicated backup's
     * chunks stay in their packs (other backups may share them) until {@link #prune} collects those no backup uses.
     */
    public long delete(String backupId) {
        return engine.delete(backupId);
    }

    /**
     * Removes leftovers of failed or interrupted backups (data without a manifest, sink temp uploads) older
     * than {@code gracePeriod}, so that a backup still running is never touched. Returns the keys removed.
     */
    public List<String> removeLeftovers(Duration gracePeriod, boolean dryRun) {
        return engine.removeLeftovers(gracePeriod, dryRun);
    }

    /**
     * Deletes the committed backups that {@code retention} does not keep, then removes leftovers of failed backups
     * older than {@code gracePeriod} (see {@link #removeLeftovers}). A dry run deletes nothing and reports the same
     * decisions.
     *
     * <p>A backup in progress is never touched: it has no manifest yet, so it is not in {@link #list()} and no rule
     * can remove it; and its data is removed as a leftover only once both its id's time and the object's own time
     * are older than the grace period. The grace period must therefore exceed the longest backup run (default
     * {@link #DEFAULT_PRUNE_GRACE}). A backup whose manifest cannot be read is not listed, so prune leaves it alone.
     *
     * <p>Each backup is deleted through {@link #delete} (manifest first, then data); if one fails, prune goes on
     * with the others and reports it in {@link PruneResult#failed()}.
     *
     * <p>When the sink has a deduplicated repository, prune then collects its garbage (docs/dedup.md, "Garbage
     * collection"): packs no committed backup uses are deleted and mostly-garbage packs repacked
     * ({@link PruneResult#packsDeleted()}, {@link PruneResult#packsRepacked()}, {@link PruneResult#bytesFreed()}).
     * Nothing younger than {@code gracePeriod} is deleted or repacked. A real run takes the sink's exclusive lease
     * first, so it fails with {@link dev.sgbackup.sink.SinkLock.LockedException}, naming the holder, while a
     * deduplicated backup runs (backups hold shared leases) and deletes nothing then; a dry run takes no lease. Prune
     * must read every committed backup to know which chunks are in use: if one cannot be read (e.g. encrypted with a
     * passphrase not given), it deletes nothing and says which. If a deletion fails, nothing is collected.
     */
    public PruneResult prune(Retention retention, Duration gracePeriod, boolean dryRun) {
        return engine.prune(retention, gracePeriod, dryRun, DEFAULT_PRUNE_GRACE);
    }

    /** {@link #prune(Retention, Duration, boolean)} with the default grace period of 24 hours. */
    public PruneResult prune(Retention retention, boolean dryRun) {
        return prune(retention, DEFAULT_PRUNE_GRACE, dryRun);
    }

    // ---- a backup run step by step elsewhere (the Kubernetes executor's workers), committed by a coordinator

    /**
     * Starts backup {@code backupId} (a new id, {@code KubernetesManifests.newBackupId}) whose steps run elsewhere,
     * each through {@link #backupStep}, and that {@link #commitStepBackup} commits. With a passphrase or key this
     * makes the backup's data key and stores its <em>wrapped</em> form (the clear parameters a manifest records, never
     * the key) as {@code data/<id>/_steps/key.json}, so every step encrypts with the same data key, unwrapping it with
     * the passphrase it was given. Without one it writes nothing. A deduplicated engine ({@code Builder.dedup}) also
     * takes the backup's shared lease, which it holds until {@link #commitStepBackup} or {@link #abandonStepBackup} (or
     * {@link #close}): the steps' new chunks belong to no committed backup until then, and the lease keeps a prune from
     * collecting them, so begin and commit with the same engine. It opens the repository first (creating it if the
     * sink has none), so the workers do not race to create it.
     */
    public void beginStepBackup(String backupId) {
        engine.beginStepBackup(backupId);
    }

    /**
     * Runs one step of backup {@code backupId}: backs up {@code store} (the plan's {@code ordinal}-th, from 1, which
     * names its artifacts in an encrypted backup) straight into the sink under the backup's data prefix, then writes
     * the step's record, {@code data/<id>/_steps/sNN.json}: the store's part of the manifest (artifacts, sizes,
     * hashes, warnings; sealed with the data key when encrypted) and its status. No manifest. This engine's
     * compression is the step's; its passphrase or key must be the coordinator's. A failed step removes what it wrote
     * and records nothing. A deduplicated engine makes a deduplicated step (its store's parent found in the sink, as
     * a local backup finds it), holding a shared lease of its own while it runs.
     */
    public StepResult backupStep(String backupId, int ordinal, DataStore store) {
        return engine.backupStep(backupId, ordinal, store);
    }

    /**
     * Commits backup {@code backupId} from its steps' records: {@code stores} are the plan's stores in order (the
     * ordinal of each is its position plus one). Every record must be there, complete and of this backup, and every
     * artifact it lists must be in the sink with its recorded stored size; then the one manifest is written (the
     * commit, as a local run makes it) and the records and the wrapped key are removed. Otherwise it throws and
     * commits nothing. A deduplicated artifact's tree object must be there with its recorded size, and this engine
     * must still hold the lease it took when it began the backup.
     */
    public RunResult commitStepBackup(String backupId, java.time.Instant startedAt, Scope scope, List<String> stores) {
        return engine.commitStepBackup(backupId, startedAt, scope, stores);
    }

    /**
     * The plain bytes step {@code ordinal} of backup {@code backupId} (not committed yet) has read: its record's count
     * once it completed, else the count its worker last wrote to {@code data/<id>/_steps/sNN.progress} (every 10
     * seconds while it runs); empty when neither exists. What the Kubernetes coordinator prints as each step's progress.
     */
    public java.util.OptionalLong stepBytes(String backupId, int ordinal) {
        return engine.stepBytes(backupId, ordinal);
    }

    /**
     * Removes everything under the data prefix of backup {@code backupId}, which must not be committed: what its steps
     * wrote, their records and its wrapped key. Returns the number of objects removed. What it cannot remove is a
     * leftover that {@link #prune} removes after the grace period.
     */
    public long abandonStepBackup(String backupId) {
        return engine.abandonStepBackup(backupId);
    }

    /**
     * Closes the sink this engine opened from a URI ({@link #to(String)}, {@code Builder.sink(String)}), with its
     * connections and threads; a sink the caller handed in stays the caller's to close. Idempotent. Before that it
     * ends the lease of each deduplicated step backup it began and did not commit or abandon (that backup can no
     * longer be committed; prune collects what its steps wrote).
     */
    @Override
    public void close() {
        engine.releaseStepLeases();
        if (ownsSink && !closed.getAndSet(true)) {
            try {
                sink.close();
            } catch (java.io.IOException e) {
                throw new SinkException("closing the sink " + sink + " failed: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "SgBackup[sink=" + sink.uri() + ", compression=" + compression + ", parallelism=" + parallelism
                + (encryption == null ? "" : ", " + encryption) + (dedup ? forceRead ? ", dedup (force read)" : ", dedup" : "")
                + (retryLock.isZero() ? "" : ", retry lock " + dev.sgbackup.manifest.Retention.formatDuration(retryLock)) + "]";
    }

    /** Builder for {@link SgBackup}. */
    public static final class Builder {
        private BackupSink sink;
        private boolean ownsSink;
        private Compression compression = Compression.zstd();
        private ProgressListener listener = ProgressListener.NONE;
        private int parallelism = Math.max(2, Runtime.getRuntime().availableProcessors());
        private Scope scope = Scope.CUSTOM;
        private int stepParallelism = 2;
        private Encryption encryption;
        private boolean dedup;
        private boolean forceRead;
        private java.time.Duration retryLock = java.time.Duration.ZERO;

        private Builder() {
        }

        /**
         * How long a deduplicated backup or a prune waits for a conflicting lease on the sink to end (default zero:
         * it fails at once, naming the holder). A deduplicated backup cannot start while a prune collects garbage, and
         * a prune cannot collect while a backup runs (docs/dedup.md, "The lease protocol"); with a wait, the run
         * tries again, every second at first and then up to every 30 seconds, until the lease is free or the wait is
         * over (then it fails as it would have, saying how long it waited). restic calls this {@code --retry-lock}.
         */
        public Builder retryLock(java.time.Duration wait) {
            if (Objects.requireNonNull(wait, "wait").isNegative()) {
                throw new InvalidInputException("the lock wait must be zero or positive, got " + wait);
            }
            this.retryLock = wait;
            return this;
        }

        /**
         * Deduplicated backups (default false: full backups). New backups cut every artifact into content-defined
         * chunks stored once in the sink's repository ({@code dedup/}: packs, index, trees; created by the first
         * such backup, encrypted if {@link #encryption} is given), so a backup after the first stores only the chunks
         * that changed. Reading (list, show, verify, restore, delete) handles dedup and full backups alike, whatever
         * this setting. See docs/dedup.md.
         */
        public Builder dedup(boolean dedup) {
            this.dedup = dedup;
            return this;
        }

        /**
         * Deduplicated backups read every file (default false). Otherwise a file whose path, size, modification
         * time, status-change time and inode are those it had in the parent backup (the newest deduplicated backup
         * of the same store) is not read again: its chunks are taken from the parent, as restic does. Use it after
         * something may have changed files while keeping their times (a restore of old data with preserved times,
         * a clock set backwards).
         */
        public Builder forceRead(boolean forceRead) {
            this.forceRead = forceRead;
            return this;
        }

        /**
         * Encrypts new backups with this passphrase or key, and opens encrypted backups with it (restore, verify,
         * show). Null: no encryption. Given, it also refuses to read an unencrypted backup, which could be forged.
         */
        public Builder encryption(Encryption encryption) {
            this.encryption = encryption;
            return this;
        }

        public Builder sink(BackupSink sink) {
            this.sink = sink;
            this.ownsSink = false;
            return this;
        }

        public Builder sink(String uri) {
            this.sink = Sinks.open(uri);
            this.ownsSink = true;
            return this;
        }

        public Builder compression(Compression compression) {
            this.compression = Objects.requireNonNull(compression);
            return this;
        }

        public Builder compression(String spec) {
            return compression(Compression.parse(spec));
        }

        public Builder listener(ProgressListener listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        /** How many artifacts a store may process at once (default: cores, at least 2). */
        public Builder parallelism(int parallelism) {
            if (parallelism < 1) {
                throw new InvalidInputException("parallelism must be at least 1");
            }
            this.parallelism = parallelism;
            return this;
        }

        /**
         * How many independent steps (stores) run at once (default 2): in a backup, any of them; in a restore, the
         * steps of one phase (the databases, then the volumes, then the configuration). Each step's memory is
         * bounded by its own buffers, so memory grows with this number, not with the data.
         */
        public Builder stepParallelism(int steps) {
            if (steps < 1) {
                throw new InvalidInputException("stepParallelism must be at least 1");
            }
            this.stepParallelism = steps;
            return this;
        }

        /** The scope recorded in the manifest of backups planned from stores (default {@link Scope#CUSTOM}). */
        public Builder scope(Scope scope) {
            this.scope = Objects.requireNonNull(scope);
            return this;
        }

        public SgBackup build() {
            if (sink == null) {
                throw new InvalidInputException("no sink: call sink(Sinks.local(path)) or sink(\"s3://bucket/prefix\") before build()");
            }
            return new SgBackup(this);
        }
    }
}
