package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.CheckFailedException;
import dev.sgbackup.InvalidInputException;
import dev.sgbackup.PassphraseRequiredException;
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
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.Stores;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.store.sourcegraph.SourcegraphConfigStore;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
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

    private static final Set<String> STORE_FLAGS = Set.of("--volume", "--exclude", "--sourcegraph", "--sourcegraph-db", "--postgres",
            "--report");
    /** Backup-side options of the PostgreSQL stores; a restore takes both from the manifest. */
    private static final Set<String> PG_BACKUP_FLAGS = Set.of("--postgres-mode", "--tables");

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    /** Whether stderr is a terminal: the progress bar. */
    private final boolean progressBar;
    private boolean debug;
    /** The command's parsed flags, once parsed. */
    private Args args;
    /** The plan of a plan, backup or restore command, once made. */
    private MigrationPlan currentPlan;
    /** Where each endpoint of the run came from (flag or environment). */
    private final List<RunJson.Endpoint> endpoints = new ArrayList<>();
    /** The environment; tests replace it. */
    Function<String, String> env = System::getenv;
    /** Reads a passphrase from the terminal (no echo); null when there is none. Replaceable in tests. */
    Function<String, char[]> passwordReader = prompt -> System.console() == null ? null : System.console().readPassword("%s", prompt);
    /** A passphrase typed at the prompt for reading an encrypted backup (show, verify, restore). */
    private Encryption prompted;
    static final String PASSPHRASE_ENV = "SGBACKUP_PASSPHRASE";

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
        debug = List.of(argv).contains("--debug");
        try {
            if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
                (argv.length == 0 ? err : out).println(USAGE);
                return argv.length == 0 ? 2 : 0;
            }
            args = switch (argv[0]) {
                case "plan" -> parse(argv, Set.of("--to", "--compression", "--scope"), Set.of("--json", "--external-postgres",
                        "--external-redis"));
                case "backup" -> parse(argv, Set.of("--to", "--compression", "--scope"), Set.of("--encrypt", "--json",
                        "--external-postgres", "--external-redis"));
                case "list" -> parse(argv, Set.of("--from"), Set.of("--json"));
                case "show" -> parse(argv, Set.of("--from", "--backup"), Set.of("--json"));
                case "verify" -> parse(argv, Set.of("--from", "--backup"), Set.of());
                case "restore" -> parse(argv, Set.of("--from", "--backup", "--secrets", "--phase", "--pg-restore-jobs"),
                        Set.of("--replace", "--dry-run", "--json"));
                case "delete" -> parse(argv, Set.of("--from", "--backup"), Set.of());
                case "prune" -> parse(argv, PruneCommand.VALUE_FLAGS, PruneCommand.SWITCHES);
                default -> throw new Args.UsageException("unknown command '" + argv[0] + "'");
            };
            if (args.has("--volume")) {
                checkFileNameEncoding(); // only where a volume store takes part: file names are read or written
            }
            return switch (args.command) {
                case "plan" -> plan(args);
                case "backup" -> backup(args);
                case "list" -> list(args);
                case "show" -> show(askPassphrase(args));
                case "verify" -> verify(askPassphrase(args));
                case "restore" -> restore(askPassphrase(args));
                case "delete" -> delete(args);
                default -> prune(args);
            };
        } catch (Args.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (CheckFailedException e) {
            return refused(e);
        } catch (SgBackupException e) {
            err.println("error: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            e.runResult().ifPresent(r -> {
                err.print(r); // every step: completed, failed or skipped, with bytes and duration
                report(r.checks());
            });
            if (json()) {
                out.println(json(RunJson.run(JSON, args.command, currentPlan, e.runResult().orElse(null),
                        e.runResult().map(RunResult::checks).orElse(null), endpoints, e.getMessage(), false)));
            }
            return 1;
        } catch (RuntimeException e) {
            err.println("error: " + e);
            if (debug) {
                e.printStackTrace(err);
            }
            if (json()) {
                try {
                    out.println(json(RunJson.run(JSON, args.command, currentPlan, null, null, endpoints, String.valueOf(e), false)));
                } catch (RuntimeException ignored) {
                    // the JSON itself failed: the error line above is all there is
                }
            }
            return 1;
        }
    }

    private boolean json() {
        return args != null && args.has("--json") && Set.of("plan", "backup", "restore").contains(args.command);
    }

    /**
     * A check refused the run: nothing changed. One line on stderr, whatever the number of findings; every finding
     * in the --report file; with --json the whole answer on stdout; exit code 3.
     */
    private int refused(CheckFailedException e) {
        if (json()) {
            out.println(json(RunJson.run(JSON, args.command, currentPlan, null, e.report(), endpoints, e.getMessage(), true)));
        } else if (currentPlan != null && (args.command.equals("plan") || args.has("--dry-run"))) {
            out.print(currentPlan.explain(e.report()));
            out.print(RunJson.text(endpoints));
        }
        String file = report(e.report());
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

    /** The checks' warnings and facts, and what a restore emptied or cleared, on stderr (stdout carries results). */
    private void printFindings(CheckReport checks) {
        for (CheckReport.Finding f : checks.findings()) {
            if (!f.error()) {
                err.println((f.level() == CheckReport.Level.WARNING ? "warning: " : "info: ") + f.subject() + ": " + f.message());
            }
        }
        checks.changes().stream().filter(c -> c.action() != CheckReport.Change.Action.WRITE).forEach(c -> err.println("changed: " + c));
    }

    /** Writes every finding and change to the --report file, if one was asked for; returns its name or null. */
    private String report(CheckReport checks) {
        String file = args == null ? null : args.one("--report");
        if (file == null || checks == null) {
            return null;
        }
        try {
            java.nio.file.Files.writeString(Path.of(file), json(RunJson.report(JSON, checks)) + "\n");
        } catch (java.io.IOException e) {
            err.println("error: could not write the report to " + file + ": " + e.getMessage());
        }
        return file;
    }

    private static Args parse(String[] argv, Set<String> withValue, Set<String> switches) {
        Set<String> v = new HashSet<>(withValue);
        Set<String> s = new HashSet<>(switches);
        s.add("--debug");
        if (Set.of("plan", "backup", "restore").contains(argv[0])) {
            v.addAll(STORE_FLAGS);
        }
        if (Set.of("plan", "backup").contains(argv[0])) {
            v.addAll(PG_BACKUP_FLAGS);
        }
        return Args.parse(argv, v, s, Set.of("--sourcegraph"));
    }

    /** Java under LANG=C cannot name non-ASCII files; refuse before anything runs. */
    private static void checkFileNameEncoding() {
        String enc = System.getProperty("sun.jnu.encoding", "");
        if (!enc.equalsIgnoreCase("UTF-8")) {
            throw new InvalidInputException("the JVM's file-name encoding is " + enc + ", not UTF-8, so non-ASCII file names would be"
                    + " mangled; run with a UTF-8 locale, e.g. LANG=C.UTF-8 java -jar sgbackup.jar ...");
        }
    }

    // ---------------------------------------------------------------- stores from flags

    /** The stores named by flags; for a backup they are sources, for a restore targets. */
    List<DataStore> stores(Args a) {
        List<DataStore> stores = new ArrayList<>();
        List<String> excludes = a.all("--exclude");
        for (Map.Entry<String, String> v : a.pairs("--volume").entrySet()) {
            Path dir = Path.of(v.getValue()).toAbsolutePath();
            stores.add(excludes.isEmpty() ? Stores.directory(v.getKey(), dir) : Stores.directory(v.getKey(), dir, excludes));
        }
        URI sourcegraph = sourcegraph(a, false);
        String configDb = configDatabase(a);
        String secrets = a.one("--secrets");
        if (sourcegraph != null) {
            SourcegraphConfigStore.ApiBuilder b = SourcegraphConfigStore.api(sourcegraph);
            String token = env.apply(TOKEN_ENV);
            if (token != null && !token.isEmpty()) {
                b.token(token);
            }
            stores.add((secrets == null ? b : b.secrets(Path.of(secrets))).build());
        } else if (configDb != null) {
            SourcegraphConfigStore.DatabaseBuilder b = SourcegraphConfigStore.database(configDb).name(Instance.CONFIG_STORE);
            stores.add((secrets == null ? b : b.secrets(Path.of(secrets))).build());
        } else if (secrets != null) {
            throw new Args.UsageException("--secrets is for the configuration store: add --sourcegraph URL");
        }
        stores.addAll(postgres(a));
        return stores;
    }

    static final String ENDPOINT_ENV = "SRC_ENDPOINT";
    static final String TOKEN_ENV = "SRC_ACCESS_TOKEN";

    /**
     * The configuration API's URL: {@code --sourcegraph URL} (flag), or SRC_ENDPOINT for {@code --sourcegraph} without
     * a URL or, when {@code scopeWantsConfig}, for a backup scope that includes the configuration (environment).
     * Null when the user asked for no configuration store: the environment alone never adds one. Records where it came from.
     */
    private URI sourcegraph(Args a, boolean scopeWantsConfig) {
        String flag = a.one("--sourcegraph");
        String value;
        String from;
        String source;
        if (flag != null && !flag.isEmpty()) {
            value = flag;
            from = "flag";
            source = "--sourcegraph";
        } else if (flag != null || (scopeWantsConfig && a.one("--sourcegraph-db") == null)) {
            value = env.apply(ENDPOINT_ENV);
            if (value == null || value.isBlank()) {
                if (flag == null) {
                    return null; // a scope with configuration, and no endpoint: the plan notes it
                }
                throw new Args.UsageException("--sourcegraph without a URL takes it from " + ENDPOINT_ENV + ", which is not set");
            }
            from = "environment";
            source = ENDPOINT_ENV;
        } else {
            return null;
        }
        if (a.one("--sourcegraph-db") != null) {
            throw new Args.UsageException("the configuration comes from --sourcegraph (the API) or --sourcegraph-db (the database), not both");
        }
        URI uri;
        try {
            uri = URI.create(value.strip());
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("'" + value + "' (" + source + ") is not a URL");
        }
        String token = env.apply(TOKEN_ENV);
        if (endpoints.stream().noneMatch(e -> Instance.CONFIG_STORE.equals(e.store()))) {
            endpoints.add(new RunJson.Endpoint(Instance.CONFIG_STORE, SourcegraphConfigStore.KIND, uri.toString(), from, source,
                    token == null || token.isEmpty() ? null : "environment " + TOKEN_ENV));
        }
        return uri;
    }

    /** {@code --sourcegraph-db JDBC_URL}: the configuration through the frontend database. */
    private String configDatabase(Args a) {
        String url = a.one("--sourcegraph-db");
        if (url != null && endpoints.stream().noneMatch(e -> Instance.CONFIG_STORE.equals(e.store()))) {
            endpoints.add(new RunJson.Endpoint(Instance.CONFIG_STORE, SourcegraphConfigStore.KIND, Instance.redact(url), "flag", "--sourcegraph-db",
                    null));
        }
        return url;
    }

    /** The endpoints the flags name (sink, databases, volumes), in order; the configuration is added where it is resolved. */
    private void flagEndpoints(Args a, String sinkFlag) {
        endpoints.add(new RunJson.Endpoint(null, "sink", Instance.redact(a.required(sinkFlag)), "flag", sinkFlag, null));
        a.pairs("--postgres").forEach((n, u) -> endpoints.add(new RunJson.Endpoint(n, "postgres", Instance.redact(u), "flag", "--postgres", null)));
        a.pairs("--volume").forEach((n, d) -> endpoints.add(new RunJson.Endpoint(n, "volume", Path.of(d).toAbsolutePath().toString(), "flag",
                "--volume", null)));
    }

    /** --postgres NAME=JDBC_URL (repeatable) with --postgres-mode and --tables. */
    private static List<DataStore> postgres(Args a) {
        String m = a.one("--postgres-mode");
        PostgresStore.Mode mode = m == null ? PostgresStore.Mode.AUTO : postgresMode(m);
        Set<String> categories = new java.util.TreeSet<>();
        String tables = a.one("--tables");
        if (tables != null) {
            for (String t : tables.split(",")) {
                if (!t.isBlank()) {
                    categories.add(t.trim());
                }
            }
        }
        Map<String, String> dbs = a.pairs("--postgres");
        if (dbs.isEmpty() && (m != null || tables != null)) {
            throw new Args.UsageException("--postgres-mode and --tables are for PostgreSQL stores: add --postgres NAME=JDBC_URL");
        }
        List<DataStore> out = new ArrayList<>();
        for (Map.Entry<String, String> e : dbs.entrySet()) {
            out.add(PostgresStore.builder(e.getKey(), e.getValue()).mode(mode).categories(dev.sgbackup.store.postgres.Category.parseAll(categories)).build());
        }
        return out;
    }

    private static PostgresStore.Mode postgresMode(String m) {
        return switch (m) {
            case "pg_dump" -> PostgresStore.Mode.PG_DUMP;
            case "jdbc" -> PostgresStore.Mode.JDBC;
            case "auto" -> PostgresStore.Mode.AUTO;
            default -> throw new Args.UsageException("--postgres-mode takes pg_dump, jdbc or auto, got '" + m + "'");
        };
    }

    private SgBackup engine(String uri, Args a) {
        BackupSink sink = Sinks.open(uri);
        SgBackup.Builder b = SgBackup.builder().sink(sink).listener(new ProgressPrinter(err, progressBar));
        String c = a.one("--compression");
        if (c != null) {
            try {
                b.compression(Compression.parse(c));
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        b.encryption(encryption(a));
        return b.build();
    }

    /**
     * backup: only with --encrypt, from SGBACKUP_PASSPHRASE or a prompt (typed twice). Other commands: from
     * SGBACKUP_PASSPHRASE when set (needed to read an encrypted backup), never prompted.
     */
    private Encryption encryption(Args a) {
        String fromEnv = env.apply(PASSPHRASE_ENV);
        boolean backup = a.command.equals("backup");
        if (backup && !a.has("--encrypt")) {
            return null;
        }
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return Encryption.passphrase(fromEnv);
        }
        if (!backup) {
            return prompted;
        }
        char[] first = terminal ? passwordReader.apply("passphrase for the new backup: ") : null;
        if (first == null) {
            throw new Args.UsageException("--encrypt needs a passphrase: set " + PASSPHRASE_ENV + " or run on a terminal to be asked for one");
        }
        char[] second = passwordReader.apply("repeat the passphrase: ");
        try {
            if (first == null || second == null || !Arrays.equals(first, second)) {
                throw new Args.UsageException("the passphrases do not match");
            }
            return Encryption.passphrase(first);
        } finally {
            if (first != null) {
                Arrays.fill(first, '\0');
            }
            if (second != null) {
                Arrays.fill(second, '\0');
            }
        }
    }

    /**
     * On a terminal without SGBACKUP_PASSPHRASE: reads the backup's manifest first (nothing is written) and, if the
     * backup is encrypted, asks for its passphrase once, as restic does. A wrong one then fails as it would from the
     * environment.
     */
    private Args askPassphrase(Args a) {
        String fromEnv = env.apply(PASSPHRASE_ENV);
        if (!terminal || (fromEnv != null && !fromEnv.isEmpty()) || a.one("--from") == null || a.one("--backup") == null) {
            return a;
        }
        try {
            engine(a.required("--from"), a).show(a.required("--backup"));
            return a; // readable without a passphrase: not encrypted
        } catch (PassphraseRequiredException e) {
            // encrypted: ask below
        } catch (SgBackupException e) {
            return a; // the command itself reports whatever this is
        }
        char[] typed = passwordReader.apply("passphrase for backup " + a.required("--backup") + ": ");
        if (typed == null || typed.length == 0) {
            return a; // no answer: the command fails naming SGBACKUP_PASSPHRASE
        }
        try {
            prompted = Encryption.passphrase(typed);
        } finally {
            Arrays.fill(typed, '\0');
        }
        return a;
    }

    private List<DataStore> requireStores(Args a) {
        List<DataStore> stores = stores(a);
        if (stores.isEmpty()) {
            throw new Args.UsageException("'" + a.command + "' needs at least one store, e.g. --volume NAME=DIR, --sourcegraph URL,"
                    + " --sourcegraph-db JDBC_URL or --postgres NAME=JDBC_URL");
        }
        return stores;
    }

    // ---------------------------------------------------------------- commands

    /** With --scope, one of Sourcegraph's options over the instance the flags describe; else exactly the named stores. */
    private MigrationPlan backupPlan(SgBackup sg, Args a) {
        flagEndpoints(a, "--to");
        String scope = a.one("--scope");
        if (scope == null) {
            if (a.has("--external-postgres") || a.has("--external-redis")) {
                throw new Args.UsageException("--external-postgres and --external-redis describe the instance for --scope; add --scope");
            }
            return withEndpointNotes(sg.planBackup(requireStores(a)));
        }
        Scope s;
        try {
            s = Scope.parse(scope);
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        Instance.Builder b = instance(a, s == Scope.CONFIG || s == Scope.ALL || s == Scope.ESSENTIAL);
        String tables = a.one("--tables");
        if (tables != null) {
            if (s != Scope.ESSENTIAL || !tables.strip().equals("event-logs")) {
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
        return withEndpointNotes(sg.planBackup(instance, s));
    }

    /** The plan with a note for each endpoint the environment supplied. */
    private MigrationPlan withEndpointNotes(MigrationPlan p) {
        currentPlan = p.withNotes(endpoints.stream().filter(e -> e.from().equals("environment"))
                .map(e -> e.store() + ": endpoint " + e.endpoint() + " from " + e.source() + " (environment)").toList());
        return currentPlan;
    }

    /**
     * The instance the store flags describe: --sourcegraph or --sourcegraph-db, --postgres, --volume (+ --exclude,
     * --postgres-mode, --secrets, --pg-restore-jobs). {@code scopeWantsConfig}: a backup scope with configuration, whose
     * endpoint SRC_ENDPOINT may supply; a restore passes false, so only flags name its targets.
     */
    private Instance.Builder instance(Args a, boolean scopeWantsConfig) {
        Instance.Builder b = Instance.builder();
        URI sourcegraph = sourcegraph(a, scopeWantsConfig);
        String configDb = configDatabase(a);
        if (sourcegraph != null) {
            b.sourcegraph(sourcegraph);
            String token = env.apply(TOKEN_ENV);
            if (token != null && !token.isEmpty()) {
                b.token(token);
            }
        } else if (configDb != null) {
            b.configDatabase(configDb);
        }
        String secrets = a.one("--secrets");
        if (secrets != null) {
            if (sourcegraph == null && configDb == null) {
                throw new Args.UsageException("--secrets is for the configuration store: add --sourcegraph URL");
            }
            b.secrets(Path.of(secrets));
        }
        a.pairs("--postgres").forEach(b::database);
        a.pairs("--volume").forEach((n, d) -> b.volume(n, Path.of(d).toAbsolutePath()));
        b.exclude(a.all("--exclude"));
        String m = a.one("--postgres-mode");
        if (m != null) {
            b.postgresMode(postgresMode(m));
        }
        String jobs = a.one("--pg-restore-jobs");
        if (jobs != null) {
            int n;
            try {
                n = Integer.parseInt(jobs.strip());
            } catch (NumberFormatException e) {
                n = 0;
            }
            if (n < 1) {
                throw new Args.UsageException("--pg-restore-jobs takes a whole number of at least 1, got '" + jobs + "'");
            }
            if (a.pairs("--postgres").isEmpty()) {
                throw new Args.UsageException("--pg-restore-jobs is for PostgreSQL targets: add --postgres NAME=JDBC_URL");
            }
            b.pgRestoreJobs(n);
        }
        return b;
    }

    private int plan(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = backupPlan(sg, a);
        CheckReport checks = sg.preview(p); // writes nothing, not even the sink probe
        checks.throwIfFailed(); // refused: printed with the plan, exit 3
        report(checks);
        if (json()) {
            out.println(json(RunJson.run(JSON, a.command, p, null, checks, endpoints, null, false)));
        } else {
            out.print(p.explain(checks));
            out.print(RunJson.text(endpoints));
        }
        return 0;
    }

    private int backup(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = backupPlan(sg, a);
        RunResult r = sg.run(p);
        report(r.checks());
        printFindings(r.checks());
        if (json()) {
            out.println(json(RunJson.run(JSON, a.command, p, r, r.checks(), endpoints, null, false)));
            return 0;
        }
        for (StepResult s : r.steps()) {
            out.println(s.step() + " " + s.kind() + " " + s.status().name().toLowerCase() + " " + s.artifacts() + " artifacts "
                    + s.bytes() + " bytes " + s.storedBytes() + " stored");
        }
        out.println(r.backupId());
        return 0;
    }

    private int list(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        List<BackupSummary> all = sg.list();
        if (a.has("--json")) {
            ArrayNode arr = JSON.createArrayNode();
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
            out.println(json(arr));
        } else {
            for (BackupSummary b : all) {
                // an encrypted backup's stores are in its sealed manifest part; SIZE is what the sink holds for it
                out.println(b.id() + " " + b.createdAt().truncatedTo(ChronoUnit.SECONDS) + " "
                        + b.storedSize() + " " + (b.encrypted() ? "(encrypted)" : String.join(",", b.stores())));
            }
        }
        return 0;
    }

    private int show(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        Manifest m = sg.show(a.required("--backup"));
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
        for (StoreBackup s : m.stores()) {
            out.println();
            out.println("store " + s.name() + " (" + s.kind() + "): " + s.description());
            s.properties().forEach((k, v) -> out.println("  " + k + ": " + abbreviate(v)));
            for (ArtifactInfo art : s.artifacts()) {
                out.println("  artifact " + art.name() + "  key " + art.key());
                out.println("    size " + art.size() + "  sha256 " + art.sha256());
                out.println("    stored " + art.storedSize() + "  sha256 " + art.storedSha256() + "  transforms "
                        + (art.transforms().isEmpty() ? "none" : String.join(",", art.transforms())));
            }
            for (String w : s.warnings()) {
                out.println("  warning: " + w);
            }
        }
        return 0;
    }

    private static String abbreviate(String v) {
        return v.length() > 200 ? v.substring(0, 200) + "… (" + v.length() + " chars; --json shows all)" : v;
    }

    private int verify(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        VerifyReport r = sg.verify(a.required("--backup"));
        if (r.ok()) {
            out.println("ok " + r.backupId() + " " + r.checked() + " artifacts " + r.bytes() + " bytes");
            return 0;
        }
        for (String p : r.problems()) {
            out.println("bad " + p);
        }
        err.println("error: backup " + r.backupId() + " is damaged: " + r.problems().size() + " of " + r.checked() + " artifacts failed verification");
        return 1;
    }

    private int restore(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        String id = a.required("--backup");
        Phase phase;
        try {
            phase = a.one("--phase") == null ? Phase.ALL : Phase.parse(a.one("--phase"));
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        flagEndpoints(a, "--from");
        Instance instance = instance(a, false).build(); // only what the flags name: the environment adds no target
        requireStores(a); // at least one target, with the flags' own checks
        Manifest m = sg.show(id);
        Map<String, String> named = new java.util.LinkedHashMap<>();
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
        MigrationPlan p = withEndpointNotes(sg.planRestore(id, instance, new RestoreOptions(a.has("--replace"), a.has("--dry-run")), phase));
        p.steps().stream().filter(s -> s.action().equals("skip"))
                .forEach(s -> err.println("skipped: store " + s.store() + " (" + s.kind() + "): " + s.note()));
        p.notes().forEach(n -> err.println(n));
        RunResult r = sg.run(p);
        report(r.checks());
        if (!a.has("--dry-run")) {
            printFindings(r.checks()); // a dry run shows them with the plan
        }
        if (json()) {
            out.println(json(RunJson.run(JSON, a.command, p, r, r.checks(), endpoints, null, false)));
            return 0;
        }
        if (a.has("--dry-run")) {
            out.print(p.explain(r.checks()));
            out.print(RunJson.text(endpoints));
        }
        for (StepResult s : r.steps()) {
            if (s.status() != StepResult.Status.SKIPPED || a.has("--dry-run")) {
                out.println(s.step() + " " + s.kind() + " " + s.status().name().toLowerCase() + " " + s.artifacts() + " artifacts "
                        + s.bytes() + " bytes" + (s.message() == null ? "" : " (" + s.message() + ")"));
            }
        }
        return 0;
    }

    private int delete(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        String id = a.required("--backup");
        sg.delete(id);
        out.println("deleted " + id);
        return 0;
    }

    private int prune(Args a) {
        String from = a.required("--from");
        var retention = PruneCommand.retention(a); // usage errors before the sink is opened
        var grace = PruneCommand.grace(a);
        return PruneCommand.run(engine(from, a), retention, grace, a.has("--dry-run"), out, err);
    }

    // ---------------------------------------------------------------- JSON

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static String json(Object node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
