package dev.sgbackup.manifest;

import dev.sgbackup.IntegrityException;
import java.util.List;

/**
 * The result of verifying a backup: every artifact re-read and checked.
 *
 * @param backupId the backup
 * @param checked  artifacts checked
 * @param bytes    plain bytes re-read
 * @param problems one line per bad artifact ({@code store/artifact (key): what is wrong})
 */
public record VerifyReport(String backupId, int checked, long bytes, List<String> problems) {
    public VerifyReport {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    /** Throws {@link IntegrityException} naming every bad artifact, if any. */
    public VerifyReport throwIfFailed() {
        if (!ok()) {
            throw new IntegrityException("backup " + backupId + " failed verification: " + String.join("; ", problems));
        }
        return this;
    }

    @Override
    public String toString() {
        if (ok()) {
            return "backup " + backupId + " ok: " + checked + " artifacts, " + Sizes.human(bytes) + " verified";
        }
        return "backup " + backupId + " DAMAGED: " + problems.size() + " of " + checked + " artifacts bad\n  " + String.join("\n  ", problems);
    }
}
