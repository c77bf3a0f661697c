package dev.sgbackup.manifest;

import dev.sgbackup.internal.Layout;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Retention on a synthetic calendar of backups: ids and times chosen by hand, no sink involved. */
class RetentionTest {
    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    private int seq;

    /** A committed backup created at {@code iso} (UTC) in scope {@code scope}; its id is {@code yyyyMMddTHHmmssZ-xxxxxx}. */
    private BackupSummary at(String iso, String scope) {
        Instant t = Instant.parse(iso);
        String id = Layout.newBackupId(t).substring(0, 17) + HexFormat.of().toHexDigits(seq++).substring(2);
        return new BackupSummary(id, t, scope, 100, 50, List.of("s"), false);
    }

    private BackupSummary at(String iso) {
        return at(iso, "all");
    }

    private static List<String> ids(BackupSummary... bs) {
        return java.util.Arrays.stream(bs).map(BackupSummary::id).toList();
    }

    private static Map<String, List<String>> reasons(RetentionDecision d) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        d.keep().forEach(k -> m.put(k.id(), k.reasons()));
        return m;
    }

    @Test
    void keepLastKeepsTheNNewest() {
        List<BackupSummary> bs = new ArrayList<>();
        for (int day = 1; day <= 9; day++) {
            bs.add(at("2026-01-0" + day + "T12:00:00Z"));
        }
        RetentionDecision d = Retention.keepLast(3).decide(bs, NOW);
        assertThat(d.keptIds()).containsExactly(bs.get(8).id(), bs.get(7).id(), bs.get(6).id());
        assertThat(reasons(d).values()).containsExactly(List.of("last:1"), List.of("last:2"), List.of("last:3"));
        List<String> older = new ArrayList<>(bs.subList(0, 6).stream().map(BackupSummary::id).toList());
        Collections.reverse(older);
        assertThat(d.removedIds()).containsExactlyElementsOf(older);
        assertThat(Retention.keepLast(20).decide(bs, NOW).remove()).isEmpty();
    }

    @Test
    void keepDailyTakesTheNewestOfEachOfTheLastNDaysThatHaveBackupsInUtc() {
        BackupSummary jan10evening = at("2026-01-10T20:00:00Z");
        BackupSummary jan10morning = at("2026-01-10T08:00:00Z");
        BackupSummary jan10midnight = at("2026-01-10T00:00:00Z");
        BackupSummary jan09late = at("2026-01-09T23:59:59Z");
        BackupSummary jan09early = at("2026-01-09T00:00:00Z");
        // no backups on Jan 7 and 8: the gap does not use up the rule
        BackupSummary jan06 = at("2026-01-06T12:00:00Z");
        BackupSummary jan05 = at("2026-01-05T12:00:00Z");
        List<BackupSummary> all = List.of(jan05, jan10morning, jan09early, jan10evening, jan06, jan09late, jan10midnight);

        RetentionDecision d = Retention.keepDaily(3).decide(all, NOW);
        assertThat(reasons(d)).containsExactly(
                Map.entry(jan10evening.id(), List.of("daily:2026-01-10")),
                Map.entry(jan09late.id(), List.of("daily:2026-01-09")),
                Map.entry(jan06.id(), List.of("daily:2026-01-06")));
        assertThat(d.removedIds()).containsExactlyElementsOf(ids(jan10morning, jan10midnight, jan09early, jan05));
    }

    @Test
    void keepWeeklyUsesIsoWeeksAcrossTheYearBoundary() {
        // 2026-01-01 is a Thursday, so ISO week 2026-W01 runs from Monday 2025-12-29 to Sunday 2026-01-04
        BackupSummary sat = at("2026-01-03T10:00:00Z");
        BackupSummary mon = at("2025-12-29T10:00:00Z");
        BackupSummary sunLate = at("2025-12-28T23:59:00Z");
        BackupSummary w52mon = at("2025-12-22T00:00:00Z");
        BackupSummary w51 = at("2025-12-21T12:00:00Z");
        List<BackupSummary> all = List.of(sat, mon, sunLate, w52mon, w51);

        RetentionDecision d = Retention.keepWeekly(2).decide(all, NOW);
        assertThat(reasons(d)).containsExactly(
                Map.entry(sat.id(), List.of("weekly:2026-W01")),
                Map.entry(sunLate.id(), List.of("weekly:2025-W52")));
        assertThat(d.removedIds()).containsExactlyElementsOf(ids(mon, w52mon, w51));
        assertThat(Retention.keepWeekly(3).decide(all, NOW).keptIds()).containsExactlyElementsOf(ids(sat, sunLate, w51));
    }

    @Test
    void keepMonthlyAndYearlyCrossMonthAndYearBoundaries() {
        BackupSummary mar = at("2026-03-01T00:00:01Z");
        BackupSummary febEnd = at("2026-02-28T23:59:00Z");
        BackupSummary febStart = at("2026-02-01T00:00:00Z");
        BackupSummary jan = at("2026-01-31T23:59:59Z");
        BackupSummary dec = at("2025-12-31T23:59:59Z");
        // no backup in October
        BackupSummary nov = at("2025-11-15T00:00:00Z");
        BackupSummary y2024 = at("2024-07-01T00:00:00Z");
        List<BackupSummary> all = List.of(mar, febEnd, febStart, jan, dec, nov, y2024);

        RetentionDecision m3 = Retention.keepMonthly(3).decide(all, NOW);
        assertThat(reasons(m3)).containsExactly(
                Map.entry(mar.id(), List.of("monthly:2026-03")),
                Map.entry(febEnd.id(), List.of("monthly:2026-02")),
                Map.entry(jan.id(), List.of("monthly:2026-01")));
        assertThat(Retention.keepMonthly(5).decide(all, NOW).keptIds()).containsExactlyElementsOf(ids(mar, febEnd, jan, dec, nov));

        RetentionDecision y = Retention.keepYearly(3).decide(all, NOW);
        assertThat(reasons(y)).containsExactly(
                Map.entry(mar.id(), List.of("yearly:2026")),
                Map.entry(dec.id(), List.of("yearly:2025")),
                Map.entry(y2024.id(), List.of("yearly:2024")));
    }

    @Test
    void keepHourly() {
        BackupSummary a = at("2026-01-10T13:59:59Z");
        BackupSummary b = at("2026-01-10T13:00:00Z");
        BackupSummary c = at("2026-01-10T12:30:00Z");
        BackupSummary d = at("2026-01-09T23:10:00Z");
        RetentionDecision r = Retention.keepHourly(3).decide(List.of(a, b, c, d), NOW);
        assertThat(reasons(r)).containsExactly(
                Map.entry(a.id(), List.of("hourly:2026-01-10T13")),
                Map.entry(c.id(), List.of("hourly:2026-01-10T12")),
                Map.entry(d.id(), List.of("hourly:2026-01-09T23")));
        assertThat(r.removedIds()).containsExactly(b.id());
    }

    @Test
    void keepWithinIsMeasuredFromTheNewestBackupNotFromTheClock() {
        BackupSummary newest = at("2026-01-10T20:00:00Z");
        BackupSummary in = at("2026-01-09T08:00:01Z");
        BackupSummary edge = at("2026-01-09T08:00:00Z"); // exactly 36h before the newest: not within
        BackupSummary out = at("2026-01-01T00:00:00Z");
        List<BackupSummary> all = List.of(newest, in, edge, out);
        // months after the last backup, keep-within still keeps the last 36 hours of backups
        RetentionDecision d = Retention.keepWithin(Duration.ofHours(36)).decide(all, NOW);
        assertThat(reasons(d)).containsExactly(
                Map.entry(newest.id(), List.of("within:36h")),
                Map.entry(in.id(), List.of("within:36h")));
        assertThat(d.removedIds()).containsExactly(edge.id(), out.id());
    }

    @Test
    void rulesCombineAsAUnionWithEveryReason() {
        List<BackupSummary> all = calendar(new Random(7), 300);
        Retention last = Retention.keepLast(4);
        Retention daily = Retention.keepDaily(10);
        Retention weekly = Retention.keepWeekly(6);
        Retention monthly = Retention.keepMonthly(12);
        Retention within = Retention.keepWithin(Duration.ofDays(2));
        Retention union = Retention.keepLast(4).andDaily(10).andWeekly(6).andMonthly(12).andWithin(Duration.ofDays(2));

        Set<String> expected = new LinkedHashSet<>();
        for (Retention r : List.of(last, daily, weekly, monthly, within)) {
            expected.addAll(r.decide(all, NOW).keptIds());
        }
        RetentionDecision d = union.decide(all, NOW);
        assertThat(d.keptIds()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(d.keep().size() + d.remove().size()).isEqualTo(all.size());
        assertThat(d.remove()).isNotEmpty();
        // the newest backup is kept by every rule, and says so
        assertThat(d.keep().get(0).reasons()).hasSize(5).anyMatch(s -> s.equals("last:1")).anyMatch(s -> s.startsWith("daily:"))
                .anyMatch(s -> s.startsWith("weekly:")).anyMatch(s -> s.startsWith("monthly:")).anyMatch(s -> s.startsWith("within:2d"));
        // each reason of the union is the reason the single rule gives
        Map<String, List<String>> dailyReasons = reasons(daily.decide(all, NOW));
        dailyReasons.forEach((id, why) -> assertThat(reasons(d).get(id)).containsAll(why));
    }

    @Test
    void periodRulesMatchAnIndependentGroupByOracleOnARandomCalendar() {
        Random rnd = new Random(42);
        for (int round = 0; round < 20; round++) {
            List<BackupSummary> all = calendar(rnd, 50 + rnd.nextInt(400));
            int n = 1 + rnd.nextInt(15);
            check(all, Retention.keepDaily(n), n, t -> t.toLocalDate().toString());
            check(all, Retention.keepWeekly(n), n, t -> t.get(IsoFields.WEEK_BASED_YEAR) * 100 + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
            check(all, Retention.keepMonthly(n), n, t -> t.getYear() * 100 + t.getMonthValue());
            check(all, Retention.keepYearly(n), n, LocalDateTime::getYear);
        }
    }

    /** Oracle: group by period, take the n latest periods, keep the newest backup of each. */
    private static void check(List<BackupSummary> all, Retention r, int n, Function<LocalDateTime, Comparable<?>> period) {
        @SuppressWarnings({"unchecked", "rawtypes"})
        TreeMap<Comparable, List<BackupSummary>> byPeriod = new TreeMap<>(Collections.reverseOrder());
        for (BackupSummary b : all) {
            byPeriod.computeIfAbsent(period.apply(LocalDateTime.ofInstant(b.createdAt(), ZoneOffset.UTC)), k -> new ArrayList<>()).add(b);
        }
        Set<String> expected = byPeriod.values().stream().limit(n)
                .map(g -> g.stream().max(Comparator.comparing(BackupSummary::createdAt).thenComparing(BackupSummary::id)).orElseThrow().id())
                .collect(Collectors.toSet());
        assertThat(r.decide(all, NOW).keptIds()).as(r.toString()).containsExactlyInAnyOrderElementsOf(expected);
    }

    /** Backups at random times over ~3 years: several a day, empty days, weeks and months, across year ends. */
    private List<BackupSummary> calendar(Random rnd, int count) {
        List<BackupSummary> all = new ArrayList<>();
        Instant start = Instant.parse("2023-11-20T00:00:00Z");
        long span = Duration.ofDays(3 * 365).toSeconds();
        for (int i = 0; i < count; i++) {
            // squared: denser near the end, sparse (with gaps of weeks) in the past
            double f = Math.sqrt(rnd.nextDouble());
            all.add(at(start.plusSeconds((long) (f * span)).toString()));
        }
        Collections.shuffle(all, rnd);
        return all;
    }

    @Test
    void everyRuleAloneKeepsTheNewestBackupOfEachGroup() {
        Random rnd = new Random(3);
        List<BackupSummary> all = new ArrayList<>(calendar(rnd, 200));
        for (int i = 0; i < 60; i++) {
            all.add(at(Instant.parse("2024-01-01T00:00:00Z").plusSeconds(rnd.nextInt(60_000_000)).toString(), "config"));
        }
        BackupSummary newest = all.stream().max(Comparator.comparing(BackupSummary::createdAt)).orElseThrow();
        BackupSummary newestConfig = all.stream().filter(b -> b.scope().equals("config"))
                .max(Comparator.comparing(BackupSummary::createdAt)).orElseThrow();
        for (Retention r : List.of(Retention.keepLast(1), Retention.keepHourly(1), Retention.keepDaily(1), Retention.keepWeekly(1),
                Retention.keepMonthly(1), Retention.keepYearly(1), Retention.keepWithin(Duration.ofSeconds(1)))) {
            assertThat(r.decide(all, NOW).keptIds()).as(r.toString()).containsExactly(newest.id());
            assertThat(r.perScope().decide(all, NOW).keptIds()).as(r.perScope().toString())
                    .containsExactlyInAnyOrder(newest.id(), newestConfig.id());
        }
    }

    @Test
    void perScopeAppliesTheRulesWithinEachScope() {
        BackupSummary c1 = at("2026-01-10T23:00:00Z", "config");
        BackupSummary c2 = at("2026-01-10T22:00:00Z", "config");
        BackupSummary c3 = at("2026-01-10T21:00:00Z", "config");
        BackupSummary a1 = at("2026-01-10T02:00:00Z", "all");
        BackupSummary a2 = at("2026-01-09T02:00:00Z", "all");
        BackupSummary a3 = at("2026-01-08T02:00:00Z", "all");
        List<BackupSummary> all = List.of(c1, c2, c3, a1, a2, a3);

        assertThat(Retention.keepLast(2).decide(all, NOW).keptIds()).containsExactlyElementsOf(ids(c1, c2));
        RetentionDecision d = Retention.keepLast(2).perScope().decide(all, NOW);
        assertThat(d.keptIds()).containsExactlyElementsOf(ids(c1, c2, a1, a2));
        assertThat(reasons(d).get(a1.id())).containsExactly("last:1");
        assertThat(d.removedIds()).containsExactlyElementsOf(ids(c3, a3));

        // daily per scope: each scope keeps its own newest backup of 2026-01-10
        assertThat(Retention.keepDaily(1).decide(all, NOW).keptIds()).containsExactly(c1.id());
        assertThat(Retention.keepDaily(1).perScope().decide(all, NOW).keptIds()).containsExactly(c1.id(), a1.id());
        // within is measured from each scope's newest backup
        assertThat(Retention.keepWithin(Duration.ofHours(25)).perScope().decide(all, NOW).keptIds())
                .containsExactlyElementsOf(ids(c1, c2, c3, a1, a2));
    }

    @Test
    void theOutcomeDoesNotDependOnInputOrderAndAnEmptyListIsFine() {
        List<BackupSummary> all = calendar(new Random(1), 100);
        Retention r = Retention.keepLast(3).andDaily(5).andMonthly(6);
        RetentionDecision d = r.decide(all, NOW);
        List<BackupSummary> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(2));
        assertThat(r.decide(shuffled, NOW)).isEqualTo(d);
        assertThat(r.decide(List.of(), NOW).keep()).isEmpty();
        assertThat(r.decide(List.of(), NOW).remove()).isEmpty();
    }

    @Test
    void anEmptyRuleSetIsRefused() {
        assertThatThrownBy(() -> Retention.builder().build()).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no keep rule").hasMessageContaining("delete every backup").hasMessageContaining("keep-last");
        assertThat(Retention.builder().perScope(true).hasRules()).isFalse();
        assertThatThrownBy(() -> Retention.builder().perScope(true).build()).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Retention.keepLast(0)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("keep-last must be at least 1");
        assertThatThrownBy(() -> Retention.keepDaily(-1)).isInstanceOf(InvalidInputException.class).hasMessageContaining("keep-daily");
        assertThatThrownBy(() -> Retention.keepWithin(Duration.ZERO)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("positive duration");
        assertThatThrownBy(() -> Retention.keepLast(1).andWeekly(0)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void isAnImmutablePrintableValue() {
        Retention base = Retention.keepLast(5);
        Retention more = base.andDaily(7).andWeekly(4).andMonthly(12).andYearly(2).andHourly(24).andWithin(Duration.ofDays(3)).perScope();
        assertThat(base.daily()).isZero();
        assertThat(base).hasToString("keep last 5").isEqualTo(Retention.builder().keepLast(5).build());
        assertThat(more).hasToString("keep last 5, hourly 24, daily 7, weekly 4, monthly 12, yearly 2, within 3d (per scope)");
        assertThat(more.toBuilder().build()).isEqualTo(more).hasSameHashCodeAs(more);
        assertThat(base.andLast(2).last()).isEqualTo(2);

        BackupSummary newer = at("2026-01-10T20:00:00Z");
        BackupSummary older = at("2026-01-10T08:00:00Z");
        RetentionDecision d = Retention.keepLast(1).andDaily(1).decide(List.of(older, newer), NOW);
        assertThat(d.lines()).containsExactly("keep " + newer.id() + " last:1,daily:2026-01-10", "remove " + older.id());
        assertThat(d.toString()).contains("1 kept, 1 removed").contains("ACTION").contains("REASONS")
                .contains(newer.id()).contains("last:1,daily:2026-01-10").contains("141d");
        assertThat(d.keeps(newer.id())).isTrue();
        assertThat(d.keeps(older.id())).isFalse();
    }

    @Test
    void durationsParseInShortAndIsoForms() {
        assertThat(Retention.parseDuration("7d")).isEqualTo(Duration.ofDays(7));
        assertThat(Retention.parseDuration("12h")).isEqualTo(Duration.ofHours(12));
        assertThat(Retention.parseDuration("1d12h")).isEqualTo(Duration.ofHours(36));
        assertThat(Retention.parseDuration("2w")).isEqualTo(Duration.ofDays(14));
        assertThat(Retention.parseDuration("90m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Retention.parseDuration("0s")).isZero();
        assertThat(Retention.parseDuration("PT12H")).isEqualTo(Duration.ofHours(12));
        assertThat(Retention.parseDuration("P7D")).isEqualTo(Duration.ofDays(7));
        for (String bad : List.of("", "7", "d", "-1d", "7x", "7d-", "P-1D", "PX")) {
            assertThatThrownBy(() -> Retention.parseDuration(bad)).as(bad).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("not a duration").hasMessageContaining("7d");
        }
        assertThat(Retention.formatDuration(Duration.ofHours(36))).isEqualTo("36h");
        assertThat(Retention.formatDuration(Duration.ofDays(7))).isEqualTo("7d");
        assertThat(Retention.formatDuration(Duration.ofSeconds(61))).isEqualTo("61s");
    }
}
