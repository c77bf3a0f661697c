package dev.sgbackup.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the checks that run before anything is written found: problems (errors stop the run, warnings do not),
 * facts the operator should know ({@link #info}), and what a restore will change in its target beyond
 * writing the backup's data ({@link Change}). Thread-safe.
 */
public final class CheckReport {
    /** How much a finding matters. */
    public enum Level { ERROR, WARNING, INFO }

    /**
     * One finding.
     *
     * @param subject the store (or sink) it is about
     * @param level   error, warning or info
     * @param message the whole finding: what is wrong and what to do
     * @param brief   a few words for one-line summaries, e.g. {@code permission_sync_jobs → users}
     */
    public record Finding(String subject, Level level, String message, String brief) {
        public Finding {
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(level, "level");
            Objects.requireNonNull(message, "message");
            brief = brief == null || brief.isBlank() ? shorten(message) : brief;
        }

        /** True for an error (stops the run). */
        public boolean error() {
            return level == Level.ERROR;
        }

        @Override
        public String toString() {
            return switch (level) {
                case ERROR -> "ERROR ";
                case WARNING -> "WARN  ";
                case INFO -> "INFO  ";
            } + subject + ": " + message;
        }

        private static String shorten(String m) {
            return m.length() <= 60 ? m : m.substring(0, 57) + "...";
        }
    }

    /**
     * What a restore does to one table (or other item) of its target.
     *
     * @param subject  the store
     * @param item     the table ({@code schema.table}) or item
     * @param action   what happens to it
     * @param category the catalog category it belongs to, or null
     * @param rows     rows it holds now (for EMPTY and CLEAR) or will get (for WRITE), -1 if unknown
     * @param because  why, e.g. {@code references public.repo, which is restored}
     */
    public record Change(String subject, String item, Action action, String category, long rows, String because) {
        /** WRITE: the backup's rows are loaded; EMPTY: emptied, then written; CLEAR: emptied, not written. */
        public enum Action { WRITE, EMPTY, CLEAR }

        public Change {
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(item, "item");
            Objects.requireNonNull(action, "action");
        }

        @Override
        public String toString() {
            return action.name().toLowerCase(java.util.Locale.ROOT) + " " + subject + " " + item
                    + (category == null ? "" : " [" + category + "]") + (rows < 0 ? "" : " (" + rows + " rows)")
                    + (because == null ? "" : ": " + because);
        }
    }

    private final List<Finding> findings = new ArrayList<>();
    private final List<Change> changes = new ArrayList<>();

    public synchronized void error(String subject, String message) {
        findings.add(new Finding(subject, Level.ERROR, message, null));
    }

    /** An error with a few-word form for one-line summaries. */
    public synchronized void error(String subject, String brief, String message) {
        findings.add(new Finding(subject, Level.ERROR, message, brief));
    }

    public synchronized void warn(String subject, String message) {
        findings.add(new Finding(subject, Level.WARNING, message, null));
    }

    /** A fact the operator should see before the run (e.g. tables added to close foreign keys). */
    public synchronized void info(String subject, String message) {
        findings.add(new Finding(subject, Level.INFO, message, null));
    }

    /** Records what a restore will do to one item of its target. */
    public synchronized void change(Change change) {
        changes.add(Objects.requireNonNull(change, "change"));
    }

    public synchronized List<Finding> findings() {
        return List.copyOf(findings);
    }

    /** The errors only. */
    public synchronized List<Finding> errors() {
        return findings.stream().filter(Finding::error).toList();
    }

    public synchronized List<Change> changes() {
        return List.copyOf(changes);
    }

    public synchronized boolean ok() {
        return findings.stream().noneMatch(Finding::error);
    }

    /**
     * Throws {@link dev.sgbackup.run.CheckFailedException} (an {@link InvalidInputException}) carrying this report if
     * there is any error; its message names the first few errors and counts the rest.
     */
    public void throwIfFailed() {
        if (!ok()) {
            throw new dev.sgbackup.run.CheckFailedException(this);
        }
    }

    @Override
    public synchronized String toString() {
        if (findings.isEmpty() && changes.isEmpty()) {
            return "all checks passed";
        }
        StringBuilder sb = new StringBuilder();
        for (Finding f : findings) {
            sb.append(f).append('\n');
        }
        for (Change c : changes) {
            sb.append("CHANGE ").append(c).append('\n');
        }
        return sb.toString();
    }
}
