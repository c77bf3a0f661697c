package dev.sgbackup.store;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.CheckReport;
import java.io.IOException;

/**
 * One kind of data: a directory, a PostgreSQL database, a configuration API. A store writes one or more
 * named artifacts on backup and reads them back on restore; it never knows where the bytes rest, nor how
 * they are compressed, encrypted or hashed (the engine wraps its streams).
 *
 * <p>The same object can serve as a backup source and as a restore target; a restore target is built
 * with the target's coordinates (another directory, another database).
 */
public interface DataStore {

    /** Unique within a backup; {@code [a-z0-9][a-z0-9._-]*} (at most 63 characters), e.g. {@code frontend}, {@code gitserver-0}. */
    String name();

    /** Returns {@code name} if it is a valid store {@link #name()}, else throws {@link InvalidInputException} saying what is valid. */
    static String checkName(String name) {
        if (name == null || !name.matches("[a-z0-9][a-z0-9._-]{0,62}")) {
            throw new InvalidInputException("invalid store name '" + name
                    + "': use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. frontend, gitserver-0)");
        }
        return name;
    }

    /**
     * What kind of store this is ({@link StoreKind#VOLUME}, {@link StoreKind#POSTGRES},
     * {@link StoreKind#SOURCEGRAPH_CONFIG}, or one of your own from {@link StoreKind#of}); it names the restore
     * phase the store runs in.
     */
    StoreKind kind();

    /** One line for plans: what it holds and where it is, without secrets. */
    String describe();

    /**
     * Checks that the source can be read (reachable, readable, right credentials) before anything runs.
     * Problems are added to {@code report}; nothing is written.
     */
    default void checkBackup(CheckReport report) {
    }

    /** Checks that this store can receive a restore of {@code backup} (empty target or replace, rights, versions). */
    default void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
    }

    /** Estimated bytes the backup will read, or -1 if unknown (for plans and progress). */
    default long estimateSize() {
        return -1;
    }

    /** Writes this store's artifacts to {@code out}. Called once per backup. */
    void backup(BackupOutput out) throws IOException;

    /**
     * Restores from {@code in}. Must leave the target as it was on any failure, or say exactly what it changed
     * in the exception message.
     */
    void restore(RestoreInput in) throws IOException;
}
