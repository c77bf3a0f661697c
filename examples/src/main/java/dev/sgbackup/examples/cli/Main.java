package dev.sgbackup.examples.cli;

import dev.sgbackup.run.CheckFailedException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.CheckReport;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The reference CLI: {@code java -jar sgbackup.jar COMMAND [OPTIONS]}. Uses only the public API.
 * stdout carries results only; progress, warnings and errors go to stderr. Exit codes: 0 ok, 1 failure,
 * 2 usage error, 3 refused by a check (nothing changed).
 * <p>
 * This class only picks the command ({@link DiscoverCommand}, {@link PlanCommand}, {@link BackupCommand}, {@link ListCommand},
 * {@link ShowCommand}, {@link VerifyCommand}, {@link RestoreCommand}, {@link DeleteCommand}, {@link PruneCommand},
 * {@link PassphraseCommand}) and
 * turns whatever it throws into a message and an exit code, here and nowhere else.
 */
public final class Main {
    static final String USAGE = """
            usage: sgbackup COMMAND [OPTIONS]
              discover --compose FILE ... [--project NAME] [--env-file FILE] [--volume-root DIR] [--strict]
                      the instance description (JSON, docs/instance.md) of a Docker Compose deployment; FILE is the
                      output of 'docker compose config --format json' (or the raw YAML files, with a warning)
              discover --single-image DATA_DIR [--config-dir DIR] [--strict]
                      the same for a sourcegraph/server container's data directory (/var/opt/sourcegraph)
              discover --kubernetes [--namespace NS] [--context CTX] [--kubeconfig FILE] [--strict]
                      the same for a Helm release, read (get/list only) through the Kubernetes API: the kubeconfig's
                      current context (KUBECONFIG, ~/.kube/config) or, in a pod, its service account
              plan    STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [PG_OPTIONS] [INSTANCE_OPTIONS] [--json] [--report FILE]
              backup  STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [--encrypt] [--dedup [--force-read] [--retry-lock DURATION]] [PG_OPTIONS] [INSTANCE_OPTIONS]
                      [--json] [--report FILE]
              backup|restore ... --executor kubernetes --namespace NS --image IMAGE --instance FILE
                      [--image-pull-secret NAME ...] [--service-account NAME] [--worker-secret NAME] [--max-jobs N]
                      [--job-timeout DURATION] [--pending-timeout DURATION] [--kubeconfig FILE] [--context CTX]
                      [--snapshots auto|required|off]
                      backup also: [--encrypt] [--dedup [--force-read] [--retry-lock DURATION]]
                      each step of the plan as a Kubernetes Job running IMAGE's worker command (docs/kubernetes.md):
                      this command creates them (at most N at once, default 4), follows them, gives up on one Pending
                      past --pending-timeout (default 10m) with its events, and commits the backup's one manifest only
                      when every Job succeeded; otherwise it deletes the Jobs and what they wrote. A backup's volume
                      step reads a CSI snapshot's clone where the instance file records a snapshot class (auto, the
                      default; required refuses the run naming the PVCs without one; off reads the live PVCs)
              backup|restore ... --executor kubernetes ... --emit-manifests DIR
                      only writes the Jobs and the coordinator's Role as YAML into DIR (new or empty), touching no
                      cluster and no sink
              list    --from SINK_URI [--json]
              show    --from SINK_URI --backup ID [--json]
              verify  --from SINK_URI --backup ID [--read-data | --read-data-subset N%|n/m]
                      a full backup: every artifact read back and checked (the flags change nothing);
                      a --dedup backup: its structure (trees, every chunk in the index, every pack present and
                      long enough) without reading chunks; --read-data also reads every pack it references once and
                      checks every chunk against its id; --read-data-subset 10% does that for a random 10% of the
                      packs (rounded up), 2/5 for the second of 5 fixed subsets (1/5 ... 5/5 cover every pack).
                      Exit 1 with one 'bad' line per problem, naming the pack and chunk
              restore --from SINK_URI --backup ID STORES [--phase db|volumes|config|all] [--secrets FILE] [--replace] [--dry-run]
                      [--pg-restore-jobs N] [--json] [--report FILE]
              delete  --from SINK_URI --backup ID
              passphrase change --to SINK_URI
                      every encrypted backup in the sink (full and --dedup) and the dedup repository's key then open
                      with the new passphrase and none with the old; no data is re-encrypted. Current passphrase from
                      SGBACKUP_PASSPHRASE, new one from SGBACKUP_NEW_PASSPHRASE (or prompts on a terminal); never
                      from flags. Interrupted, every backup still opens with one of the two: run it again to finish
              prune   --from SINK_URI [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                      [--keep-yearly N] [--keep-within DURATION] [--per-scope] [--grace DURATION] [--retry-lock DURATION]
                      [--dry-run] [--json]
                      (at least one --keep-*; DURATION e.g. 7d, 12h, 1d12h; --grace default 24h; then collects the
                      garbage of a deduplicated repository: packsDeleted, packsRepacked, bytesFreed)
                      [--namespace NS [--kubeconfig FILE] [--context CTX]]: first removes the sgbackup Jobs of runs
                      none of whose Jobs is active (a killed coordinator's), naming runs with active Jobs (stderr)
            STORES: --instance FILE (an instance description from 'discover'; the flags below override its stores)
                    and/or --volume NAME=DIR ... and/or --sourcegraph URL (configuration via the GraphQL API, token from
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
            --dedup: a deduplicated backup: chunks stored once in the sink's dedup/ repository, so later backups
              store only what changed; list, show, verify, restore and delete need no flag to read it. Files whose
              path, size, mtime, ctime and inode match the store's last dedup backup are not read again;
              --force-read reads every file
            --retry-lock DURATION (backup --dedup, prune): a dedup backup cannot start while a prune collects
              garbage, nor a prune while a backup runs; wait up to DURATION (e.g. 30m) for the other to end,
              trying again every 1 s, then up to every 30 s (default: fail at once, naming the holder)
            worker  --operation backup|restore --backup-id ID --step STORE (--ordinal N --to SINK_URI [--compression SPEC]
                      [--encrypt] [--dedup [--force-read] [--retry-lock DURATION]] | --from SINK_URI [--replace])
                      (--volume STORE=DIR | --postgres STORE=JDBC_URL
                      --password-env VAR | --sourcegraph-db JDBC_URL --password-env VAR)
                      one step of a --executor kubernetes run, as its Job runs it: a backup step writes its artifacts
                      and its step record to the sink, never a manifest (the coordinator commits); a restore step
                      restores its one store. Not for interactive use (docs/kubernetes.md)
            options for every command: --debug (stack traces on errors)
            exit codes: 0 ok, 1 failed, 2 usage error, 3 refused by a check (nothing changed); discover --strict: 3 on warnings""";

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
                case "discover" -> parse(argv, DiscoverCommand.VALUE_FLAGS, DiscoverCommand.SWITCHES);
                case "plan" -> parse(argv, PlanCommand.VALUE_FLAGS, PlanCommand.SWITCHES);
                case "backup" -> parse(argv, BackupCommand.VALUE_FLAGS, BackupCommand.SWITCHES);
                case "list" -> parse(argv, ListCommand.VALUE_FLAGS, ListCommand.SWITCHES);
                case "show" -> parse(argv, ShowCommand.VALUE_FLAGS, ShowCommand.SWITCHES);
                case "verify" -> parse(argv, VerifyCommand.VALUE_FLAGS, VerifyCommand.SWITCHES);
                case "restore" -> parse(argv, RestoreCommand.VALUE_FLAGS, RestoreCommand.SWITCHES);
                case "delete" -> parse(argv, DeleteCommand.VALUE_FLAGS, DeleteCommand.SWITCHES);
                case "prune" -> parse(argv, PruneCommand.VALUE_FLAGS, PruneCommand.SWITCHES);
                case "worker" -> parse(argv, WorkerCommand.VALUE_FLAGS, WorkerCommand.SWITCHES);
                case "passphrase" -> parse(subcommand(argv, "change"), PassphraseCommand.VALUE_FLAGS, PassphraseCommand.SWITCHES);
                default -> throw new Args.UsageException("unknown command '" + argv[0] + "'");
            };
            Args args = s.args;
            if (args.has("--volume")) {
                StoreFlags.checkFileNameEncoding(); // only where a volume store takes part: file names are read or written
            }
            return switch (args.command) {
                case "discover" -> DiscoverCommand.run(s, args);
                case "plan" -> PlanCommand.run(s, args);
                case "backup" -> BackupCommand.run(s, args);
                case "list" -> ListCommand.run(s, args);
                case "show" -> ShowCommand.run(s, args);
                case "verify" -> VerifyCommand.run(s, args);
                case "restore" -> RestoreCommand.run(s, args);
                case "delete" -> DeleteCommand.run(s, args);
                case "passphrase" -> PassphraseCommand.run(s, args);
                case "worker" -> WorkerCommand.run(s, args);
                default -> PruneCommand.run(s, args);
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
                out.println(Session.json(RunJson.run(Session.mapper(), s.args.command, s.currentPlan, e.runResult().orElse(null),
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
                    out.println(Session.json(RunJson.run(Session.mapper(), s.args.command, s.currentPlan, null, null, s.endpoints,
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
            out.println(Session.json(RunJson.run(Session.mapper(), s.args.command, s.currentPlan, null, e.report(), s.endpoints,
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

    /** {@code COMMAND SUB FLAGS...} as {@code COMMAND FLAGS...}, if SUB is the one subcommand there is. */
    private static String[] subcommand(String[] argv, String sub) {
        if (argv.length < 2 || !argv[1].equals(sub)) {
            throw new Args.UsageException("'" + argv[0] + "' needs a subcommand: " + argv[0] + " " + sub);
        }
        String[] out = new String[argv.length - 1];
        out[0] = argv[0];
        System.arraycopy(argv, 2, out, 1, argv.length - 2);
        return out;
    }

    /** The command's flags, and --debug for every command; --sourcegraph may come without its URL. */
    private static Args parse(String[] argv, Set<String> withValue, Set<String> switches) {
        Set<String> s = new HashSet<>(switches);
        s.add("--debug");
        return Args.parse(argv, withValue, s, Set.of("--sourcegraph"));
    }
}
