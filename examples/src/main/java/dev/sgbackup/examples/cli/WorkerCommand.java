package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import dev.sgbackup.Stores;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code sgbackup worker}: one step of a backup or restore, as a Kubernetes executor Job runs it (docs/kubernetes.md,
 * the worker command line). A backup step writes its artifacts straight to the sink under the backup's data prefix
 * and then its step record ({@code data/<id>/_steps/sNN.json}); never a manifest: the coordinator commits. An
 * encrypted backup's data key comes wrapped from the sink ({@code data/<id>/_steps/key.json}, written by the
 * coordinator) and is unwrapped with SGBACKUP_PASSPHRASE. With {@code --dedup} the step is deduplicated: its chunks go
 * to the sink's repository, its unchanged files are taken from its store's parent, and it holds a lease of its own
 * while it runs (the coordinator holds the backup's until the commit). A restore step restores its one store of the committed
 * backup. stdout: the step's one line; exit 0 when it completed, 1 when it failed, 2 on a usage error.
 */
final class WorkerCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--operation", "--backup-id", "--step", "--ordinal", "--to", "--from", "--compression",
            "--volume", "--postgres", "--sourcegraph-db", "--password-env", "--retry-lock");
    static final Set<String> SWITCHES = Set.of("--encrypt", "--replace", "--dedup", "--force-read");

    private WorkerCommand() {
    }

    static int run(Session s, Args a) {
        String op = a.required("--operation");
        if (!op.equals("backup") && !op.equals("restore")) {
            throw new Args.UsageException("--operation takes backup or restore, not '" + op + "'");
        }
        boolean backup = op.equals("backup");
        String id = a.required("--backup-id");
        String step = a.required("--step");
        if (backup ? a.has("--from") || a.has("--replace") : a.has("--to") || a.has("--compression") || a.has("--encrypt")
                || a.has("--ordinal") || a.has("--dedup") || a.has("--force-read") || a.has("--retry-lock")) {
            throw new Args.UsageException("worker --operation " + op + " takes " + (backup ? "--to, --ordinal, --compression, --encrypt"
                    + " and --dedup [--force-read] [--retry-lock DURATION]" : "--from and --replace"));
        }
        DataStore store = store(s, a, step);
        // the engine as a local run makes it: the command name picks which flags EngineFlags reads (--encrypt for backup)
        Args engineArgs = Args.parse(backup ? engineArgv("backup", a) : engineArgv("restore", a),
                Set.of("--compression", "--to", "--from", "--retry-lock"), Set.of("--encrypt", "--dedup", "--force-read"));
        SgBackup sg = EngineFlags.engine(s, a.required(backup ? "--to" : "--from"), engineArgs);
        StepResult r;
        if (backup) {
            int ordinal;
            try {
                ordinal = Integer.parseInt(a.required("--ordinal"));
            } catch (NumberFormatException e) {
                throw new Args.UsageException("--ordinal takes the step's position in the plan (1, 2, …), got '" + a.one("--ordinal") + "'");
            }
            r = sg.backupStep(id, ordinal, store);
        } else {
            MigrationPlan p = sg.planRestore(id, List.of(store), new RestoreOptions(a.has("--replace"), false));
            s.currentPlan = p;
            RunResult rr = sg.run(p);
            s.printFindings(rr.checks());
            r = rr.steps().stream().filter(x -> x.step().equals(step)).findFirst().orElseThrow(() -> new IllegalStateException(
                    "the restore ran no step " + step));
        }
        s.out.println(r.step() + " " + r.kind() + " " + r.status().name().toLowerCase() + " " + r.artifacts() + " artifacts " + r.bytes()
                + " bytes " + r.storedBytes() + " stored");
        r.warnings().forEach(w -> s.err.println("warning: " + step + ": " + w));
        return r.status() == StepResult.Status.FAILED ? 1 : 0;
    }

    private static String[] engineArgv(String command, Args a) {
        List<String> out = new java.util.ArrayList<>(List.of(command));
        for (String f : List.of("--compression", "--to", "--from", "--retry-lock")) {
            if (a.one(f) != null) {
                out.addAll(List.of(f, a.one(f)));
            }
        }
        for (String f : List.of("--encrypt", "--dedup", "--force-read")) {
            if (a.has(f)) {
                out.add(f);
            }
        }
        return out.toArray(String[]::new);
    }

    /** The one store the flags name, under the step's name; its password from the variable --password-env names. */
    private static DataStore store(Session s, Args a, String step) {
        Map<String, String> volumes = a.pairs("--volume");
        Map<String, String> databases = a.pairs("--postgres");
        String configDb = a.one("--sourcegraph-db");
        int given = volumes.size() + databases.size() + (configDb == null ? 0 : 1);
        if (given != 1) {
            throw new Args.UsageException("a worker runs one step: give exactly one of --volume " + step + "=DIR, --postgres " + step
                    + "=JDBC_URL or --sourcegraph-db JDBC_URL (got " + given + ")");
        }
        if (!volumes.isEmpty() || !databases.isEmpty()) {
            String name = (volumes.isEmpty() ? databases : volumes).keySet().iterator().next();
            if (!name.equals(step)) {
                throw new Args.UsageException("--step " + step + " but the store flag names '" + name + "'");
            }
        }
        if (!volumes.isEmpty()) {
            if (a.has("--password-env")) {
                throw new Args.UsageException("--password-env is for a database step");
            }
            return Stores.directory(step, Path.of(volumes.get(step)));
        }
        String var = a.required("--password-env");
        String password = password(var, s.env.apply(var));
        if (password == null) {
            throw new Args.UsageException("--password-env " + var + ": the variable is not set (or its URL carries no password): the"
                    + " Job's secretKeyRef did not reach this worker");
        }
        if (!databases.isEmpty()) {
            return PostgresStore.builder(step, databases.get(step)).password(password.toCharArray()).build();
        }
        return SourcegraphConfigStore.database(configDb).name(step).password(password).build();
    }

    /** The password in {@code value}: the value itself, or for a {@code …PGDATASOURCE} variable the password in its URL. */
    static String password(String var, String value) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (!var.endsWith("PGDATASOURCE")) {
            return value;
        }
        try {
            String userInfo = URI.create(value.strip()).getRawUserInfo();
            int colon = userInfo == null ? -1 : userInfo.indexOf(':');
            return colon < 0 ? null : URLDecoder.decode(userInfo.substring(colon + 1), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null; // never quote the value
        }
    }
}
