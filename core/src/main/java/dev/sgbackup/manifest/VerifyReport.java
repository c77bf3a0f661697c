package dev.sgbackup.manifest;

import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.IntegrityException;
import java.util.List;

/**
 * The result of verifying a backup: every artifact re-read and checked.
 *
 * @param backupId the backup
 * @param checked  artifacts checked
 * @param bytes    plain bytes re-read
 * @param problems one per bad artifact
 */
public record VerifyReport(String backupId, int checked, long bytes, List<Problem> problems) {

    /**
     * One bad artifact.
     *
     * @param store    the store it belongs to
     * @param artifact the artifact's name
     * @param key      the sink object holding it
     * @param kind     what is wrong
     * @param message  one line for people ({@code store/artifact (key): what is wrong}, or the integrity check's own words)
     */
    public record Problem(String store, String artifact, String key, Kind kind, String message) {
        /** What is wrong with an artifact. */
        public enum Kind {
            /** The sink has no object for it. */
            MISSING,
            /** Its bytes do not match the manifest (size, hash, or authentication). */
            DAMAGED,
            /** The sink could not be read (network, permissions); its state is unknown. */
            UNREADABLE
        }

        @Override
        public String toString() {
            return message;
        }
    }

    public VerifyReport {
        problems = List.copyOf(problems);
    }

    /** Each problem's message. */
    public List<String> messages() {
        return problems.stream().map(Problem::message).toList();
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    /** Throws {@link IntegrityException} naming every bad artifact, if any. */
    public VerifyReport throwIfFailed() {
        if (!ok()) {
            throw new IntegrityException("backup " + backupId + " failed verification: " + String.join("; ", messages()));
        }
        return this;
    }

    @Override
    public String toString() {
        if (ok()) {
            return "backup " + backupId + " ok: " + checked + " artifacts, " + Sizes.human(bytes) + " verified";
        }
        return "backup " + backupId + " DAMAGED: " + problems.size() + " of " + checked + " artifacts bad\n  " + String.join("\n  ", messages());
    }
}
