package dev.sgbackup.run;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code SgBackup.pruneJobs} did in a namespace: the sgbackup Jobs of runs no coordinator follows any more (a
 * coordinator killed outright leaves its finished Jobs behind), removed; the runs with a Job still active, named and
 * left alone.
 *
 * @param namespace the namespace
 * @param dryRun    whether nothing was deleted ({@link #removed} then says what would have been)
 * @param removed   run (backup id) to the number of its finished Jobs removed, in the order listed
 * @param active    run (backup id) to the number of its Jobs still active, left alone
 */
public record JobsPruned(String namespace, boolean dryRun, Map<String, Integer> removed, Map<String, Integer> active) {
    public JobsPruned {
        removed = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(removed));
        active = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(active));
    }

    /** Jobs removed (or, in a dry run, that would be). */
    public int jobs() {
        return removed.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** One line per run. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        removed.forEach((id, n) -> out.add((dryRun ? "would remove " : "removed ") + n + " finished Job(s) of run " + id + " in namespace "
                + namespace));
        active.forEach((id, n) -> out.add("left run " + id + " alone: " + n + " of its Jobs are active (its coordinator at work, or a dead"
                + " one's workers: prune again once they finish, or 'kubectl delete jobs -n " + namespace + " -l sgbackup.dev/backup-id="
                + id + "')"));
        return out;
    }

    @Override
    public String toString() {
        return String.join("\n", lines());
    }
}
