package dev.sgbackup.examples.cli;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.CheckReport;
import java.util.Set;

/**
 * {@code sgbackup plan}: the backup the flags describe, and what its checks find, without writing anything. stdout:
 * the plan and its endpoints, or the JSON with {@code --json}; a refusal is reported by {@link Main} (exit 3). Also
 * makes the plan {@link BackupCommand} runs.
 */
final class PlanCommand {
    static final Set<String> VALUE_FLAGS = StoreFlags.withStoreFlags(Set.of("--to", "--compression", "--scope"), true);
    static final Set<String> SWITCHES = Set.of("--json", "--external-postgres", "--external-redis");

    private PlanCommand() {
    }

    static int run(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--to"), a);
        MigrationPlan p = backupPlan(s, sg, a);
        CheckReport checks = sg.preview(p); // writes nothing, not even the sink probe
        checks.throwIfFailed(); // refused: printed with the plan, exit 3
        s.report(checks);
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.mapper(), a.command, p, null, checks, s.endpoints, null, false)));
        } else {
            s.out.print(p.explain(checks));
            s.out.print(RunJson.text(s.endpoints));
        }
        return 0;
    }

    /** With --scope, one of Sourcegraph's options over the instance the flags describe; else exactly the named stores. */
    static MigrationPlan backupPlan(Session s, SgBackup sg, Args a) {
        StoreFlags.flagEndpoints(s, a, "--to");
        String scope = a.one("--scope");
        if (scope == null) {
            if (a.has("--external-postgres") || a.has("--external-redis")) {
                throw new Args.UsageException("--external-postgres and --external-redis describe the instance for --scope; add --scope");
            }
            return s.withEndpointNotes(sg.planBackup(StoreFlags.requireStores(s, a)));
        }
        Scope sc;
        try {
            sc = Scope.parse(scope);
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        Instance.Builder b = StoreFlags.instance(s, a, sc == Scope.CONFIG || sc == Scope.ALL || sc == Scope.ESSENTIAL);
        String tables = a.one("--tables");
        if (tables != null) {
            if (sc != Scope.ESSENTIAL || !tables.strip().equals("event-logs")) {
                throw new Args.UsageException("--tables picks a custom selection; with --scope only '--scope essential --tables event-logs'"
                        + " (to keep event logs) is allowed; drop --scope to compose your own");
            }
            b.includeEventLogs(true);
        }
        if (a.has("--external-postgres")) {
            b.externalPostgres(true); // else as the --instance file says (all its databases external), or not
        }
        b.externalRedis(a.has("--external-redis"));
        Instance instance = b.build();
        if (instance.databases().isEmpty() && instance.volumes().isEmpty() && instance.sourcegraph() == null
                && a.one("--sourcegraph-db") == null && !a.has("--external-postgres") && a.one("--instance") == null) {
            throw new Args.UsageException("--scope needs the instance: --sourcegraph URL, --postgres NAME=JDBC_URL and/or --volume NAME=DIR");
        }
        return s.withEndpointNotes(sg.planBackup(instance, sc));
    }
}
