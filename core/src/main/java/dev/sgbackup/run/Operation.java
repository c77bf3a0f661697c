package dev.sgbackup.run;

import java.util.Locale;

/** What a plan or a run does: back up into a sink, or restore from one. */
public enum Operation {
    BACKUP, RESTORE;

    /** {@code backup} or {@code restore}, as plans, results and JSON print it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return id();
    }
}
