package dev.sgbackup;

import dev.sgbackup.internal.Engine;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * The entry point: one sink, built once, immutable and shareable.
 *
 * <pre>{@code
 * var sg = SgBackup.to(Sinks.local(Path.of("/backups")));
 * RunResult r = sg.backup(Stores.directory("repos", Path.of("/data/repos")));
 * sg.list();                       // committed backups, newest first
 * sg.verify(r.backupId());         // re-reads every artifact
 * sg.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("repos", Path.of("/new/repos")));
 * }</pre>
 */
public final class SgBackup {
    private final BackupSink sink;
    private final Compression compression;
    private final ProgressListener listener;
    private final int parallelism;
    private final String scope;
    private final Engine engine;

    private SgBackup(Builder b) {
        this.sink = Objects.requireNonNull(b.sink, "sink");
        this.compression = b.compression;
        this.listener = b.listener;
        this.parallelism = b.parallelism;
        this.scope = b.scope;
        this.engine = new Engine(sink, compression, listener, parallelism);
    }

    /** An engine with default settings (zstd:3, no progress listener) on {@code sink}. */
    public static SgBackup to(BackupSink sink) {
        return builder().sink(sink).build();
    }

    /** An engine with default settings on the sink at {@code uri} ({@code file:///…}, {@code s3://…}, {@code gs://…}). */
    public static SgBackup to(String uri) {
        return to(Sinks.open(uri));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset with this engine's settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.sink = sink;
        b.compression = compression;
        b.listener = listener;
        b.parallelism = parallelism;
        b.scope = scope;
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

    /** Runs every check of the plan and returns what it found; writes nothing. */
    public CheckReport check(MigrationPlan plan) {
        return engine.check(plan);
    }

    /** Runs the plan's checks and throws {@link InvalidInputException} listing every failure. */
    public void validate(MigrationPlan plan) {
        engine.check(plan).throwIfFailed();
    }

    /** Checks, then runs the plan. A backup that fails is not committed; a restore that fails says what it changed. */
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

    // ---- catalog

    /** Committed backups, newest first. Data without a manifest is not a backup and is not listed. */
    public List<BackupSummary> list() {
        return engine.list();
    }

    /** The manifest of a committed backup. */
    public Manifest show(String backupId) {
        return engine.manifest(backupId);
    }

    /** Re-reads every artifact of a backup and checks sizes and hashes; names every bad artifact. */
    public VerifyReport verify(String backupId) {
        return engine.verify(backupId);
    }

    /** Deletes a backup: its manifest first (so it stops existing), then its data. */
    public void delete(String backupId) {
        engine.delete(backupId);
    }

    /**
     * Removes leftovers of failed or interrupted backups (data without a manifest, sink temp uploads) older
     * than {@code gracePeriod}, so that a backup still running is never touched. Returns the keys removed.
     */
    public List<String> removeLeftovers(Duration gracePeriod, boolean dryRun) {
        return engine.removeLeftovers(gracePeriod, dryRun);
    }

    @Override
    public String toString() {
        return "SgBackup[sink=" + sink.uri() + ", compression=" + compression + ", parallelism=" + parallelism + "]";
    }

    /** Builder for {@link SgBackup}. */
    public static final class Builder {
        private BackupSink sink;
        private Compression compression = Compression.zstd();
        private ProgressListener listener = ProgressListener.NONE;
        private int parallelism = Math.max(2, Runtime.getRuntime().availableProcessors());
        private String scope = "custom";

        private Builder() {
        }

        public Builder sink(BackupSink sink) {
            this.sink = sink;
            return this;
        }

        public Builder sink(String uri) {
            this.sink = Sinks.open(uri);
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

        /** The scope label recorded in the manifest ({@code config}, {@code postgres}, {@code all}, {@code custom}). */
        public Builder scope(String scope) {
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
