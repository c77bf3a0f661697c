package dev.sgbackup.manifest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a prune did (or, for a dry run, would do).
 *
 * @param decision    which committed backups the rules keep and remove, with reasons
 * @param gracePeriod leftovers younger than this were left alone
 * @param dryRun      true if nothing was deleted
 * @param deleted     ids of the backups deleted (empty in a dry run)
 * @param failed      backup id → why deleting it failed (the backup may be half deleted: run prune again)
 * @param leftovers   keys of leftovers of failed backups removed (in a dry run: that would be removed)
 * @param packsDeleted  packs of the deduplicated repository deleted by garbage collection: no committed backup uses
 *                      any of their chunks (0 when the sink has no deduplicated repository)
 * @param packsRepacked packs that were mostly garbage, whose live chunks were copied into new packs before they
 *                      were deleted
 * @param bytesFreed    bytes of packs and index objects garbage collection deleted, less those of the packs and index
 *                      objects it wrote; in a dry run, what it would free (exact unless the sink changes meanwhile).
 *                      The deleted backups' own objects (manifests, data, tree objects) are not counted
 */
public record PruneResult(RetentionDecision decision, Duration gracePeriod, boolean dryRun, List<String> deleted,
                          Map<String, String> failed, List<String> leftovers, int packsDeleted, int packsRepacked,
                          long bytesFreed) {
    public PruneResult {
        deleted = List.copyOf(deleted);
        failed = Map.copyOf(failed);
        leftovers = List.copyOf(leftovers);
    }

    /** A prune of a sink without a deduplicated repository: no garbage collection. */
    public PruneResult(RetentionDecision decision, Duration gracePeriod, boolean dryRun, List<String> deleted,
                       Map<String, String> failed, List<String> leftovers) {
        this(decision, gracePeriod, dryRun, deleted, failed, leftovers, 0, 0, 0);
    }

    /** True if every deletion that was due succeeded. */
    public boolean ok() {
        return failed.isEmpty();
    }

    /**
     * The CLI's stdout: one line per backup, newest first ({@code keep ID REASONS}, {@code delete ID},
     * {@code would delete ID} or {@code failed ID}), then one per leftover key ({@code removed KEY} or
     * {@code would remove KEY}). The garbage collection's numbers are in {@link #collectLine()}.
     */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        for (String line : decision.lines()) {
            if (line.startsWith("keep ")) {
                out.add(line);
                continue;
            }
            String id = line.substring("remove ".length());
            out.add(dryRun ? "would delete " + id : failed.containsKey(id) ? "failed " + id : "delete " + id);
        }
        leftovers.forEach(k -> out.add((dryRun ? "would remove " : "removed ") + k));
        return out;
    }

    /**
     * {@code collected: N packs deleted, M packs repacked, B bytes freed} ({@code would collect: …} in a dry run):
     * the deduplicated repository's garbage collection.
     */
    public String collectLine() {
        return (dryRun ? "would collect: " : "collected: ") + packsDeleted + " packs deleted, " + packsRepacked + " packs repacked, "
                + bytesFreed + " bytes freed";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(dryRun ? "prune (dry run, nothing deleted)\n" : "prune\n");
        sb.append(decision);
        failed.forEach((id, why) -> sb.append("FAILED to delete ").append(id).append(": ").append(why).append('\n'));
        sb.append(leftovers.size()).append(" leftover objects of failed backups older than ").append(Retention.formatDuration(gracePeriod))
                .append(dryRun ? " would be removed" : " removed").append('\n');
        leftovers.forEach(k -> sb.append("  ").append(k).append('\n'));
        sb.append(collectLine()).append('\n');
        return sb.toString();
    }
}
