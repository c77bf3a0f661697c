package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.CheckFailedException;
import dev.sgbackup.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.SgBackupException;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.Sizes;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.Phase;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.CheckReport;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import java.io.PrintStream;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The reference CLI: {@code java -jar sgbackup.jar COMMAND [OPTIONS]}. Uses only the public API.
 * stdout carries results only; progress, warnings and errors go to stderr. Exit codes: 0 ok, 1 failure,
 * 2 usage error, 3 refused by a check (nothing changed).
 */
public final class Main {
    static final String USAGE = """
            usage: sgbackup COMMAND [OPTIONS]
              plan    STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [PG_OPTIONS] [INSTANCE_OPTIONS] [--json] [--report FILE]
              backup  STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [--encrypt] [PG_OPTIONS] [INSTANCE_OPTIONS] [--json] [--report FILE]
              list    --from SINK_URI [--json]
              show    --from SINK_URI --backup ID [--json]
              verify  --from SINK_URI --backup ID
              restore --from SINK_URI --backup ID STORES [--phase db|volumes|config|all] [--secrets FILE] [--replace] [--dry-run]
                      [--pg-restore-jobs N] [--json] [--report FILE]
              delete  --from SINK_URI --backup ID
              prune   --from SINK_URI [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                      [--keep-yearly N] [--keep-within DURATION] [--per-scope] [--grace DURATION] [--dry-run]
                      (at least one --keep-*; DURATION e.g. 7d, 12h, 1d12h; --grace default 24h)
            STORES: --volume NAME=DIR ... and/or --sourcegraph URL (configuration via the GraphQL API, token from
                    SRC_ACCESS_TOKEN; --sourcegraph alone takes the URL from SRC_ENDPOINT; store name "config")
                    or --sourcegraph-db JDBC_URL (configuration through the frontend database: complete, unredacted)
                    and/or --postgres NAME=JDBC_URL ... (e.g. frontend=jdbc:postgresql://db:5432/sg?user=sg;
                    password from PGPASSWORD or ~/.pgpass; restore takes the strategy from the backup)
                    A restore writes only to the stores named here; the environment never adds one.
            PG_OPTIONS: --postgres-mode pg_dump|jdbc|auto (default auto) --tables CATEGORY,... (e.g. users,orgs)
            INSTANCE_OPTIONS (with --scope): --external-postgres, --external-redis: the new instance reuses them in
                    place; the plan says there is nothing to move
            --pg-restore-jobs N: pg_restore -j N for pg_dump backups (stages the dump in a temporary file); default 1
            --json: the plan, or the run's result with every step, as JSON on stdout (also when it fails or is refused)
            --report FILE: every finding and change of the checks, as JSON, written to FILE
            --scope: Sourcegraph's options over the stores named (STORES describe the instance): config = configuration
                    only, postgres = every database, all = everything, essential = only what cannot be recreated
                    (with --tables event-logs to keep event logs); without --scope exactly the named stores
            --phase: restore in phases: db (services stopped), volumes, config (instance running); default all
            --secrets FILE: values for secrets the API redacted, and overrides for the new instance:
                    {"<artifact name>": {"<JSON pointer>": "<value>"}}, e.g. {"site-config": {"/externalURL": "..."}}
            SINK_URI: file:///abs/path, s3://bucket/prefix, gs://bucket/prefix
            --encrypt: AES-256-GCM with a passphrase from SGBACKUP_PASSPHRASE (or a prompt on a terminal);
              show, verify and restore of an encrypted backup read SGBACKUP_PASSPHRASE (or ask on a terminal)
            options for every command: --debug (stack traces on errors)
            exit codes: 0 ok, 1 failed, 2 usage error, 3 refused by a check (nothing changed)""";

