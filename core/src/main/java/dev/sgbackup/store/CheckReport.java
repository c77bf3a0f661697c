package dev.sgbackup.store;

import dev.sgbackup.InvalidInputException;
import java.util.ArrayList;
import java.util.List;

/** Problems found by checks that run before anything is written. Thread-safe. */
public final class CheckReport {
    /** One finding; an error stops the run, a warning does not. */
    public record Finding(String subject, boolean error, String message) {
        @Override
        public String toString() {
            return (error ? "ERROR " : "WARN  ") + subject + ": " + message;
        }
    }

    private final List<Finding> findings = new ArrayList<>();

    public synchronized void error(String subject, String message) {
        findings.add(new Finding(subject, true, message));
    }

    public synchronized void warn(String subject, String message) {
        findings.add(new Finding(subject, false, message));
    }

    public synchronized List<Finding> findings() {
        return List.copyOf(findings);
    }

    public synchronized boolean ok() {
        return findings.stream().noneMatch(Finding::error);
    }

    /** Throws {@link InvalidInputException} listing every error, if there is any. */
    public void throwIfFailed() {
        List<Finding> errors = findings().stream().filter(Finding::error).toList();
        if (!errors.isEmpty()) {
            StringBuilder sb = new StringBuilder(errors.size() == 1 ? "check failed: " : errors.size() + " checks failed: ");
            for (int i = 0; i < errors.size(); i++) {
                if (i > 0) {
                    sb.append("; ");
                }
                sb.append(errors.get(i).subject()).append(": ").append(errors.get(i).message());
            }
            throw new InvalidInputException(sb.toString());
        }
    }

    @Override
    public synchronized String toString() {
        if (findings.isEmpty()) {
            return "all checks passed";
        }
        StringBuilder sb = new StringBuilder();
        for (Finding f : findings) {
            sb.append(f).append('\n');
        }
        return sb.toString();
    }
}
