package dev.sgbackup.plan;

import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.Operation;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a run will do, as data: the ordered steps (which stores, into or from which sink, with which
 * transforms), printable as a table with {@link #explain()} / {@link #toString()}, checkable before it runs
 * ({@code SgBackup.check(plan)}), then executed by {@code SgBackup.run(plan)}. Building a plan writes nothing.
 */
public final class MigrationPlan {
    private final Operation operation;
    private final String sink;
    private final String backupId;
    private final Scope scope;
    private final String transforms;
    private final RestoreOptions options;
    private final List<PlanStep> steps;
    private final List<DataStore> stores;
    private final List<String> notes;

    public MigrationPlan(Operation operation, String sink, String backupId, Scope scope, String transforms,
                         RestoreOptions options, List<PlanStep> steps, List<DataStore> stores, List<String> notes) {
        this.operation = Objects.requireNonNull(operation);
        this.sink = sink;
        this.backupId = backupId;
        this.scope = java.util.Objects.requireNonNull(scope, "scope");
        this.transforms = transforms;
        this.options = options;
        this.steps = List.copyOf(steps);
        this.stores = List.copyOf(stores);
        this.notes = List.copyOf(notes);
    }

    public Operation operation() {
        return operation;
    }

    /** The sink's URI (no secrets). */
    public String sink() {
        return sink;
    }

    /** For a restore, the backup to read; for a backup, null until it runs. */
    public String backupId() {
        return backupId;
    }

    /** The preset the plan backs up, or {@link Scope#CUSTOM}; for a restore, the backup's. */
    public Scope scope() {
        return scope;
    }

    /** The transforms a backup applies, e.g. {@code zstd:3}. */
    public String transforms() {
        return transforms;
    }

    public RestoreOptions options() {
        return options;
    }

    public List<PlanStep> steps() {
        return steps;
    }

    /** The stores the steps run, in order (skipped steps have none). */
    public List<DataStore> stores() {
        return stores;
    }

    /** Notes for the operator: what is left out and why, checkpoints, requirements. */
    public List<String> notes() {
        return notes;
    }

    /** Returns a copy with more notes. */
    public MigrationPlan withNotes(List<String> more) {
        List<String> n = new ArrayList<>(notes);
        n.addAll(more);
        return new MigrationPlan(operation, sink, backupId, scope, transforms, options, steps, stores, n);
    }

    /** Returns a copy whose steps are {@code newSteps} (same stores) plus more notes. */
    public MigrationPlan withSteps(List<PlanStep> newSteps, List<String> moreNotes) {
        List<String> n = new ArrayList<>(notes);
        n.addAll(moreNotes);
        return new MigrationPlan(operation, sink, backupId, scope, transforms, options, newSteps, stores, n);
    }

    /** The plan as a table. */
    public String explain() {
        StringBuilder sb = new StringBuilder();
        if (operation == Operation.BACKUP) {
            sb.append("backup  scope=").append(scope).append("  to ").append(sink).append("  transforms=").append(transforms).append('\n');
        } else {
            sb.append("restore backup ").append(backupId).append("  from ").append(sink)
                    .append(options.replace() ? "  replace" : "").append(options.dryRun() ? "  dry-run" : "").append('\n');
        }
        sb.append(String.format("%-8s %-16s %-20s %-9s %-11s %s%n", "ACTION", "STORE", "KIND", "SIZE", "RECREATABLE", "HOLDS"));
        long total = 0;
        for (PlanStep s : steps) {
            sb.append(s).append('\n');
            if (s.estimatedSize() > 0 && s.action() != PlanStep.Action.SKIP) {
                total += s.estimatedSize();
            }
        }
        sb.append("total ").append(Sizes.human(total)).append('\n');
        for (String n : notes) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /**
     * The plan as a table followed by what its checks found ({@code sg.preview(plan)} or {@code sg.check(plan)}):
     * errors, warnings and facts (tables added for foreign keys, unknown tables, encrypted rows), and for a
     * restore what it empties or clears in its targets.
     */
    public String explain(CheckReport checks) {
        return explain() + checks(checks);
    }

    /** The {@code checks} section of {@link #explain(CheckReport)}. */
    public static String checks(CheckReport checks) {
        StringBuilder sb = new StringBuilder();
        List<CheckReport.Finding> findings = checks.findings();
        List<CheckReport.Change> changes = checks.changes();
        long errors = findings.stream().filter(CheckReport.Finding::error).count();
        sb.append("checks: ").append(errors == 0 ? "passed" : errors + (errors == 1 ? " error" : " errors") + ": refused");
        long warnings = findings.stream().filter(f -> f.level() == CheckReport.Level.WARNING).count();
        if (warnings > 0) {
            sb.append(", ").append(warnings).append(warnings == 1 ? " warning" : " warnings");
        }
        sb.append('\n');
        for (CheckReport.Finding f : findings) {
            sb.append("  ").append(f).append('\n');
        }
        List<CheckReport.Change> beyond = changes.stream().filter(c -> c.action() != CheckReport.Change.Action.WRITE).toList();
        if (!changes.isEmpty()) {
            sb.append("changes: ").append(changes.size() - beyond.size()).append(" written");
            long emptied = beyond.stream().filter(c -> c.action() == CheckReport.Change.Action.EMPTY).count();
            sb.append(", ").append(emptied).append(" emptied first, ").append(beyond.size() - emptied).append(" cleared\n");
            for (CheckReport.Change c : beyond) {
                sb.append("  ").append(c).append('\n');
            }
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return explain();
    }
}
