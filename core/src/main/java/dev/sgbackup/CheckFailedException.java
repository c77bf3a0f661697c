package dev.sgbackup;

import dev.sgbackup.store.CheckReport;
import java.util.List;

/**
 * A check refused the run before anything was written: nothing changed. {@link #report()} holds every finding
 * (and, for a restore, every change it would have made); the message names at most the first few errors, so it
 * stays short however many there are. {@link #summary()} is the one-line form with the findings' briefs.
 */
public final class CheckFailedException extends InvalidInputException {
    /** Errors named in full in the message; the rest are counted. */
    static final int SHOWN = 3;
    /** Characters of one error's message kept in the exception message. */
    static final int MAX_ONE = 300;

    private final transient CheckReport report;

    public CheckFailedException(CheckReport report) {
        super(message(report.errors()));
        this.report = report;
    }

    /** Everything the checks found, the errors and the rest. */
    public CheckReport report() {
        return report;
    }

    /** The errors that refused the run. */
    public List<CheckReport.Finding> errors() {
        return report.errors();
    }

    /** One line: {@code 37 findings (a → b, c → d, e → f, …)}, from the errors' briefs. */
    public String summary() {
        List<CheckReport.Finding> errors = errors();
        StringBuilder sb = new StringBuilder().append(errors.size()).append(errors.size() == 1 ? " finding (" : " findings (");
        for (int i = 0; i < Math.min(SHOWN, errors.size()); i++) {
            sb.append(i == 0 ? "" : ", ").append(oneLine(errors.get(i).brief()));
        }
        return sb.append(errors.size() > SHOWN ? ", …)" : ")").toString();
    }

    /** {@code s} with line breaks (and the blanks around them) as single spaces. */
    static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " ");
    }

    private static String message(List<CheckReport.Finding> errors) {
        StringBuilder sb = new StringBuilder(errors.size() == 1 ? "check failed: " : errors.size() + " checks failed: ");
        for (int i = 0; i < Math.min(SHOWN, errors.size()); i++) {
            String m = oneLine(errors.get(i).subject() + ": " + errors.get(i).message());
            sb.append(i == 0 ? "" : "; ").append(m.length() > MAX_ONE ? m.substring(0, MAX_ONE - 1) + "…" : m);
        }
        if (errors.size() > SHOWN) {
            sb.append("; and ").append(errors.size() - SHOWN).append(" more");
        }
        return sb.toString();
    }
}
