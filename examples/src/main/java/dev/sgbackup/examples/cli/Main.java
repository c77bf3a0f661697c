package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.SgBackupException;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.Sizes;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.Stores;
import dev.sgbackup.transform.Compression;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference CLI: {@code java -jar sgbackup.jar COMMAND [OPTIONS]}. Uses only the public API.
 * stdout carries results only; progress, warnings and errors go to stderr. Exit codes: 0 ok, 1 failure,
 * 2 usage error.
 */
public final class Main {
    static final String USAGE = """
            usage: sgbackup COMMAND [OPTIONS]
              plan    --volume NAME=DIR ... --to SINK_URI [--compression zstd|gzip|none[:LEVEL]] [--exclude GLOB ...]
              backup  --volume NAME=DIR ... --to SINK_URI [--compression zstd|gzip|none[:LEVEL]] [--exclude GLOB ...]
              list    --from SINK_URI [--json]
              show    --from SINK_URI --backup ID [--json]
              verify  --from SINK_URI --backup ID
              restore --from SINK_URI --backup ID --volume NAME=DIR ... [--replace] [--dry-run]
              delete  --from SINK_URI --backup ID
            SINK_URI: file:///abs/path, s3://bucket/prefix, gs://bucket/prefix
            options for every command: --debug (stack traces on errors)""";

    private static final Set<String> STORE_FLAGS = Set.of("--volume", "--exclude");

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    private boolean debug;

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
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
        System.out.flush();
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
                case "plan" -> plan(parse(argv, Set.of("--to", "--compression"), Set.of()));
                case "backup" -> backup(parse(argv, Set.of("--to", "--compression"), Set.of()));
                case "list" -> list(parse(argv, Set.of("--from"), Set.of("--json")));
                case "show" -> show(parse(argv, Set.of("--from", "--backup"), Set.of("--json")));
                case "verify" -> verify(parse(argv, Set.of("--from", "--backup"), Set.of()));
                case "restore" -> restore(parse(argv, Set.of("--from", "--backup"), Set.of("--replace", "--dry-run")));
                case "delete" -> delete(parse(argv, Set.of("--from", "--backup"), Set.of()));
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
        return stores;
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
        return b.build();
    }

    private List<DataStore> requireStores(Args a) {
        List<DataStore> stores = stores(a);
        if (stores.isEmpty()) {
            throw new Args.UsageException("'" + a.command + "' needs at least one store, e.g. --volume NAME=DIR");
        }
        return stores;
    }

    // ---------------------------------------------------------------- commands

    private int plan(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = sg.planBackup(requireStores(a));
        out.print(p.explain());
        return 0;
    }

    private int backup(Args a) {
        SgBackup sg = engine(a.required("--to"), a);
        MigrationPlan p = sg.planBackup(requireStores(a));
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
                out.println(b.id() + " " + b.createdAt().truncatedTo(ChronoUnit.SECONDS) + " " + b.storedSize() + " "
                        + String.join(",", b.stores()));
            }
        }
        return 0;
    }

    private int show(Args a) {
        SgBackup sg = engine(a.required("--from"), a);
        Manifest m = sg.show(a.required("--backup"));
        if (a.has("--json")) {
            out.println(json(manifestJson(m)));
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
        List<DataStore> targets = requireStores(a);
        Manifest m = sg.show(id);
        for (DataStore t : targets) {
            if (m.store(t.name()).isEmpty()) {
                throw new Args.UsageException("backup " + id + " has no store '" + t.name() + "'; it has: " + String.join(", ", m.storeNames()));
            }
        }
        MigrationPlan p = sg.planRestore(id, targets, new RestoreOptions(a.has("--replace"), a.has("--dry-run")));
        p.steps().stream().filter(s -> s.action().equals("skip"))
                .forEach(s -> err.println("skipped: store " + s.store() + " (" + s.kind() + "): no target given"));
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

    // ---------------------------------------------------------------- JSON

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static String json(Object node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode manifestJson(Manifest m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", m.id());
        o.put("createdAt", m.createdAt().toString());
        o.put("completedAt", m.completedAt().toString());
        o.put("toolVersion", m.toolVersion());
        o.put("scope", m.scope());
        o.put("compression", m.compression());
        o.put("encrypted", m.encrypted());
        o.put("size", m.size());
        o.put("storedSize", m.storedSize());
        ArrayNode stores = o.putArray("stores");
        for (StoreBackup s : m.stores()) {
            ObjectNode sn = stores.addObject();
            sn.put("name", s.name());
            sn.put("kind", s.kind());
            sn.put("description", s.description());
            ObjectNode props = sn.putObject("properties");
            s.properties().forEach(props::put);
            ArrayNode w = sn.putArray("warnings");
            s.warnings().forEach(w::add);
            ArrayNode arts = sn.putArray("artifacts");
            for (ArtifactInfo art : s.artifacts()) {
                ObjectNode an = arts.addObject();
                an.put("name", art.name());
                an.put("key", art.key());
                an.put("size", art.size());
                an.put("sha256", art.sha256());
                an.put("storedSize", art.storedSize());
                an.put("storedSha256", art.storedSha256());
                ArrayNode t = an.putArray("transforms");
                art.transforms().forEach(t::add);
                ObjectNode attrs = an.putObject("attributes");
                art.attributes().forEach(attrs::put);
            }
        }
        return o;
    }
}