    private static final Set<String> PLAN_VALUE_FLAGS = StoreFlags.withStoreFlags(Set.of("--to", "--compression", "--scope"), true);
    private static final Set<String> PLAN_SWITCHES = Set.of("--json", "--external-postgres", "--external-redis");
    private static final Set<String> BACKUP_VALUE_FLAGS = StoreFlags.withStoreFlags(Set.of("--to", "--compression", "--scope"), true);
    private static final Set<String> BACKUP_SWITCHES = Set.of("--encrypt", "--json", "--external-postgres", "--external-redis");
    private static final Set<String> LIST_VALUE_FLAGS = Set.of("--from");
    private static final Set<String> LIST_SWITCHES = Set.of("--json");
    private static final Set<String> SHOW_VALUE_FLAGS = Set.of("--from", "--backup");
    private static final Set<String> SHOW_SWITCHES = Set.of("--json");
    private static final Set<String> VERIFY_VALUE_FLAGS = Set.of("--from", "--backup");
    private static final Set<String> VERIFY_SWITCHES = Set.of();
    private static final Set<String> RESTORE_VALUE_FLAGS = StoreFlags.withStoreFlags(Set.of("--from", "--backup", "--secrets", "--phase",
            "--pg-restore-jobs"), false);
    private static final Set<String> RESTORE_SWITCHES = Set.of("--replace", "--dry-run", "--json");
    private static final Set<String> DELETE_VALUE_FLAGS = Set.of("--from", "--backup");
    private static final Set<String> DELETE_SWITCHES = Set.of();

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    /** Whether stderr is a terminal: the progress bar. */
    private final boolean progressBar;
    /** The environment; tests replace it. */
    Function<String, String> env = System::getenv;
    /** Reads a passphrase from the terminal (no echo); null when there is none. Replaceable in tests. */
    Function<String, char[]> passwordReader = prompt -> System.console() == null ? null : System.console().readPassword("%s", prompt);
    static final String PASSPHRASE_ENV = EngineFlags.PASSPHRASE_ENV;

    Main(PrintStream out, PrintStream err, boolean terminal) {
        this(out, err, terminal, terminal);
    }

