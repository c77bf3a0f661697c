package dev.sgbackup.manifest;

import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.IntegrityException;
import java.util.List;

/**
 * The result of verifying a backup. A full backup's artifacts are re-read and checked; a deduplicated backup's are
 * checked as deep as its {@link VerifyOptions} say (structure, or structure and some or all of its packs read).
 *
 * @param backupId   the backup
 * @param checked    artifacts checked
 * @param bytes      plain bytes re-read and checked (for a deduplicated backup, those of the chunks in the packs read)
 * @param problems   one per bad artifact; for a deduplicated backup one per damaged chunk, missing or damaged pack, or
 *                   bad tree (store and artifact: the first artifact that references it)
 * @param options    how deeply a deduplicated backup was checked
 * @param chunks     distinct chunks the backup's deduplicated artifacts reference (0 for a full backup)
 * @param packs      packs holding them
 * @param packsRead  packs read whole and checked chunk by chunk ({@link VerifyOptions#readData()} or a subset)
 */
public record VerifyReport(String backupId, int checked, long bytes, List<Problem> problems, VerifyOptions options,
                           long chunks, int packs, int packsRead) {

    /**
     * One problem: a bad artifact, or in a deduplicated backup a damaged chunk, a missing or damaged pack, or a bad
     * tree (then {@code store}, {@code artifact} and {@code key} name the first artifact that references it).
     *
     * @param store    the store it belongs to
     * @param artifact the artifact's name
     * @param key      the sink object holding it
     * @param kind     what is wrong
     * @param message  one line for people ({@code store/artifact (key): what is wrong}, naming pack and chunk where there
     *                 is one, or the integrity check's own words)
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
        options = options == null ? VerifyOptions.structure() : options;
    }

    /** A report without deduplicated artifacts (a full backup). */
    public VerifyReport(String backupId, int checked, long bytes, List<Problem> problems) {
        this(backupId, checked, bytes, problems, VerifyOptions.structure(), 0, 0, 0);
    }

    /** How many distinct artifacts have a problem. */
    public long badArtifacts() {
        return problems.stream().map(p -> p.store() + "/" + p.artifact()).distinct().count();
    }

    /**
     * What was checked of the deduplicated artifacts, e.g. {@code structure of 120 chunks in 4 packs; 1 of 4 packs read
     * (read-data-subset 10%)}; empty for a full backup.
     */
    public String dedupSummary() {
        if (packs == 0 && chunks == 0) {
            return "";
        }
        return "structure of " + chunks + " chunks in " + packs + " packs; " + packsRead + " of " + packs + " packs read ("
                + options + ")";
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
        String dedup = dedupSummary().isEmpty() ? "" : "; dedup: " + dedupSummary();
        if (ok()) {
            return "backup " + backupId + " ok: " + checked + " artifacts, " + Sizes.human(bytes) + " verified" + dedup;
        }
        return "backup " + backupId + " DAMAGED: " + badArtifacts() + " of " + checked + " artifacts bad, " + problems.size()
                + " problems" + dedup + "\n  " + String.join("\n  ", messages());
    }
}
