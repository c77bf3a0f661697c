package dev.sgbackup.examples.cli;

import dev.sgbackup.store.StoreKind;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.store.Phase;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code sgbackup restore}: writes a backup's stores to the targets the store flags name, and only those, after
 * checking each is a store of that kind in the backup. stdout: one line per step (with {@code --dry-run} the plan
 * first), or the JSON with {@code --json}; skipped stores, notes and findings go to stderr.
 */
final class RestoreCommand {
    static final Set<String> VALUE_FLAGS = KubernetesExecutor.withFlags(StoreFlags.withStoreFlags(Set.of("--from", "--backup", "--secrets",
            "--phase", "--pg-restore-jobs"), false));
    static final Set<String> SWITCHES = Set.of("--replace", "--dry-run", "--json");

    private RestoreCommand() {
    }

    static int run(Session s, Args a) {
        if (KubernetesExecutor.selected(a)) {
            return KubernetesExecutor.run(s, a);
        }
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        String id = a.required("--backup");
        Phase phase;
        try {
            phase = a.one("--phase") == null ? Phase.ALL : Phase.parse(a.one("--phase"));
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        Manifest m = null;
        if (a.one("--instance") != null) {
            // an --instance file of another deployment names volumes differently: its stores are matched by kind,
            // so the backup is read before the file
            m = sg.show(id);
            s.restoringVolumes = m.stores().stream().filter(st -> st.kind().equals(StoreKind.VOLUME.id())).map(StoreBackup::name).toList();
        }
        StoreFlags.flagEndpoints(s, a, "--from");
        Instance instance = StoreFlags.instance(s, a, false).build(); // only what the flags name: the environment adds no target
        StoreFlags.requireStores(s, a); // at least one target, with the flags' own checks
        if (m == null) {
            m = sg.show(id);
        }
        checkNamedStores(a, id, m);
        MigrationPlan p = s.withEndpointNotes(sg.planRestore(id, instance, new RestoreOptions(a.has("--replace"), a.has("--dry-run")),
                phase));
        p.steps().stream().filter(st -> st.action() == PlanStep.Action.SKIP)
                .forEach(st -> s.err.println("skipped: store " + st.store() + " (" + st.kind() + "): " + st.note()));
        p.notes().forEach(n -> s.err.println(n));
        RunResult r = sg.run(p);
        s.report(r.checks());
        if (!a.has("--dry-run")) {
            s.printFindings(r.checks()); // a dry run shows them with the plan
        }
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.mapper(), a.command, p, r, r.checks(), s.endpoints, null, false)));
            return 0;
        }
        if (a.has("--dry-run")) {
            s.out.print(p.explain(r.checks()));
            s.out.print(RunJson.text(s.endpoints));
        }
        for (StepResult st : r.steps()) {
            if (st.status() != StepResult.Status.SKIPPED || a.has("--dry-run")) {
                s.out.println(st.step() + " " + st.kind() + " " + st.status().name().toLowerCase() + " " + st.artifacts() + " artifacts "
                        + st.bytes() + " bytes" + (st.message() == null ? "" : " (" + st.message() + ")"));
            }
        }
        return 0;
    }

    /** Each store the flags name is in backup {@code id}, and of the kind its flag says; else a usage error. */
    private static void checkNamedStores(Args a, String id, Manifest m) {
        Map<String, StoreKind> named = new LinkedHashMap<>();
        a.pairs("--volume").keySet().forEach(n -> named.put(n, StoreKind.VOLUME));
        a.pairs("--postgres").keySet().forEach(n -> named.put(n, StoreKind.POSTGRES));
        if (a.one("--sourcegraph") != null || a.one("--sourcegraph-db") != null) {
            named.put(Instance.CONFIG_STORE, StoreKind.SOURCEGRAPH_CONFIG);
        }
        for (Map.Entry<String, StoreKind> e : named.entrySet()) {
            StoreBackup sb = m.store(e.getKey()).orElseThrow(() -> new Args.UsageException("backup " + id + " has no store '"
                    + e.getKey() + "'; it has: " + String.join(", ", m.storeNames())));
            if (!sb.kind().equals(e.getValue().id())) {
                throw new Args.UsageException("store '" + e.getKey() + "' of backup " + id + " is a " + sb.kind() + " store; name it with "
                        + switch (sb.kind()) {
                            case "volume" -> "--volume " + e.getKey() + "=DIR";
                            case "postgres" -> "--postgres " + e.getKey() + "=JDBC_URL";
                            default -> "--sourcegraph URL";
                        });
            }
        }
    }
}