    /**
     * @param terminal    stdin/stdout are a terminal (passphrase prompts)
     * @param progressBar stderr is a terminal (the progress bar)
     */
    Main(PrintStream out, PrintStream err, boolean terminal, boolean progressBar) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
        this.progressBar = progressBar;
    }

    public static void main(String[] argv) {
        Thread mainThread = Thread.currentThread();
        Thread hook = new Thread(() -> {
            // Ctrl-C: interrupt the run so it aborts its pending objects, then give it time to clean up
            mainThread.interrupt();
            try {
                mainThread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sgbackup-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = new Main(System.out, System.err, System.console() != null, Terminal.stderr()).run(argv);
        System.out.flush();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Ctrl-C: the JVM is already shutting down and exits (status 130) once the hook's join returns;
            // calling System.exit here would block until the hook gives up.
            return;
        }
        System.exit(code);
    }

    int run(String[] argv) {
        boolean debug = List.of(argv).contains("--debug");
        Session s = new Session(out, err, terminal, progressBar, env, passwordReader);
        try {
            if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
                (argv.length == 0 ? err : out).println(USAGE);
                return argv.length == 0 ? 2 : 0;
            }
            s.args = switch (argv[0]) {
                case "plan" -> parse(argv, PLAN_VALUE_FLAGS, PLAN_SWITCHES);
                case "backup" -> parse(argv, BACKUP_VALUE_FLAGS, BACKUP_SWITCHES);
                case "list" -> parse(argv, LIST_VALUE_FLAGS, LIST_SWITCHES);
                case "show" -> parse(argv, SHOW_VALUE_FLAGS, SHOW_SWITCHES);
                case "verify" -> parse(argv, VERIFY_VALUE_FLAGS, VERIFY_SWITCHES);
                case "restore" -> parse(argv, RESTORE_VALUE_FLAGS, RESTORE_SWITCHES);
                case "delete" -> parse(argv, DELETE_VALUE_FLAGS, DELETE_SWITCHES);
                case "prune" -> parse(argv, PruneCommand.VALUE_FLAGS, PruneCommand.SWITCHES);
                default -> throw new Args.UsageException("unknown command '" + argv[0] + "'");
            };
            Args args = s.args;
            if (args.has("--volume")) {
                StoreFlags.checkFileNameEncoding(); // only where a volume store takes part: file names are read or written
            }
            return switch (args.command) {
                case "plan" -> plan(s, args);
                case "backup" -> backup(s, args);
                case "list" -> list(s, args);
                case "show" -> show(s, args);
                case "verify" -> verify(s, args);
                case "restore" -> restore(s, args);
                case "delete" -> delete(s, args);
                default -> prune(s, args);
            };
        } catch (Args.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (CheckFailedException e) {
            return refused(s, e, debug);
        } catch (SgBackupException e) {
            err.println("error: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            e.runResult().ifPresent(r -> {
                err.print(r); // every step: completed, failed or skipped, with bytes and duration
                s.report(r.checks());
            });
            if (s.json()) {
                out.println(Session.json(RunJson.run(Session.JSON, s.args.command, s.currentPlan, e.runResult().orElse(null),
                        e.runResult().map(RunResult::checks).orElse(null), s.endpoints, e.getMessage(), false)));
            }
            return 1;
        } catch (RuntimeException e) {
            err.println("error: " + e);
            if (debug) {
                e.printStackTrace(err);
            }
            if (s.json()) {
                try {
                    out.println(Session.json(RunJson.run(Session.JSON, s.args.command, s.currentPlan, null, null, s.endpoints,
                            String.valueOf(e), false)));
                } catch (RuntimeException ignored) {
                    // the JSON itself failed: the error line above is all there is
                }
            }
            return 1;
        }
    }

    /**
     * A check refused the run: nothing changed. One line on stderr, whatever the number of findings; every finding
     * in the --report file; with --json the whole answer on stdout; exit code 3.
     */
    private int refused(Session s, CheckFailedException e, boolean debug) {
        if (s.json()) {
            out.println(Session.json(RunJson.run(Session.JSON, s.args.command, s.currentPlan, null, e.report(), s.endpoints,
                    e.getMessage(), true)));
        } else if (s.currentPlan != null && (s.args.command.equals("plan") || s.args.has("--dry-run"))) {
            out.print(s.currentPlan.explain(e.report()));
            out.print(RunJson.text(s.endpoints));
        }
        String file = s.report(e.report());
        List<CheckReport.Finding> errors = e.errors();
        String line;
        if (errors.size() == 1) {
            line = "refused: " + CheckFailedException.line(errors.get(0)) + (file == null ? "" : "; written to " + file);
        } else {
            line = "refused: " + e.summary() + "; all of them: " + (file == null ? "--report FILE" : file);
        }
        err.println(line);
        if (debug) {
            e.printStackTrace(err);
        }
        return 3;
    }

    /** The command's flags, and --debug for every command; --sourcegraph may come without its URL. */
    private static Args parse(String[] argv, Set<String> withValue, Set<String> switches) {
        Set<String> s = new HashSet<>(switches);
        s.add("--debug");
        return Args.parse(argv, withValue, s, Set.of("--sourcegraph"));
    }

    // ---------------------------------------------------------------- commands

    private static int plan(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--to"), a);
        MigrationPlan p = backupPlan(s, sg, a);
        CheckReport checks = sg.preview(p); // writes nothing, not even the sink probe
        checks.throwIfFailed(); // refused: printed with the plan, exit 3
        s.report(checks);
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.JSON, a.command, p, null, checks, s.endpoints, null, false)));
        } else {
            s.out.print(p.explain(checks));
            s.out.print(RunJson.text(s.endpoints));
        }
        return 0;
    }

    /** With --scope, one of Sourcegraph's options over the instance the flags describe; else exactly the named stores. */
    private static MigrationPlan backupPlan(Session s, SgBackup sg, Args a) {
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
        b.externalPostgres(a.has("--external-postgres")).externalRedis(a.has("--external-redis"));
        Instance instance = b.build();
        if (instance.databases().isEmpty() && instance.volumes().isEmpty() && instance.sourcegraph() == null
                && a.one("--sourcegraph-db") == null && !a.has("--external-postgres")) {
            throw new Args.UsageException("--scope needs the instance: --sourcegraph URL, --postgres NAME=JDBC_URL and/or --volume NAME=DIR");
        }
        return s.withEndpointNotes(sg.planBackup(instance, sc));
    }

    private static int backup(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--to"), a);
        MigrationPlan p = backupPlan(s, sg, a);
        RunResult r = sg.run(p);
        s.report(r.checks());
        s.printFindings(r.checks());
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.JSON, a.command, p, r, r.checks(), s.endpoints, null, false)));
            return 0;
        }
        for (StepResult st : r.steps()) {
            s.out.println(st.step() + " " + st.kind() + " " + st.status().name().toLowerCase() + " " + st.artifacts() + " artifacts "
                    + st.bytes() + " bytes " + st.storedBytes() + " stored");
        }
        s.out.println(r.backupId());
        return 0;
    }

    private static int list(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        List<BackupSummary> all = sg.list();
        if (a.has("--json")) {
            ArrayNode arr = Session.JSON.createArrayNode();
            for (BackupSummary b : all) {
                ObjectNode o = arr.addObject();
                o.put("id", b.id());
                o.put("createdAt", b.createdAt().truncatedTo(ChronoUnit.SECONDS).toString());
                o.put("scope", b.scope());
                o.put("size", b.size());
                o.put("storedSize", b.storedSize());
                ArrayNode st = o.putArray("stores");
                b.stores().forEach(st::add);
                o.put("encrypted", b.encrypted());
            }
            s.out.println(Session.json(arr));
        } else {
            for (BackupSummary b : all) {
                // an encrypted backup's stores are in its sealed manifest part; SIZE is what the sink holds for it
                s.out.println(b.id() + " " + b.createdAt().truncatedTo(ChronoUnit.SECONDS) + " "
                        + b.storedSize() + " " + (b.encrypted() ? "(encrypted)" : String.join(",", b.stores())));
            }
        }
        return 0;
    }

    private static int show(Session s, Args a) {
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        Manifest m = sg.show(a.required("--backup"));
        PrintStream out = s.out;
        if (a.has("--json")) {
            out.println(m.toJson());
            return 0;
        }
        out.println("backup      " + m.id());
        out.println("created     " + m.createdAt().truncatedTo(ChronoUnit.SECONDS));
        out.println("completed   " + m.completedAt().truncatedTo(ChronoUnit.SECONDS));
        out.println("scope       " + m.scope());
        out.println("compression " + m.compression());
        out.println("encrypted   " + (m.encrypted() ? "yes" : "no"));
        out.println("tool        sgbackup " + m.toolVersion());
        out.println("size        " + m.size() + " bytes (" + Sizes.human(m.size()) + "), stored " + m.storedSize() + " bytes ("
                + Sizes.human(m.storedSize()) + ")");
        for (StoreBackup sb : m.stores()) {
            out.println();
            out.println("store " + sb.name() + " (" + sb.kind() + "): " + sb.description());
            sb.properties().forEach((k, v) -> out.println("  " + k + ": " + abbreviate(v)));
            for (ArtifactInfo art : sb.artifacts()) {
                out.println("  artifact " + art.name() + "  key " + art.key());
                out.println("    size " + art.size() + "  sha256 " + art.sha256());
                out.println("    stored " + art.storedSize() + "  sha256 " + art.storedSha256() + "  transforms "
                        + (art.transforms().isEmpty() ? "none" : String.join(",", art.transforms())));
            }
            for (String w : sb.warnings()) {
                out.println("  warning: " + w);
            }
        }
        return 0;
    }

    private static String abbreviate(String v) {
        return v.length() > 200 ? v.substring(0, 200) + "… (" + v.length() + " chars; --json shows all)" : v;
    }

    private static int verify(Session s, Args a) {
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        VerifyReport r = sg.verify(a.required("--backup"));
        if (r.ok()) {
            s.out.println("ok " + r.backupId() + " " + r.checked() + " artifacts " + r.bytes() + " bytes");
            return 0;
        }
        for (String p : r.problems()) {
            s.out.println("bad " + p);
        }
        s.err.println("error: backup " + r.backupId() + " is damaged: " + r.problems().size() + " of " + r.checked()
                + " artifacts failed verification");
        return 1;
    }

    private static int restore(Session s, Args a) {
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        String id = a.required("--backup");
        Phase phase;
        try {
            phase = a.one("--phase") == null ? Phase.ALL : Phase.parse(a.one("--phase"));
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        StoreFlags.flagEndpoints(s, a, "--from");
        Instance instance = StoreFlags.instance(s, a, false).build(); // only what the flags name: the environment adds no target
        StoreFlags.requireStores(s, a); // at least one target, with the flags' own checks
        Manifest m = sg.show(id);
        checkNamedStores(a, id, m);
        MigrationPlan p = s.withEndpointNotes(sg.planRestore(id, instance, new RestoreOptions(a.has("--replace"), a.has("--dry-run")),
                phase));
        p.steps().stream().filter(st -> st.action().equals("skip"))
                .forEach(st -> s.err.println("skipped: store " + st.store() + " (" + st.kind() + "): " + st.note()));
        p.notes().forEach(n -> s.err.println(n));
        RunResult r = sg.run(p);
        s.report(r.checks());
        if (!a.has("--dry-run")) {
            s.printFindings(r.checks()); // a dry run shows them with the plan
        }
        if (s.json()) {
            s.out.println(Session.json(RunJson.run(Session.JSON, a.command, p, r, r.checks(), s.endpoints, null, false)));
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
        Map<String, String> named = new LinkedHashMap<>();
        a.pairs("--volume").keySet().forEach(n -> named.put(n, "volume"));
        a.pairs("--postgres").keySet().forEach(n -> named.put(n, "postgres"));
        if (a.one("--sourcegraph") != null || a.one("--sourcegraph-db") != null) {
            named.put(Instance.CONFIG_STORE, SourcegraphConfigStore.KIND);
        }
        for (Map.Entry<String, String> e : named.entrySet()) {
            StoreBackup sb = m.store(e.getKey()).orElseThrow(() -> new Args.UsageException("backup " + id + " has no store '"
                    + e.getKey() + "'; it has: " + String.join(", ", m.storeNames())));
            if (!sb.kind().equals(e.getValue())) {
                throw new Args.UsageException("store '" + e.getKey() + "' of backup " + id + " is a " + sb.kind() + " store; name it with "
                        + switch (sb.kind()) {
                            case "volume" -> "--volume " + e.getKey() + "=DIR";
                            case "postgres" -> "--postgres " + e.getKey() + "=JDBC_URL";
                            default -> "--sourcegraph URL";
                        });
            }
        }
    }

    private static int delete(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        String id = a.required("--backup");
        sg.delete(id);
        s.out.println("deleted " + id);
        return 0;
    }

    private static int prune(Session s, Args a) {
        String from = a.required("--from");
        var retention = PruneCommand.retention(a); // usage errors before the sink is opened
        var grace = PruneCommand.grace(a);
        return PruneCommand.run(EngineFlags.engine(s, from, a), retention, grace, a.has("--dry-run"), s.out, s.err);
    }
}
