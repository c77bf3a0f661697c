package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreKind;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.time.Duration;
import java.time.Instant;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Step execution, on its own: given a backup id, the sink (in the context) and one step's store, runs that one
 * step and produces its result — for a backup, the {@link StoreBackup} record the manifest will list; for a
 * restore, the target filled from the stored artifacts. It needs nothing of the rest of the plan, so a step can
 * run in another thread, process or machine, and a coordinator commits the manifest from the records.
 *
 * <p>A failed step throws {@link StepScheduler.StepFailure} carrying the step's result (what it had done), with
 * the cause as its cause.
 */
final class StepExecutor {
    /** A finished backup step: its result for the run, and what it stored, for the manifest. */
    record BackupRecord(StepResult result, StoreBackup stored) {
    }

    private final RunContext ctx;
    private final Verifier verifier;

    StepExecutor(RunContext ctx, Verifier verifier) {
        this.ctx = ctx;
        this.verifier = verifier;
    }

    /**
     * Backs up one store into backup {@code backupId}.
     *
     * @param ordinal the store's position in the plan, from 1 (names it in opaque, encrypted artifact keys)
     * @param dataKey the backup's data key, or null for an unencrypted backup
     * @param written receives the key of every object committed, so a failed run can remove them
     */
    BackupRecord backup(String backupId, int ordinal, DataStore store, Encryption.DataKey dataKey, Progress progress,
                        Set<String> written) {
        Instant t0 = Instant.now();
        progress.emit(ProgressEvent.Type.STEP_STARTED, store.name(), null, null);
        DedupRepository.Writer dedup = null;
        StoreOutput out = null;
        try {
            Map<String, DedupRepository.Parent> parents = Map.of();
            if (ctx.dedup().enabled()) {
                dedup = ctx.dedup().repository(true).writer(store.name(), ctx.compression());
                parents = ctx.dedup().parents(store, new Catalog(ctx)::deduplicated);
                if (ctx.keys().present() && (parents.isEmpty() || !StoreKind.VOLUME.equals(store.kind()))) {
                    // every byte is chunked, hashed and (where new) sealed: only a volume with a parent skips its
                    // unchanged files unread
                    DedupRepository.warmUp();
                }
            }
            out = new StoreOutput(ctx.sink(), ctx.compression(), ctx.parallelism(), backupId, store, progress, written,
                    dataKey, ordinal, dedup, parents);
            store.backup(out);
            StoreBackup sb = out.finish();
            long stored = sb.storedSize();
            if (dedup != null) {
                dedup.close(); // the last pack, then the index: before the manifest references any chunk
                stored += dedup.packBytes(); // what the backup added to the sink: its trees and new packs
            }
            progress.emit(ProgressEvent.Type.STEP_FINISHED, store.name(), null, null);
            return new BackupRecord(new StepResult(store.name(), store.kind().id(), StepResult.Status.COMPLETED, sb.artifacts().size(),
                    sb.size(), stored, Duration.between(t0, Instant.now()), null, sb.warnings()), sb);
        } catch (Throwable t) {
            if (out != null) {
                out.abortAll();
            }
            if (dedup != null) {
                try {
                    dedup.abort();
                } catch (IOException | RuntimeException e) {
                    t.addSuppressed(e);
                }
            }
            throw new StepScheduler.StepFailure(new StepResult(store.name(), store.kind().id(), StepResult.Status.FAILED,
                    out == null ? 0 : out.artifacts.size(), 0, 0, Duration.between(t0, Instant.now()), String.valueOf(t.getMessage()),
                    out == null ? List.of() : out.warnings), t);
        }
    }

    /**
     * Restores one store of backup {@code m} into {@code target}. A store's failure that re-reading shows to be
     * damaged bytes becomes an {@link IntegrityException} naming the damage.
     */
    StepResult restore(Manifest m, StoreBackup sb, DataStore target, RestoreOptions options, Progress progress) {
        Instant t0 = Instant.now();
        progress.emit(ProgressEvent.Type.STEP_STARTED, sb.name(), null, null);
        StoreInput in = new StoreInput(ctx, m, sb, options, progress);
        try {
            target.restore(in);
        } catch (Throwable t) {
            Throwable failure = t;
            if (!(t instanceof IntegrityException) && !Failures.interrupted(t)) {
                // damaged bytes can make a store's parser fail before the end-of-artifact check: say so
                String damage = verifier.damage(m, sb);
                if (damage != null) {
                    failure = new IntegrityException(damage + " (the store reported: " + t.getMessage() + ")", t);
                }
            }
            throw new StepScheduler.StepFailure(new StepResult(sb.name(), sb.kind(), StepResult.Status.FAILED, 0, 0, 0,
                    Duration.between(t0, Instant.now()), String.valueOf(failure.getMessage()), in.warnings), failure);
        }
        progress.emit(ProgressEvent.Type.STEP_FINISHED, sb.name(), null, null);
        return new StepResult(sb.name(), sb.kind(), StepResult.Status.COMPLETED, sb.artifacts().size(), sb.size(), sb.storedSize(),
                Duration.between(t0, Instant.now()), null, in.warnings);
    }
}
