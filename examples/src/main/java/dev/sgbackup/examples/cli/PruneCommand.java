package dev.sgbackup.examples.cli;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import java.io.PrintStream;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.Set;

/**
 * {@code sgbackup prune}: keep rules from flags, then {@link SgBackup#prune}. stdout: one line per backup
 * ({@code keep ID REASONS}, {@code delete ID} or {@code would delete ID}) and per leftover key ({@code removed KEY}
 * or {@code would remove KEY}); a summary goes to stderr.
 */
final class PruneCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--keep-last", "--keep-hourly", "--keep-daily", "--keep-weekly",
            "--keep-monthly", "--keep-yearly", "--keep-within", "--grace");
    static final Set<String> SWITCHES = Set.of("--dry-run", "--per-scope");

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
        return run(EngineFlags.engine(s, from, a), retention, grace, a.has("--dry-run"), s.out, s.err);
    }

    /** Runs the prune and prints it; exit 0, or 1 if a deletion failed. */
    static int run(SgBackup sg, Retention retention, Duration grace, boolean dryRun, PrintStream out, PrintStream err) {
        PruneResult r = sg.prune(retention, grace, dryRun);
        r.lines().forEach(out::println);
        err.println((dryRun ? "dry run: " : "") + retention + ": " + r.decision().keep().size() + " kept, "
                + (dryRun ? r.decision().remove().size() + " would be deleted, " : r.deleted().size() + " deleted, ")
                + r.leftovers().size() + " leftover objects older than " + Retention.formatDuration(grace)
                + (dryRun ? " would be removed" : " removed"));
        r.failed().forEach((id, why) -> err.println("error: " + why));
        return r.ok() ? 0 : 1;
    }
}
