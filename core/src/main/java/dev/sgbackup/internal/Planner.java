package dev.sgbackup.internal;

import dev.sgbackup.run.Operation;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.StoreKind;
import dev.sgbackup.store.postgres.PostgresStore;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Planning: turns stores (or a described instance and a scope) into a {@link MigrationPlan} for a backup, and a
 * backup's manifest plus targets into a restore plan in phase order. Reads at most the manifest; writes nothing.
 */
final class Planner {
    private final RunContext ctx;
    private final Catalog catalog;

    Planner(RunContext ctx, Catalog catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    MigrationPlan backup(List<DataStore> stores, Scope scope) {
        Set<String> names = new HashSet<>();
        List<PlanStep> steps = new ArrayList<>();
        for (DataStore s : stores) {
            Layout.checkStoreName(s.name());
            if (!names.add(s.name())) {
                throw new InvalidInputException("store name '" + s.name() + "' is used twice; store names must be unique within a backup");
            }
            steps.add(new PlanStep(s.name(), s.kind().id(), PlanStep.Action.BACKUP, s.describe(), null, s.estimateSize(), null));
        }
        if (stores.isEmpty()) {
            throw new InvalidInputException("nothing to back up: name at least one store (e.g. --volume NAME=DIR)");
        }
        return new MigrationPlan(Operation.BACKUP, ctx.sink().uri().toString(), null, scope,
                ctx.keys().transformIds(ctx.compression().toString()), RestoreOptions.defaults(), steps, stores, List.of());
    }

    /**
     * The plan for backing up {@code instance} with one of Sourcegraph's options: the stores it selects, with what
     * each holds and whether a new instance could recreate it, plus what is left out and why.
     */
    MigrationPlan backup(Instance instance, Scope scope) {
        Instance.Selection sel = instance.select(scope);
        if (sel.stores().isEmpty()) {
            throw new InvalidInputException("nothing to back up for scope " + scope.id() + ": "
                    + (sel.notes().isEmpty() ? "the instance names no store for it" : String.join("; ", sel.notes())));
        }
        MigrationPlan plan = backup(sel.stores(), scope);
        List<PlanStep> steps = new ArrayList<>();
        for (PlanStep s : plan.steps()) {
            steps.add(new PlanStep(s.store(), s.kind(), s.action(), sel.holds().getOrDefault(s.store(), s.holds()) + " [" + s.holds() + "]",
                    sel.recreatable().get(s.store()), s.estimatedSize(), s.note()));
        }
        steps.addAll(sel.leftOut());
        return plan.withSteps(steps, sel.notes());
    }

    /**
     * A restore plan: the targets run in the order given; the backup's other stores become skip rows with the
     * reason in {@code skipNotes} (default "no target given").
     */
    MigrationPlan restore(String backupId, List<DataStore> targets, RestoreOptions options, Map<String, String> skipNotes,
                          List<String> notes) {
        Manifest m = catalog.manifest(backupId);
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
            steps.add(new PlanStep(sb.name(), sb.kind(), PlanStep.Action.RESTORE, t.describe(), null, sb.size(), null));
            stores.add(t);
        }
        for (StoreBackup sb : m.stores()) {
            if (!byName.containsKey(sb.name())) {
                steps.add(new PlanStep(sb.name(), sb.kind(), PlanStep.Action.SKIP, sb.description(), null, sb.size(),
                        skipNotes.getOrDefault(sb.name(), "no target given")));
            }
        }
        return new MigrationPlan(Operation.RESTORE, ctx.sink().uri().toString(), backupId, Scope.fromId(m.scope()), String.join(",",
                m.artifacts().stream().flatMap(a -> a.transforms().stream()).distinct().toList()), options, steps, stores, notes);
    }

    /**
     * The plan for restoring backup {@code backupId} into the new {@code instance}, for one phase or all of them,
     * in phase order (databases, volumes, configuration) with the operator's checkpoints as notes. Configuration
     * the frontend database already carries is not written twice.
     */
    MigrationPlan restore(String backupId, Instance instance, RestoreOptions options, Phase phase) {
        Manifest m = catalog.manifest(backupId);
        boolean dbCarriesConfig = m.stores().stream().anyMatch(s -> s.name().equals("frontend") && PostgresStore.carriesConfiguration(s));
        boolean frontendTarget = instance.target("frontend", "postgres") != null && m.store("frontend").isPresent();
        List<DataStore> targets = new ArrayList<>();
        Map<String, String> skip = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (StoreBackup sb : m.stores()) {
            if (StoreKind.builtIn(sb.kind()).isEmpty()) {
                // a kind of the user's own: an instance description names only Sourcegraph's stores
                skip.put(sb.name(), "the target instance names no " + sb.kind() + " '" + sb.name() + "'");
            }
        }
        for (Phase p : List.of(Phase.DB, Phase.VOLUMES, Phase.CONFIG)) {
            boolean any = false;
            for (StoreBackup sb : m.stores()) {
                Optional<StoreKind> kind = StoreKind.builtIn(sb.kind());
                if (kind.isEmpty() || kind.get().phase() != p) {
                    continue;
                }
                if (!phase.includes(p)) {
                    skip.put(sb.name(), "phase " + p.name().toLowerCase(Locale.ROOT) + " not selected");
                    continue;
                }
                if (p == Phase.CONFIG && dbCarriesConfig && frontendTarget) {
                    skip.put(sb.name(), "already restored with the frontend database; not written twice");
                    continue;
                }
                DataStore t = instance.target(sb.name(), sb.kind());
                if (t == null) {
                    skip.put(sb.name(), "the target instance names no " + sb.kind() + " '" + sb.name() + "'");
                    continue;
                }
                targets.add(t);
                any = true;
            }
            if (any) {
                notes.add("checkpoint before phase " + p.name().toLowerCase(Locale.ROOT) + ": " + p.checkpoint());
            }
        }
        if (targets.isEmpty()) {
            throw new InvalidInputException("nothing to restore from " + backupId + " in phase " + phase.name().toLowerCase(Locale.ROOT)
                    + ": " + skip);
        }
        return restore(backupId, targets, options, skip, notes);
    }
}
