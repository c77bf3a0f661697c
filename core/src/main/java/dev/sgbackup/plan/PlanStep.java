package dev.sgbackup.plan;

import dev.sgbackup.manifest.Sizes;

/**
 * One row of a plan.
 *
 * @param store          the store's name
 * @param kind           the store's kind
 * @param action         what the step does: {@code backup}, {@code restore}, {@code skip}
 * @param holds          what the store holds / where it is (never a secret)
 * @param recreatable    whether the data could be regenerated without a backup (null when unknown)
 * @param estimatedSize  plain bytes expected, or -1
 * @param note           why it is skipped, or what the operator must know
 */
public record PlanStep(String store, String kind, String action, String holds, Boolean recreatable, long estimatedSize,
                       String note) {
    @Override
    public String toString() {
        return String.format("%-8s %-16s %-20s %-9s %-11s %s%s", action, store, kind, Sizes.human(estimatedSize),
                recreatable == null ? "mixed/?" : recreatable ? "yes" : "NO", holds, note == null ? "" : "  (" + note + ")");
    }
}
