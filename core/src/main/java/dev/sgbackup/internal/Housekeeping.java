package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.manifest.RetentionDecision;
import dev.sgbackup.sink.ObjectInfo;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Housekeeping: removing what failed or killed runs left behind (data without a manifest, probes, unfinished
 * uploads) once it is older than a grace period, and pruning committed backups by a retention policy.
 */
final class Housekeeping {
    private final RunContext ctx;
    private final Catalog catalog;

    Housekeeping(RunContext ctx, Catalog catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    /** See {@code SgBackup.prune}: deletes what {@code retention} does not keep, oldest first, then the leftovers. */
    PruneResult prune(Retention retention, Duration gracePeriod, boolean dryRun, Duration defaultGrace) {
        Objects.requireNonNull(retention, "retention");
        if (gracePeriod == null || gracePeriod.isNegative()) {
            throw new InvalidInputException("the prune grace period must be zero or positive, got " + gracePeriod
                    + "; it must exceed the longest backup run (default " + defaultGrace.toHours() + "h)");
        }
        boolean collect;
        try {
            collect = DedupRepository.exists(ctx.sink());
        } catch (IOException e) {
            throw new SinkException("reading " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        // garbage collection deletes chunks: no backup may be running (they hold shared leases); a dry run deletes
        // nothing and takes no lease, so it never stops a backup (its numbers describe the sink as it was)
        Lease lease = collect && !dryRun ? Lease.exclusive(ctx.sink(), "prune", ctx.dedup().retryLock()) : null;
        try {
            return prune(retention, gracePeriod, dryRun, collect, lease);
        } finally {
            if (lease != null) {
                lease.close();
            }
        }
    }

    private PruneResult prune(Retention retention, Duration gracePeriod, boolean dryRun, boolean collect, Lease lease) {
        DedupRepository repo = null;
        List<DedupRepository.LiveTree> live = List.of();
        RetentionDecision decision = retention.decide(catalog.list(), Instant.now());
        if (collect) {
            try {
                repo = ctx.dedup().repository(false);
            } catch (IOException e) {
                throw new SinkException("opening the deduplicated repository in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
            }
            // every committed backup's trees, read before anything is deleted: one that cannot be read stops the prune here
            // (those about to be deleted are not needed: if one's deletion fails, nothing is collected)
            live = catalog.liveTrees(repo.encrypted(), Set.copyOf(decision.removedIds()));
        }
        List<String> deleted = new ArrayList<>();
        Map<String, String> failed = new LinkedHashMap<>();
        if (!dryRun) {
            // oldest first, so an interrupted prune has removed the least valuable backups
            List<String> ids = new ArrayList<>(decision.removedIds());
            Collections.reverse(ids);
            for (String id : ids) {
                try {
                    catalog.delete(id);
                    deleted.add(id);
                } catch (InvalidInputException gone) {
                    deleted.add(id); // deleted meanwhile by someone else: the outcome is the one asked for
                } catch (SgBackupException e) {
                    failed.put(id, e.getMessage());
                }
            }
        }
        List<String> leftovers = removeLeftovers(gracePeriod, dryRun);
        DedupRepository.Collected gc = null;
        // a backup whose deletion failed may still be committed, and its trees were not read: collect nothing this time
        if (repo != null && failed.isEmpty()) {
            try {
                Runnable checkLease = lease == null ? () -> { } : lease::check;
                gc = repo.collect(live, gracePeriod, dryRun, checkLease);
                leftovers.addAll(repo.removeLostKeyObjects(gracePeriod, dryRun, checkLease));
            } catch (IOException e) {
                throw new SinkException("garbage collection in " + ctx.sink().uri() + " failed: " + e.getMessage() + "; nothing a backup"
                        + " references was deleted. Run prune again", e);
            }
        }
        return new PruneResult(decision, gracePeriod, dryRun, deleted, failed, leftovers, gc == null ? 0 : gc.packsDeleted(),
                gc == null ? 0 : gc.packsRepacked(), gc == null ? 0 : gc.bytesFreed());
    }

    /**
     * Removes data of backups that never committed, and sink probes, once both the backup id's time and the
     * object's own time are older than {@code grace}; returns the keys removed (or that would be, in a dry run).
     */
    List<String> removeLeftovers(Duration grace, boolean dryRun) {
        Instant cutoff = Instant.now().minus(grace);
        List<String> removed = new ArrayList<>();
        try {
            Set<String> committed = new HashSet<>();
            ctx.sink().listAll(Layout.MANIFESTS).forEach(o -> {
                String id = Layout.backupIdOfManifest(o.key());
                if (id != null) {
                    committed.add(id);
                }
            });
            List<String> batch = new ArrayList<>();
            for (ObjectInfo o : (Iterable<ObjectInfo>) ctx.sink().listAll(Layout.DATA)::iterator) {
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
            ctx.sink().listAll(PreChecks.PROBES).filter(o -> o.lastModified().isBefore(cutoff)).forEach(o -> {
                removed.add(o.key());
                batch.add(o.key());
            });
            if (!dryRun) {
                ctx.sink().deleteAll(batch);
                ctx.sink().removeStaleUploads("", grace);
            }
        } catch (IOException e) {
            throw new SinkException("removing leftovers from " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        return removed;
    }
}
