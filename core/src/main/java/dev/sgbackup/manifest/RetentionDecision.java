package dev.sgbackup.manifest;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * What a {@link Retention} keeps and removes, newest first. Printing it gives a table.
 *
 * @param retention the rules applied
 * @param now       when the decision was made (for the age column)
 * @param keep      the backups kept, each with every rule that keeps it (e.g. {@code last:1}, {@code daily:2026-11-25},
 *                  {@code weekly:2026-W48}, {@code monthly:2026-11}, {@code within:3d})
 * @param remove    the backups no rule keeps
 */
public record RetentionDecision(Retention retention, Instant now, List<Kept> keep, List<BackupSummary> remove) {
    public RetentionDecision {
        keep = List.copyOf(keep);
        remove = List.copyOf(remove);
    }

    /** A kept backup and why. */
    public record Kept(BackupSummary backup, List<String> reasons) {
        public Kept {
            reasons = List.copyOf(reasons);
        }

        public String id() {
            return backup.id();
        }

        @Override
        public String toString() {
            return backup.id() + " " + String.join(",", reasons);
        }
    }

    public List<String> keptIds() {
        return keep.stream().map(Kept::id).toList();
    }

    public List<String> removedIds() {
        return remove.stream().map(BackupSummary::id).toList();
    }

    public boolean keeps(String backupId) {
        return keep.stream().anyMatch(k -> k.id().equals(backupId));
    }

    /**
     * One line per backup, newest first: {@code keep ID REASONS} or {@code remove ID}, single spaces, reasons joined
     * by commas.
     */
    public List<String> lines() {
        List<Row> rows = rows();
        return rows.stream().map(r -> r.reasons == null ? "remove " + r.b.id() : "keep " + r.b.id() + " " + r.reasons).toList();
    }

    private record Row(BackupSummary b, String reasons) {
    }

    private List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        keep.forEach(k -> rows.add(new Row(k.backup(), String.join(",", k.reasons()))));
        remove.forEach(b -> rows.add(new Row(b, null)));
        rows.sort(Comparator.comparing((Row r) -> r.b.createdAt()).thenComparing(r -> r.b.id()).reversed());
        return rows;
    }

    /** A table: action, id, created, age, scope, reasons; then a summary line. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(retention).append(": ").append(keep.size()).append(" kept, ").append(remove.size()).append(" removed\n");
        sb.append(String.format(Locale.ROOT, "%-6s  %-23s  %-20s  %6s  %-8s  %s%n", "ACTION", "ID", "CREATED", "AGE", "SCOPE", "REASONS"));
        for (Row r : rows()) {
            sb.append(String.format(Locale.ROOT, "%-6s  %-23s  %-20s  %6s  %-8s  %s", r.reasons == null ? "remove" : "keep", r.b.id(),
                    r.b.createdAt().truncatedTo(ChronoUnit.SECONDS), age(Duration.between(r.b.createdAt(), now)), r.b.scope(),
                    r.reasons == null ? "" : r.reasons).stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static String age(Duration d) {
        if (d.isNegative()) {
            return "future";
        }
        if (d.toDays() > 0) {
            return d.toDays() + "d";
        }
        if (d.toHours() > 0) {
            return d.toHours() + "h";
        }
        return d.toMinutes() + "m";
    }
}
