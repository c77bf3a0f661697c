package dev.sgbackup.store;

/**
 * How a restore may treat its targets.
 *
 * @param replace  true to overwrite a target that is not empty; false refuses a non-empty target
 * @param dryRun   true to check everything and write nothing
 */
public record RestoreOptions(boolean replace, boolean dryRun) {
    public static RestoreOptions defaults() {
        return new RestoreOptions(false, false);
    }
}
