package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.transform.Encryption;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * One run of the CLI: its streams and environment, the parsed flags, and what the run has learned so far (the plan,
 * where each endpoint came from, a typed passphrase). The commands write to it; {@link Main} reads it to report a
 * failure. Also the few outputs every command shares: the --report file, findings on stderr, JSON.
 */
final class Session {
    /**
     * The mapper for JSON output, made on first use: building one takes a tenth of a second on a cold JVM, and a
     * backup without {@code --json} should spend it opening its repository instead.
     */
    static ObjectMapper mapper() {
        return Mapper.JSON;
    }

    private static final class Mapper {
        static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    final PrintStream out;
    final PrintStream err;
    /** stdin/stdout are a terminal: passphrase prompts. */
    final boolean terminal;
    /** Whether stderr is a terminal: the progress bar. */
    final boolean progressBar;
    /** The environment. */
    final Function<String, String> env;
    /** Reads a passphrase from the terminal (no echo); null when there is none. */
    final Function<String, char[]> passwordReader;
    /** The command's parsed flags, once parsed. */
    Args args;
    /** The plan of a plan, backup or restore command, once made. */
    MigrationPlan currentPlan;
    /** Where each endpoint of the run came from (flag or environment). */
    final List<RunJson.Endpoint> endpoints = new ArrayList<>();
    /** Where each store of an --instance file came from, and what it leaves out: notes of the plan. */
    final List<String> instanceNotes = new ArrayList<>();
    /** A restore's backup volume stores, to match the --instance file's stores by kind; null for other commands. */
    java.util.Collection<String> restoringVolumes;
    /** The --instance file as read (and, for a restore, retargeted) once. */
    dev.sgbackup.plan.InstanceDescription instanceFile;
    /** A passphrase typed at the prompt for reading an encrypted backup (show, verify, restore). */
    Encryption prompted;

    Session(PrintStream out, PrintStream err, boolean terminal, boolean progressBar, Function<String, String> env,
            Function<String, char[]> passwordReader) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
        this.progressBar = progressBar;
        this.env = env;
        this.passwordReader = passwordReader;
    }

    /** Whether the command prints its answer as JSON: --json on plan, backup or restore. */
    boolean json() {
        return args != null && args.has("--json") && Set.of("plan", "backup", "restore").contains(args.command);
    }

    /** The plan with a note for each endpoint the environment supplied; it becomes the run's current plan. */
    MigrationPlan withEndpointNotes(MigrationPlan p) {
        currentPlan = p.withNotes(endpoints.stream().filter(e -> e.from().equals("environment"))
                .map(e -> e.store() + ": endpoint " + e.endpoint() + " from " + e.source() + " (environment)").toList()).withNotes(instanceNotes);
        return currentPlan;
    }

    /** The checks' warnings and facts, and what a restore emptied or cleared, on stderr (stdout carries results). */
    void printFindings(CheckReport checks) {
        for (CheckReport.Finding f : checks.findings()) {
            if (!f.error()) {
                err.println((f.level() == CheckReport.Level.WARNING ? "warning: " : "info: ") + f.subject() + ": " + f.message());
            }
        }
        checks.changes().stream().filter(c -> c.action() != CheckReport.Change.Action.WRITE).forEach(c -> err.println("changed: " + c));
    }

    /** Writes every finding and change to the --report file, if one was asked for; returns its name or null. */
    String report(CheckReport checks) {
        String file = args == null ? null : args.one("--report");
        if (file == null || checks == null) {
            return null;
        }
        try {
            java.nio.file.Files.writeString(Path.of(file), json(RunJson.report(mapper(), checks)) + "\n");
        } catch (java.io.IOException e) {
            err.println("error: could not write the report to " + file + ": " + e.getMessage());
        }
        return file;
    }

    static String json(Object node) {
        try {
            return mapper().writeValueAsString(node);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
