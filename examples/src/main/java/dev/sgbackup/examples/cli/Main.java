package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * 2 usage error.
 */
public final class Main {
    static final String USAGE = """
            usage: sgbackup COMMAND [OPTIONS]
              plan    STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [PG_OPTIONS]
              backup  STORES --to SINK_URI [--scope config|postgres|all|essential] [--compression zstd|gzip|none[:LEVEL]]
                      [--exclude GLOB ...] [--encrypt] [PG_OPTIONS]
              list    --from SINK_URI [--json]
              show    --from SINK_URI --backup ID [--json]
              verify  --from SINK_URI --backup ID
              restore --from SINK_URI --backup ID STORES [--phase db|volumes|config|all] [--secrets FILE] [--replace] [--dry-run]
              delete  --from SINK_URI --backup ID
              prune   --from SINK_URI [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                      [--keep-yearly N] [--keep-within DURATION] [--per-scope] [--grace DURATION] [--dry-run]
                      (at least one --keep-*; DURATION e.g. 7d, 12h, 1d12h; --grace default 24h)
            STORES: --volume NAME=DIR ... and/or --sourcegraph URL (configuration via the GraphQL API,
                    token from SRC_ACCESS_TOKEN; store name "config")
                    and/or --postgres NAME=JDBC_URL ... (e.g. frontend=jdbc:postgresql://db:5432/sg?user=sg;
                    password from PGPASSWORD or ~/.pgpass; restore takes the strategy from the backup)
            PG_OPTIONS: --postgres-mode pg_dump|jdbc|auto (default auto) --tables CATEGORY,... (e.g. users,orgs)
            --scope: Sourcegraph's options over the stores named (STORES describe the instance): config = configuration
                    only, postgres = every database, all = everything, essential = only what cannot be recreated
                    (with --tables event-logs to keep event logs); without --scope exactly the named stores
            --phase: restore in phases: db (services stopped), volumes, config (instance running); default all
            --secrets FILE: values for secrets the API redacted, and overrides for the new instance:
                    {"<artifact name>": {"<JSON pointer>": "<value>"}}, e.g. {"site-config": {"/externalURL": "..."}}
            SINK_URI: file:///abs/path, s3://bucket/prefix, gs://bucket/prefix
            --encrypt: AES-256-GCM with a passphrase from SGBACKUP_PASSPHRASE (or a prompt on a terminal);
              show, verify and restore of an encrypted backup read SGBACKUP_PASSPHRASE (or ask on a terminal)
            options for every command: --debug (stack traces on errors)""";

    private static final Set<String> STORE_FLAGS = Set.of("--volume", "--exclude", "--sourcegraph", "--postgres");
    /** Backup-side options of the PostgreSQL stores; a restore takes both from the manifest. */
    private static final Set<String> PG_BACKUP_FLAGS = Set.of("--postgres-mode", "--tables");

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    private boolean debug;
    /** The environment; tests replace it. */
    Function<String, String> env = System::getenv;
    /** Reads a passphrase from the terminal (no echo); null when there is none. Replaceable in tests. */
    Function<String, char[]> passwordReader = prompt -> System.console() == null ? null : System.console().readPassword("%s", prompt);
    /** A passphrase typed at the prompt for reading an encrypted backup (show, verify, restore). */
    private Encryption prompted;
    static final String PASSPHRASE_ENV = "SGBACKUP_PASSPHRASE";

