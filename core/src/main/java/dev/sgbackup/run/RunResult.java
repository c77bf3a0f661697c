package dev.sgbackup.run;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of a backup or restore: the backup id, and a result per step.
 *
 * @param operation  backup or restore
 * @param backupId   the backup written or read
 * @param committed  for a backup, whether its manifest was written (only then does it exist)
 * @param steps      every step's outcome
 * @param duration   wall time of the run
 * @param checks     what the checks before the run found (warnings, facts, and for a restore the changes it makes)
 */
public record RunResult(Operation operation, String backupId, boolean committed, List<StepResult> steps, Duration duration,
                        CheckReport checks) {
    public RunResult {
        java.util.Objects.requireNonNull(operation, "operation");
        steps = List.copyOf(steps);
        checks = checks == null ? new CheckReport() : checks;
    }

    /** A result without check findings. */
    public RunResult(Operation operation, String backupId, boolean committed, List<StepResult> steps, Duration duration) {
        this(operation, backupId, committed, steps, duration, null);
    }

    public boolean ok() {
        return steps.stream().noneMatch(s -> s.status() == StepResult.Status.FAILED);
    }

    public long bytes() {
        return steps.stream().mapToLong(StepResult::bytes).sum();
    }

    public long storedBytes() {
        return steps.stream().mapToLong(StepResult::storedBytes).sum();
    }

    public List<String> warnings() {
        return steps.stream().flatMap(s -> s.warnings().stream().map(w -> s.step() + ": " + w)).toList();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(operation).append(' ').append(backupId).append(ok() ? " ok" : " FAILED")
                .append(String.format("  %s -> %s in %.1fs%n", Sizes.human(bytes()), Sizes.human(storedBytes()), duration.toMillis() / 1000.0));
        steps.forEach(s -> sb.append("  ").append(s).append('\n'));
        return sb.toString();
    }
}
