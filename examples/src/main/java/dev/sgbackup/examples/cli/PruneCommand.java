package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.Executor;
import dev.sgbackup.run.JobsPruned;
import dev.sgbackup.run.KubernetesOptions;
import java.io.PrintStream;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.Set;

/**
 * {@code sgbackup prune}: keep rules from flags, then {@link SgBackup#prune} (retention, leftovers, and the
 * deduplicated repository's garbage collection). stdout: one line per backup ({@code keep ID REASONS},
 * {@code delete ID} or {@code would delete ID}) and per leftover key ({@code removed KEY} or {@code would remove KEY});
 * with {@code --json}, one JSON object instead ({@link #json}). The summary, with the collection's numbers, goes to
 * stderr.
 */
final class PruneCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--keep-last", "--keep-hourly", "--keep-daily", "--keep-weekly",
            "--keep-monthly", "--keep-yearly", "--keep-within", "--grace", "--retry-lock", "--namespace", "--kubeconfig", "--context");
    static final Set<String> SWITCHES = Set.of("--dry-run", "--per-scope", "--json");

    private PruneCommand() {
    }

    /** The rules the flags give; a usage error if none is given or a value is bad. */
    static Retention retention(Args a) {
        try {
            Retention.Builder b = Retention.builder().perScope(a.has("--per-scope"));
            count(a, "--keep-last").ifPresent(b::keepLast);
            count(a, "--keep-hourly").ifPresent(b::keepHourly);
            count(a, "--keep-daily").ifPresent(b::keepDaily);
            count(a, "--keep-weekly").ifPresent(b::keepWeekly);
            count(a, "--keep-monthly").ifPresent(b::keepMonthly);
            count(a, "--keep-yearly").ifPresent(b::keepYearly);
            String within = a.one("--keep-within");
            if (within != null) {
                b.keepWithin(Retention.parseDuration(within));
            }
            if (!b.hasRules()) {
                throw new Args.UsageException("'prune' needs at least one keep rule (--keep-last N, --keep-daily N, --keep-weekly N,"
                        + " --keep-monthly N, --keep-within DURATION, ...): without one every backup would be deleted");
            }
            return b.build();
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
    }

    static Duration grace(Args a) {
        String g = a.one("--grace");
        try {
            return g == null ? SgBackup.DEFAULT_PRUNE_GRACE : Retention.parseDuration(g);
        } catch (InvalidInputException e) {
            throw new Args.UsageException("--grace: " + e.getMessage());
        }
    }

    private static OptionalInt count(Args a, String flag) {
        String v = a.one(flag);
        if (v == null) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(v));
        } catch (NumberFormatException e) {
            throw new Args.UsageException(flag + " takes a whole number of at least 1, got '" + v + "'");
        }
    }

    /** The command: its rules from the flags (usage errors before the sink is opened), then {@link #run}. */
    static int run(Session s, Args a) {
        String from = a.required("--from");
        var retention = retention(a); // usage errors before the sink is opened
        var grace = grace(a);
        String ns = a.one("--namespace");
        if (ns == null && (a.has("--kubeconfig") || a.has("--context"))) {
            throw new Args.UsageException("--kubeconfig and --context are for --namespace (the Kubernetes executor's Jobs)");
        }
        SgBackup sg = EngineFlags.engine(s, from, a);
        if (ns != null) {
            jobs(s, a, sg, ns, a.has("--dry-run"));
        }
        return run(sg, retention, grace, a.has("--dry-run"), a.has("--json"), s.out, s.err);
    }

    /**
     * {@code --namespace}: the Jobs of Kubernetes executor runs no coordinator follows any more (one killed outright
     * leaves its finished Jobs), removed before the sink's leftovers; runs with an active Job named and left alone.
     * Lines on stderr.
     */
    private static void jobs(Session s, Args a, SgBackup sg, String ns, boolean dryRun) {
        String kubeconfig = a.one("--kubeconfig");
        JobsPruned j = sg.pruneJobs(Executor.kubernetes(KubernetesOptions.of(ns, null).kubeconfig(kubeconfig == null ? null
                : java.nio.file.Path.of(kubeconfig)).context(a.one("--context")).messages(s.err::println)), dryRun);
        j.lines().forEach(s.err::println);
        s.err.println((dryRun ? "dry run: " : "") + j.jobs() + " Job(s) of " + j.removed().size() + " finished run(s) in namespace " + ns
                + (dryRun ? " would be removed" : " removed") + (j.active().isEmpty() ? "" : ", " + j.active().size()
                + " run(s) with active Jobs left alone"));
    }

    /** Runs the prune and prints it as lines; exit 0, or 1 if a deletion failed. */
    static int run(SgBackup sg, Retention retention, Duration grace, boolean dryRun, PrintStream out, PrintStream err) {
        return run(sg, retention, grace, dryRun, false, out, err);
    }

    /**
     * Runs the prune and prints it: lines, or with {@code json} one JSON object, on {@code out}; the summary on
     * {@code err}. Exit 0, or 1 if a deletion failed. A prune that fails as a whole (e.g. a backup holds its lease)
     * throws, after printing {@code {"operation": "prune", "ok": false, "error": …}} when {@code json}.
     */
    static int run(SgBackup sg, Retention retention, Duration grace, boolean dryRun, boolean json, PrintStream out, PrintStream err) {
        PruneResult r;
        try {
            r = sg.prune(retention, grace, dryRun);
        } catch (RuntimeException e) {
            if (json) {
                ObjectNode o = Session.mapper().createObjectNode();
                o.put("operation", "prune");
                o.put("dryRun", dryRun);
                o.put("ok", false);
                o.put("error", e.getMessage());
                out.println(Session.json(o));
            }
            throw e;
        }
        if (json) {
            out.println(Session.json(json(r)));
        } else {
            r.lines().forEach(out::println);
        }
        err.println((dryRun ? "dry run: " : "") + retention + ": " + r.decision().keep().size() + " kept, "
                + (dryRun ? r.decision().remove().size() + " would be deleted, " : r.deleted().size() + " deleted, ")
                + r.leftovers().size() + " leftover objects older than " + Retention.formatDuration(grace)
                + (dryRun ? " would be removed" : " removed"));
        err.println(r.collectLine());
        r.failed().forEach((id, why) -> err.println("error: " + why));
        return r.ok() ? 0 : 1;
    }

    /**
     * {@code prune --json}: {@code operation}, {@code dryRun}, {@code ok}, {@code error} (null), {@code grace} (e.g.
     * {@code 24h}), {@code kept} ({@code [{id, reasons: [...]}]}, newest first), {@code deleted} (ids deleted; in a dry
     * run, the ids that would be), {@code failed} ({@code [{id, error}]}), {@code leftovers} (keys), and the garbage
     * collection's {@code packsDeleted}, {@code packsRepacked} and {@code bytesFreed}.
     */
    static ObjectNode json(PruneResult r) {
        ObjectNode o = Session.mapper().createObjectNode();
        o.put("operation", "prune");
        o.put("dryRun", r.dryRun());
        o.put("ok", r.ok());
        o.putNull("error");
        o.put("grace", Retention.formatDuration(r.gracePeriod()));
        ArrayNode kept = o.putArray("kept");
        for (String line : r.decision().lines()) {
            if (line.startsWith("keep ")) {
                String[] f = line.split(" ", 3);
                ObjectNode k = kept.addObject();
                k.put("id", f[1]);
                ArrayNode reasons = k.putArray("reasons");
                if (f.length > 2) {
                    for (String why : f[2].split(",")) {
                        reasons.add(why);
                    }
                }
            }
        }
        ArrayNode deleted = o.putArray("deleted");
        (r.dryRun() ? r.decision().removedIds() : r.deleted()).forEach(deleted::add);
        ArrayNode failed = o.putArray("failed");
        r.failed().forEach((id, why) -> failed.addObject().put("id", id).put("error", why));
        ArrayNode leftovers = o.putArray("leftovers");
        r.leftovers().forEach(leftovers::add);
        o.put("packsDeleted", r.packsDeleted());
        o.put("packsRepacked", r.packsRepacked());
        o.put("bytesFreed", r.bytesFreed());
        return o;
    }
}