    Main(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
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
        int code = new Main(System.out, System.err, System.console() != null).run(argv);
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
            checkFileNameEncoding();
            if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
                (argv.length == 0 ? err : out).println(USAGE);
                return argv.length == 0 ? 2 : 0;
            }
            return switch (argv[0]) {
                case "plan" -> plan(parse(argv, Set.of("--to", "--compression", "--scope"), Set.of()));
                case "backup" -> backup(parse(argv, Set.of("--to", "--compression", "--scope"), Set.of("--encrypt")));
                case "list" -> list(parse(argv, Set.of("--from"), Set.of("--json")));
                case "show" -> show(askPassphrase(parse(argv, Set.of("--from", "--backup"), Set.of("--json"))));
                case "verify" -> verify(askPassphrase(parse(argv, Set.of("--from", "--backup"), Set.of())));
                case "restore" -> restore(askPassphrase(parse(argv, Set.of("--from", "--backup", "--secrets", "--phase"),
                        Set.of("--replace", "--dry-run"))));
                case "delete" -> delete(parse(argv, Set.of("--from", "--backup"), Set.of()));
                case "prune" -> prune(parse(argv, PruneCommand.VALUE_FLAGS, PruneCommand.SWITCHES));
                default -> throw new Args.UsageException("unknown command '" + argv[0] + "'");
            };
        } catch (Args.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return 2;
        } catch (SgBackupException e) {
            err.println("error: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (RuntimeException e) {
            err.println("error: " + e);
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        }
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
        return Args.parse(argv, v, s);
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
        String sourcegraph = a.one("--sourcegraph");
        String secrets = a.one("--secrets");
        if (sourcegraph != null) {
            SourcegraphConfigStore.ApiBuilder b = SourcegraphConfigStore.api(URI.create(sourcegraph));
            stores.add((secrets == null ? b : b.secrets(Path.of(secrets))).build());
        } else if (secrets != null) {
            throw new Args.UsageException("--secrets is for the configuration store: add --sourcegraph URL");
        }
        stores.addAll(postgres(a));
        return stores;
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
            out.add(PostgresStore.builder(e.getKey(), e.getValue()).mode(mode).categories(categories).build());
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
        SgBackup.Builder b = SgBackup.builder().sink(sink).listener(new ProgressPrinter(err, terminal));
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
            throw new Args.UsageException("'" + a.command + "' needs at least one store, e.g. --volume NAME=DIR, --sourcegraph URL or --postgres NAME=JDBC_URL");
        }
        return stores;
    }

    // ---------------------------------------------------------------- commands

    /** With --scope, one of Sourcegraph's options over the instance the flags describe; else exactly the named stores. */
    private MigrationPlan backupPlan(SgBackup sg, Args a) {
        String scope = a.one("--scope");
        if (scope == null) {
            return sg.planBackup(requireStores(a));
        }
        Scope s;
        try {
            s = Scope.parse(scope);
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        Instance.Builder b = instance(a);
        String tables = a.one("--tables");
        if (tables != null) {
            if (s != Scope.ESSENTIAL || !tables.strip().equals("event-logs")) {
                throw new Args.UsageException("--tables picks a custom selection; with --scope only '--scope essential --tables event-logs'"
                        + " (to keep event logs) is allowed; drop --scope to compose your own");
            }
            b.includeEventLogs(true);
        }
        Instance instance = b.build();
        if (instance.databases().isEmpty() && instance.volumes().isEmpty() && instance.sourcegraph() == null) {
            throw new Args.UsageException("--scope needs the instance: --sourcegraph URL, --postgres NAME=JDBC_URL and/or --volume NAME=DIR");
        }
        return sg.planBackup(instance, s);
    }

    /** The instance the store flags describe: --sourcegraph, --postgres, --volume (+ --exclude, --postgres-mode, --secrets). */
    private Instance.Builder instance(Args a) {
        Instance.Builder b = Instance.builder();
        String sourcegraph = a.one("--sourcegraph");
        if (sourcegraph != null) {
            b.sourcegraph(URI.create(sourcegraph));
        }
        String secrets = a.one("--secrets");
        if (secrets != null) {
            if (sourcegraph == null) {
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
        return b;
    }

    private int plan(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = backupPlan(sg, a);
        out.print(p.explain());
        return 0;
    }

    private int backup(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = backupPlan(sg, a);
        RunResult r = sg.run(p);
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
        requireStores(a); // at least one target, with the flags' own checks
        Instance instance = instance(a).build();
        Manifest m = sg.show(id);
        Map<String, String> named = new java.util.LinkedHashMap<>();
        a.pairs("--volume").keySet().forEach(n -> named.put(n, "volume"));
        a.pairs("--postgres").keySet().forEach(n -> named.put(n, "postgres"));
        if (a.one("--sourcegraph") != null) {
            named.put(Instance.CONFIG_STORE, "sourcegraph-config");
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
        MigrationPlan p = sg.planRestore(id, instance, new RestoreOptions(a.has("--replace"), a.has("--dry-run")), phase);
        p.steps().stream().filter(s -> s.action().equals("skip"))
                .forEach(s -> err.println("skipped: store " + s.store() + " (" + s.kind() + "): " + s.note()));
        p.notes().forEach(n -> err.println(n));
        if (a.has("--dry-run")) {
            out.print(p.explain());
        }
        RunResult r = sg.run(p);
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
