package dev.sgbackup.plan;

import java.util.Locale;
import java.util.Objects;
import dev.sgbackup.run.Sizes;

/**
 * One row of a plan.
 *
 * @param store          the store's name
 * @param kind           the store's kind id (a {@code StoreKind} id; a skip row may name one this program lacks)
 * @param action         what the step does
 * @param holds          what the store holds / where it is (never a secret)
 * @param recreatable    whether a new instance could regenerate the data without a backup
 * @param estimatedSize  plain bytes expected, or -1
 * @param note           why it is skipped, or what the operator must know
 */
public record PlanStep(String store, String kind, Action action, String holds, Recreatable recreatable, long estimatedSize,
                       String note) {

    /** What a step does with its store. */
    public enum Action {
        BACKUP, RESTORE, SKIP;

        /** {@code backup}, {@code restore} or {@code skip}, as plans and JSON print it. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /** Whether a new instance could regenerate a store's data without a backup. */
    public enum Recreatable {
        /** Yes: e.g. git data re-cloned from the code hosts, search indexes rebuilt. */
        YES("yes"),
        /** No: only a backup brings it back. */
        NO("NO"),
        /** Some of it: e.g. the frontend database, whose clone state a new instance recreates and whose users it cannot. */
        PARTLY("partly"),
        /** Not known (a store of the user's own, an external database). */
        UNKNOWN("?");

        private final String label;

        Recreatable(String label) {
            this.label = label;
        }

        public static Recreatable of(boolean recreatable) {
            return recreatable ? YES : NO;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    public PlanStep {
        Objects.requireNonNull(action, "action");
        recreatable = recreatable == null ? Recreatable.UNKNOWN : recreatable;
    }

    @Override
    public String toString() {
        return String.format("%-8s %-16s %-20s %-9s %-11s %s%s", action, store, kind, Sizes.human(estimatedSize),
                recreatable, holds, note == null ? "" : "  (" + note + ")");
    }
}
