package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import java.util.Set;

/**
 * {@code sgbackup backup}: runs the plan {@link PlanCommand} makes. stdout: one line per step, then the new backup's
 * id (the JSON with {@code --json}); the checks' warnings go to stderr. {@code --dedup}: a deduplicated backup (chunks
 * stored once in the sink's repository; see docs/dedup.md).
 */
final class BackupCommand {
    static final Set<String> VALUE_FLAGS = KubernetesExecutor.withFlags(StoreFlags.withStoreFlags(Set.of("--to", "--compression",
            "--scope", "--retry-lock"), true));
    static final Set<String> SWITCHES = Set.of("--encrypt", "--dedup", "--force-read", "--json", "--external-postgres", "--external-redis");

    private BackupCommand() {
    }

    static int run(Session s, Args a) {
        if (KubernetesExecutor.selected(a)) {
            return KubernetesExecutor.run(s, a);
        }
        SgBackup sg = EngineFlags.engine(s, a.required("--to"), a);
        MigrationPlan p = PlanCommand.backupPlan(s, sg, a);
        RunResult r = sg.run(p);
        s.report(r.checks());
        s.printFindings(r.checks());
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.mapper(), a.command, p, r, r.checks(), s.endpoints, null, false)));
            return 0;
        }
        for (StepResult st : r.steps()) {
            s.out.println(st.step() + " " + st.kind() + " " + st.status().name().toLowerCase() + " " + st.artifacts() + " artifacts "
                    + st.bytes() + " bytes " + st.storedBytes() + " stored");
        }
        s.out.println(r.backupId());
        return 0;
    }
}
