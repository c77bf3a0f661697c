package dev.sgbackup.internal;

import dev.sgbackup.run.Operation;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.PassphraseChange;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The engine's front door, wiring its rooms for one sink: {@link Planner planning}, {@link PreChecks pre-checks},
 * the {@link BackupRun backup} and {@link RestoreRun restore} runs (which schedule steps with {@link StepScheduler}
 * and execute each with {@link StepExecutor}), the {@link Catalog catalog}, {@link Verifier verify} and
 * {@link Housekeeping housekeeping}; keys are in {@link KeyRing}, failure mapping in {@link Failures}. Internal
 * API: {@code SgBackup} is the public one.
 */
public final class Engine {
    private final Planner planner;
    private final PreChecks checks;
    private final RunContext ctx;
    private final BackupRun backups;
    private final RestoreRun restores;
    private final Catalog catalog;
    private final Verifier verifier;
    private final Housekeeping housekeeping;
    private final PassphraseChanger passphrases;
    private final StepBackup stepBackups;

    public Engine(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
                  Encryption encryption) {
        this(sink, compression, listener, parallelism, stepParallelism, encryption, false, false, java.time.Duration.ZERO);
    }

    /**
     * @param dedup     whether new backups are deduplicated (chunks in the sink's {@code dedup/} repository)
     * @param forceRead whether deduplicated backups read every file, even those unchanged since the parent backup
     * @param retryLock how long a deduplicated backup or a prune waits for a conflicting lease to end
     */
    public Engine(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
                  Encryption encryption, boolean dedup, boolean forceRead, java.time.Duration retryLock) {
        KeyRing keys = new KeyRing(encryption);
        this.ctx = new RunContext(sink, compression, listener, parallelism, stepParallelism, keys,
                new Dedup(sink, keys, dedup, forceRead, retryLock));
        this.catalog = new Catalog(ctx);
        this.verifier = new Verifier(ctx, catalog);
        StepExecutor executor = new StepExecutor(ctx, verifier);
        this.planner = new Planner(ctx, catalog);
        this.checks = new PreChecks(ctx, catalog);
        this.backups = new BackupRun(ctx, executor);
        this.restores = new RestoreRun(ctx, catalog, executor);
        this.housekeeping = new Housekeeping(ctx, catalog);
        this.passphrases = new PassphraseChanger(ctx);
        this.stepBackups = new StepBackup(ctx, executor);
    }

    public MigrationPlan planBackup(List<DataStore> stores, Scope scope) {
        ctx.dedup().prefetch();
        return planner.backup(stores, scope);
    }

    public MigrationPlan planBackup(Instance instance, Scope scope) {
        ctx.dedup().prefetch();
        return planner.backup(instance, scope);
    }

    public MigrationPlan planRestore(String backupId, List<DataStore> targets, RestoreOptions options) {
        warmUpForRestore();
        return planner.restore(backupId, targets, options, Map.of(), List.of());
    }

    public MigrationPlan planRestore(String backupId, Instance instance, RestoreOptions options, Phase phase) {
        warmUpForRestore();
        return planner.restore(backupId, instance, options, phase);
    }

    /**
     * A restore with a passphrase decrypts everything it restores, and first derives the key-encryption key on this
     * thread, leaving the other core idle: the AES-GCM and SHA-256 warm-up runs there meanwhile.
     */
    private void warmUpForRestore() {
        if (ctx.keys().encryption() != null) {
            dev.sgbackup.dedup.DedupRepository.warmUp();
        }
    }

    /** The plan's checks; {@code probeSink}: for a backup, prove the sink writable with a probe object. */
    public CheckReport check(MigrationPlan plan, boolean probeSink) {
        return checks.check(plan, probeSink);
    }

    /** Checks (a refusal throws {@link dev.sgbackup.run.CheckFailedException}), then runs the plan. */
    public RunResult run(MigrationPlan plan) {
        CheckReport report = checks.check(plan, true);
        report.throwIfFailed();
        return plan.operation() == Operation.BACKUP ? backups.run(plan, report) : restores.run(plan, report);
    }

    public Manifest manifest(String backupId) {
        return catalog.manifest(backupId);
    }

    public List<BackupSummary> list() {
        return catalog.list();
    }

    public VerifyReport verify(String backupId, VerifyOptions options) {
        return verifier.verify(backupId, options);
    }

    public PassphraseChange changePassphrase(Encryption to) {
        return passphrases.change(to);
    }

    public long delete(String backupId) {
        return catalog.delete(backupId);
    }

    public List<String> removeLeftovers(Duration grace, boolean dryRun) {
        return housekeeping.removeLeftovers(grace, dryRun);
    }

    public PruneResult prune(Retention retention, Duration gracePeriod, boolean dryRun, Duration defaultGrace) {
        return housekeeping.prune(retention, gracePeriod, dryRun, defaultGrace);
    }

    public void beginStepBackup(String backupId) {
        stepBackups.begin(backupId);
    }

    public dev.sgbackup.run.StepResult backupStep(String backupId, int ordinal, DataStore store) {
        return stepBackups.step(backupId, ordinal, store);
    }

    public RunResult commitStepBackup(String backupId, java.time.Instant startedAt, Scope scope, List<String> stores) {
        return stepBackups.commit(backupId, startedAt, scope, stores);
    }

    public java.util.OptionalLong stepBytes(String backupId, int ordinal) {
        return stepBackups.bytes(backupId, ordinal);
    }

    public long abandonStepBackup(String backupId) {
        return stepBackups.abandon(backupId);
    }

    /** Ends the leases of deduplicated step backups this engine began and did not commit or abandon. */
    public void releaseStepLeases() {
        stepBackups.close();
    }
}
