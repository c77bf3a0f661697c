package dev.sgbackup.manifest;

import dev.sgbackup.run.InvalidInputException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One job, so one file: the retention policy.
 *
 * <p>Which committed backups to keep. Immutable; rules combine as a <b>union</b>: a backup is kept if any rule keeps
 * it, and removed only if no rule does (restic's {@code forget} semantics).
 *
 * <pre>{@code
 * Retention r = Retention.keepLast(5).andDaily(7).andWeekly(4).andMonthly(12).andWithin(Duration.ofDays(3));
 * RetentionDecision d = r.decide(sg.list(), Instant.now());   // pure: reads and deletes nothing
 * System.out.println(d);                                      // a table: keep/remove, id, created, scope, reasons
 * }</pre>
 *
 * <ul>
 *   <li>{@code last n}: the n newest backups.</li>
 *   <li>{@code hourly/daily/weekly/monthly/yearly n}: the newest backup of each of the last n hours / calendar days /
 *       ISO-8601 weeks (Monday to Sunday, {@code 2026-W48}) / months / years <em>that have backups</em>. Periods
 *       without a backup do not count, so a gap never uses up the rule. All periods are in UTC.</li>
 *   <li>{@code within d}: every backup created less than d before the <em>newest</em> backup (restic's
 *       {@code --keep-within}). Measured from the newest backup, not from the clock, so when backups stop running
 *       for a while, prune does not delete the last good ones.</li>
 * </ul>
 *
 * <p>By default all backups on the sink are one group. {@link #perScope()} applies the same rules within each scope
 * ({@code config}, {@code postgres}, {@code all}, …) separately, so frequent small config backups do not crowd the
 * full backups out of {@code last 5}. Consequently every non-empty rule set keeps at least the newest backup of each
 * group.
 *
 * <p>An empty rule set (which would delete every backup) cannot be built.
 */
public final class Retention {
    private final int last;
    private final int hourly;
    private final int daily;
    private final int weekly;
    private final int monthly;
    private final int yearly;
    private final Duration within;
    private final boolean perScope;

    private Retention(Builder b) {
        this.last = b.last;
        this.hourly = b.hourly;
        this.daily = b.daily;
        this.weekly = b.weekly;
        this.monthly = b.monthly;
        this.yearly = b.yearly;
        this.within = b.within;
        this.perScope = b.perScope;
    }

    // ---------------------------------------------------------------- short factories

    /** Keeps the {@code n} newest backups. */
    public static Retention keepLast(int n) {
        return builder().keepLast(n).build();
    }

    /** Keeps the newest backup of each of the last {@code n} hours (UTC) that have backups. */
    public static Retention keepHourly(int n) {
        return builder().keepHourly(n).build();
    }

    /** Keeps the newest backup of each of the last {@code n} calendar days (UTC) that have backups. */
    public static Retention keepDaily(int n) {
        return builder().keepDaily(n).build();
    }

    /** Keeps the newest backup of each of the last {@code n} ISO weeks (UTC) that have backups. */
    public static Retention keepWeekly(int n) {
        return builder().keepWeekly(n).build();
    }

    /** Keeps the newest backup of each of the last {@code n} months (UTC) that have backups. */
    public static Retention keepMonthly(int n) {
        return builder().keepMonthly(n).build();
    }

    /** Keeps the newest backup of each of the last {@code n} years (UTC) that have backups. */
    public static Retention keepYearly(int n) {
        return builder().keepYearly(n).build();
    }

    /** Keeps every backup created less than {@code d} before the newest backup. */
    public static Retention keepWithin(Duration d) {
        return builder().keepWithin(d).build();
    }

    /** A builder for rules assembled piece by piece (e.g. from command-line flags); {@code build()} refuses no rules. */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- combinators (each returns a new value)

    public Retention andLast(int n) {
        return toBuilder().keepLast(n).build();
    }

    public Retention andHourly(int n) {
        return toBuilder().keepHourly(n).build();
    }

    public Retention andDaily(int n) {
        return toBuilder().keepDaily(n).build();
    }

    public Retention andWeekly(int n) {
        return toBuilder().keepWeekly(n).build();
    }

    public Retention andMonthly(int n) {
        return toBuilder().keepMonthly(n).build();
    }

    public Retention andYearly(int n) {
        return toBuilder().keepYearly(n).build();
    }

    public Retention andWithin(Duration d) {
        return toBuilder().keepWithin(d).build();
    }

    /** The same rules, applied within each backup scope separately. */
    public Retention perScope() {
        return toBuilder().perScope(true).build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.last = last;
        b.hourly = hourly;
        b.daily = daily;
        b.weekly = weekly;
        b.monthly = monthly;
        b.yearly = yearly;
        b.within = within;
        b.perScope = perScope;
        return b;
    }

    // ---------------------------------------------------------------- accessors (0 / null = rule not used)

    public int last() {
        return last;
    }

    public int hourly() {
        return hourly;
    }

    public int daily() {
        return daily;
    }

    public int weekly() {
        return weekly;
    }

    public int monthly() {
        return monthly;
    }

    public int yearly() {
        return yearly;
    }

    /** The {@code within} duration, or null if that rule is not used. */
    public Duration within() {
        return within;
    }

    public boolean isPerScope() {
        return perScope;
    }

    // ---------------------------------------------------------------- the decision

    /**
     * Decides, for every backup in {@code backups}, whether these rules keep it (and why) or remove it. Pure: reads
     * nothing else and deletes nothing. {@code now} is recorded in the decision and used for the age column of its
     * table; the rules themselves are measured from the backups' own times (see the class comment).
     */
    public RetentionDecision decide(List<BackupSummary> backups, Instant now) {
        Objects.requireNonNull(now, "now");
        List<BackupSummary> sorted = new ArrayList<>(backups);
        // newest first; the id (time + random suffix) breaks ties so the outcome never depends on input order
        sorted.sort(Comparator.comparing(BackupSummary::createdAt).thenComparing(BackupSummary::id).reversed());
        Map<String, List<BackupSummary>> groups = new LinkedHashMap<>();
        for (BackupSummary b : sorted) {
            groups.computeIfAbsent(perScope ? b.scope() : "", k -> new ArrayList<>()).add(b);
        }
        Map<String, List<String>> reasons = new LinkedHashMap<>();
        for (List<BackupSummary> group : groups.values()) {
            decideGroup(group, reasons);
        }
        List<RetentionDecision.Kept> keep = new ArrayList<>();
        List<BackupSummary> remove = new ArrayList<>();
        for (BackupSummary b : sorted) {
            List<String> why = reasons.get(b.id());
            if (why == null || why.isEmpty()) {
                remove.add(b);
            } else {
                keep.add(new RetentionDecision.Kept(b, why));
            }
        }
        return new RetentionDecision(this, now, keep, remove);
    }

    private void decideGroup(List<BackupSummary> newestFirst, Map<String, List<String>> reasons) {
        for (BackupSummary b : newestFirst) {
            reasons.computeIfAbsent(b.id(), k -> new ArrayList<>());
        }
        for (int i = 0; i < Math.min(last, newestFirst.size()); i++) {
            reasons.get(newestFirst.get(i).id()).add("last:" + (i + 1));
        }
        bucket(newestFirst, reasons, "hourly", hourly, t -> t.toString().substring(0, 13));
        bucket(newestFirst, reasons, "daily", daily, t -> t.toLocalDate().toString());
        bucket(newestFirst, reasons, "weekly", weekly, t -> String.format(Locale.ROOT, "%d-W%02d",
                t.get(IsoFields.WEEK_BASED_YEAR), t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)));
        bucket(newestFirst, reasons, "monthly", monthly, t -> String.format(Locale.ROOT, "%04d-%02d", t.getYear(), t.getMonthValue()));
        bucket(newestFirst, reasons, "yearly", yearly, t -> String.format(Locale.ROOT, "%04d", t.getYear()));
        if (within != null && !newestFirst.isEmpty()) {
            Instant cutoff = newestFirst.get(0).createdAt().minus(within);
            for (BackupSummary b : newestFirst) {
                if (b.createdAt().isAfter(cutoff)) {
                    reasons.get(b.id()).add("within:" + formatDuration(within));
                }
            }
        }
    }

    /** Newest first: a backup whose period differs from the previous kept one's opens a new period and is kept. */
    private static void bucket(List<BackupSummary> newestFirst, Map<String, List<String>> reasons, String rule, int n,
                               Function<LocalDateTime, String> period) {
        String previous = null;
        int left = n;
        for (BackupSummary b : newestFirst) {
            if (left == 0) {
                return;
            }
            String p = period.apply(LocalDateTime.ofInstant(b.createdAt(), ZoneOffset.UTC));
            if (!p.equals(previous)) {
                reasons.get(b.id()).add(rule + ":" + p);
                previous = p;
                left--;
            }
        }
    }

    // ---------------------------------------------------------------- durations

    private static final Pattern SHORT = Pattern.compile("(\\d+)([smhdw])");

    /**
     * Parses {@code 90s}, {@code 30m}, {@code 12h}, {@code 7d}, {@code 2w}, combinations such as {@code 1d12h}, or
     * ISO-8601 ({@code PT12H}, {@code P7D}). Negative durations are refused.
     */
    public static Duration parseDuration(String s) {
        String t = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        Duration d;
        if (t.startsWith("p")) {
            try {
                d = Duration.parse(t.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw badDuration(s);
            }
        } else {
            Matcher m = SHORT.matcher(t);
            d = Duration.ZERO;
            int end = 0;
            while (m.lookingAt()) {
                long v = Long.parseLong(m.group(1));
                d = d.plus(switch (m.group(2)) {
                    case "s" -> Duration.ofSeconds(v);
                    case "m" -> Duration.ofMinutes(v);
                    case "h" -> Duration.ofHours(v);
                    case "d" -> Duration.ofDays(v);
                    default -> Duration.ofDays(7 * v);
                });
                end = m.end();
                m.region(end, t.length());
            }
            if (end == 0 || end != t.length()) {
                throw badDuration(s);
            }
        }
        if (d.isNegative()) {
            throw badDuration(s);
        }
        return d;
    }

    private static InvalidInputException badDuration(String s) {
        return new InvalidInputException("'" + s + "' is not a duration; use a number with a unit s, m, h, d or w (e.g. 7d, 12h, 1d12h)"
                + " or ISO-8601 (e.g. PT12H)");
    }

    /** {@code 7d}, {@code 36h}, {@code 90m}, {@code 45s}: the largest unit that divides the duration. */
    public static String formatDuration(Duration d) {
        long s = d.getSeconds();
        if (s != 0 && s % 86_400 == 0) {
            return s / 86_400 + "d";
        }
        if (s != 0 && s % 3_600 == 0) {
            return s / 3_600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }

    // ---------------------------------------------------------------- value

    @Override
    public boolean equals(Object o) {
        return o instanceof Retention r && r.last == last && r.hourly == hourly && r.daily == daily && r.weekly == weekly
                && r.monthly == monthly && r.yearly == yearly && Objects.equals(r.within, within) && r.perScope == perScope;
    }

    @Override
    public int hashCode() {
        return Objects.hash(last, hourly, daily, weekly, monthly, yearly, within, perScope);
    }

    /** e.g. {@code keep last 5, daily 7, weekly 4, within 3d (per scope)}. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        if (last > 0) {
            parts.add("last " + last);
        }
        if (hourly > 0) {
            parts.add("hourly " + hourly);
        }
        if (daily > 0) {
            parts.add("daily " + daily);
        }
        if (weekly > 0) {
            parts.add("weekly " + weekly);
        }
        if (monthly > 0) {
            parts.add("monthly " + monthly);
        }
        if (yearly > 0) {
            parts.add("yearly " + yearly);
        }
        if (within != null) {
            parts.add("within " + formatDuration(within));
        }
        return "keep " + String.join(", ", parts) + (perScope ? " (per scope)" : "");
    }

    /** Assembles rules one at a time; a rule set twice takes the later value. */
    public static final class Builder {
        private int last;
        private int hourly;
        private int daily;
        private int weekly;
        private int monthly;
        private int yearly;
        private Duration within;
        private boolean perScope;

        private Builder() {
        }

        public Builder keepLast(int n) {
            last = count("last", n);
            return this;
        }

        public Builder keepHourly(int n) {
            hourly = count("hourly", n);
            return this;
        }

        public Builder keepDaily(int n) {
            daily = count("daily", n);
            return this;
        }

        public Builder keepWeekly(int n) {
            weekly = count("weekly", n);
            return this;
        }

        public Builder keepMonthly(int n) {
            monthly = count("monthly", n);
            return this;
        }

        public Builder keepYearly(int n) {
            yearly = count("yearly", n);
            return this;
        }

        public Builder keepWithin(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new InvalidInputException("keep-within needs a positive duration, got " + d
                        + "; leave the rule out instead of giving 0");
            }
            within = d;
            return this;
        }

        public Builder perScope(boolean perScope) {
            this.perScope = perScope;
            return this;
        }

        /** True if at least one keep rule is set. */
        public boolean hasRules() {
            return last + hourly + daily + weekly + monthly + yearly > 0 || within != null;
        }

        public Retention build() {
            if (!hasRules()) {
                throw new InvalidInputException("no keep rule given: an empty retention would delete every backup;"
                        + " give at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly, keep-within");
            }
            return new Retention(this);
        }

        private static int count(String rule, int n) {
            if (n < 1) {
                throw new InvalidInputException("keep-" + rule + " must be at least 1, got " + n + "; leave the rule out to not use it");
            }
            return n;
        }
    }
}
