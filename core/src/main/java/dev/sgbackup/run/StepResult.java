package dev.sgbackup.run;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of one step (one store) of a run.
 *
 * @param step      the step's name (the store name)
 * @param kind      the store's kind
 * @param status    completed, failed or skipped
 * @param artifacts artifacts written or read
 * @param bytes     plain bytes
 * @param storedBytes bytes in the sink
 * @param duration  how long it took
 * @param message   why it failed or was skipped, else null
 * @param warnings  warnings raised by the step
 */
public record StepResult(String step, String kind, Status status, int artifacts, long bytes, long storedBytes,
                         Duration duration, String message, List<String> warnings) {
    public enum Status { COMPLETED, FAILED, SKIPPED }

    public StepResult {
        warnings = List.copyOf(warnings);
    }

    @Override
    public String toString() {
        return String.format("%-16s %-20s %-9s %5d artifacts %10s %8.1fs%s", step, kind, status.name().toLowerCase(), artifacts,
                Sizes.human(bytes), duration.toMillis() / 1000.0, message == null ? "" : "  " + message);
    }
}
