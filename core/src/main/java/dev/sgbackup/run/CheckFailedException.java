package dev.sgbackup.run;

import java.util.List;

/**
 * A check refused the run before anything was written: nothing changed. {@link #report()} holds every finding
 * (and, for a restore, every change it would have made); the message names the first errors (at most ten, within
 * about 2,000 characters) and counts the rest, so it stays bounded however many there are. {@link #summary()} is
 * the one-line form with the first three errors' briefs.
 */
public final class CheckFailedException extends InvalidInputException {
    /** Briefs in {@link #summary()}. */
    static final int BRIEFS = 3;
    /** At most this many errors are named in the message; the rest are counted. */
    static final int SHOWN = 10;
    /** Characters of one error kept in the message. */
    static final int MAX_ONE = 800;
    /** The message names errors while it stays under this many characters (the first is always named). */
    static final int MAX_MESSAGE = 2000;

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
        for (int i = 0; i < Math.min(BRIEFS, errors.size()); i++) {
            sb.append(i == 0 ? "" : ", ").append(oneLine(errors.get(i).brief()));
        }
        return sb.append(errors.size() > BRIEFS ? ", …)" : ")").toString();
    }

    /** {@code s} with line breaks (and the blanks around them) as single spaces. */
    static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " ");
    }

    /** One finding as {@code subject: message} on one line, cut at {@value #MAX_ONE} characters. */
    public static String line(CheckReport.Finding f) {
        String m = oneLine(f.subject() + ": " + f.message());
        return m.length() > MAX_ONE ? m.substring(0, MAX_ONE - 1) + "…" : m;
    }

    private static String message(List<CheckReport.Finding> errors) {
        StringBuilder sb = new StringBuilder(errors.size() == 1 ? "check failed: " : errors.size() + " checks failed: ");
        int named = 0;
        for (CheckReport.Finding f : errors) {
            String m = line(f);
            if (named > 0 && (named == SHOWN || sb.length() + 2 + m.length() > MAX_MESSAGE)) {
                break;
            }
            sb.append(named == 0 ? "" : "; ").append(m);
            named++;
        }
        if (named < errors.size()) {
            sb.append("; and ").append(errors.size() - named).append(" more");
        }
        return sb.toString();
    }
}
