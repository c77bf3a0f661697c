package dev.sgbackup.internal;

import dev.sgbackup.run.Operation;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.Sizes;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Pre-checks: everything a plan can be refused for before it writes a byte. For a backup: the sink is writable
 * (a probe object), a local sink has room, every source is readable, and a dedup backup's repository opens with the
 * passphrase (created on the first one). For a restore: the backup's manifest opens (and the dedup repository, for a
 * dedup backup), each target is of the stored kind and accepts the restore (empty or replace, rights, versions).
 */
final class PreChecks {
    /** Where write probes go; housekeeping removes any a killed run left. */
    static final String PROBES = "probes/";

    private final RunContext ctx;
    private final Catalog catalog;

    PreChecks(RunContext ctx, Catalog catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    /**
     * The plan's checks. {@code probeSink}: for a backup, also write and delete a probe object to prove the sink
     * is writable; without it nothing at all is written (for showing a plan).
     */
    CheckReport check(MigrationPlan plan, boolean probeSink) {
        CheckReport report = new CheckReport();
        if (plan.operation() == Operation.BACKUP) {
            if (probeSink) {
                checkSinkWritable(report);
                if (ctx.dedup().enabled()) {
                    checkDedupRepository(report, true);
                }
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
                m = catalog.manifest(plan.backupId());
            } catch (SgBackupException e) {
                report.error("backup " + plan.backupId(), e.getMessage());
                return report;
            }
            if (m.artifacts().stream().anyMatch(dev.sgbackup.store.ArtifactInfo::deduplicated)) {
                checkDedupRepository(report, false);
            }
            for (DataStore s : plan.stores()) {
                StoreBackup sb = m.requireStore(s.name());
                if (!sb.kind().equals(s.kind().id())) {
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
        if (!"file".equals(ctx.sink().uri().getScheme())) {
            return;
        }
        long estimate = plan.steps().stream().filter(s -> s.action() == PlanStep.Action.BACKUP).mapToLong(s -> Math.max(0, s.estimatedSize())).sum();
        try {
            Path p = Path.of(ctx.sink().uri());
            while (p != null && !Files.exists(p)) {
                p = p.getParent();
            }
            if (p == null) {
                return;
            }
            long free = Files.getFileStore(p).getUsableSpace();
            if (estimate > free) {
                report.warn("sink " + ctx.sink().uri(), "the data to back up is estimated at " + Sizes.human(estimate)
                        + " before compression, and " + Sizes.human(free) + " is free there");
            }
        } catch (IOException | RuntimeException e) {
            // free space is not knowable here; nothing to report
        }
    }

    /**
     * The sink's deduplicated repository opens with the run's passphrase or key (for a backup, {@code create}: it is
     * created if the sink has none yet), so a wrong passphrase is refused before any store runs.
     */
    private void checkDedupRepository(CheckReport report, boolean create) {
        try {
            ctx.dedup().repository(create);
        } catch (IOException | SgBackupException e) {
            if (Failures.interrupted(e)) {
                throw new CancelledException("cancelled before any store ran; nothing was committed");
            }
            report.error("deduplicated repository in " + ctx.sink().uri(), e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private void checkSinkWritable(CheckReport report) {
        String key = PROBES + UUID.randomUUID();
        try {
            try (PendingObject o = ctx.sink().create(key)) {
                o.stream().write(new byte[] {'o', 'k'});
                o.commit();
            }
            ctx.sink().delete(key);
        } catch (IOException | SgBackupException e) {
            if (Failures.interrupted(e)) {
                throw new CancelledException("cancelled before anything was written; nothing was committed");
            }
            report.error("sink " + ctx.sink().uri(), "not writable: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }
}
