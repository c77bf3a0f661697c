package dev.sgbackup.run;

import java.time.Duration;

/**
 * A moment in a run.
 *
 * @param type           what happened
 * @param step           the step (store name), or null for run-level events
 * @param artifact       the artifact name, or null
 * @param bytesDone      plain bytes processed so far in the run
 * @param bytesTotal     estimated total plain bytes of the run, or -1 if unknown
 * @param artifactsDone  artifacts finished so far in the run
 * @param artifactsTotal artifacts expected (known on restore and verify), or -1
 * @param elapsed        time since the run started
 * @param message        a warning or note, or null
 */
public record ProgressEvent(Type type, String step, String artifact, long bytesDone, long bytesTotal,
                            long artifactsDone, long artifactsTotal, Duration elapsed, String message) {
    public enum Type { RUN_STARTED, STEP_STARTED, ARTIFACT_STARTED, BYTES, ARTIFACT_FINISHED, STEP_FINISHED, WARNING, RUN_FINISHED }

    /** Bytes per second so far. */
    public double throughput() {
        double s = elapsed.toMillis() / 1000.0;
        return s <= 0 ? 0 : bytesDone / s;
    }

    /** Estimated time left, or null if the total is unknown. */
    public Duration eta() {
        double t = throughput();
        if (bytesTotal <= 0 || t <= 0 || bytesDone > bytesTotal) {
            return null;
        }
        return Duration.ofMillis((long) ((bytesTotal - bytesDone) / t * 1000));
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(type.name().toLowerCase().replace('_', ' '));
        if (step != null) {
            sb.append(' ').append(step);
        }
        if (artifact != null) {
            sb.append('/').append(artifact);
        }
        sb.append(" ").append(Sizes.human(bytesDone));
        if (bytesTotal > 0) {
            sb.append(" of ").append(Sizes.human(bytesTotal));
        }
        if (message != null) {
            sb.append(": ").append(message);
        }
        return sb.toString();
    }
}
