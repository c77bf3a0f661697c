package dev.sgbackup.store;

import dev.sgbackup.run.InvalidInputException;
import java.util.Locale;

/**
 * Restore phases. A database restore needs the instance's services stopped; a configuration restore through
 * the API needs the instance running; so a restore runs in phases with operator checkpoints between them.
 * Every {@link StoreKind} names the phase its stores restore in ({@link #ALL} is only a selection).
 */
public enum Phase {
    DB("stop every Sourcegraph service that uses the databases (frontend, worker, gitserver, repo-updater, searcher, "
            + "symbols, precise-code-intel-worker, migrator…) and keep the databases running"),
    VOLUMES("keep the services that own the volumes (gitserver, indexed-search, prometheus, blobstore…) stopped"),
    CONFIG("start the instance and wait until <url>/healthz answers 200"),
    ALL("");

    private final String checkpoint;

    Phase(String checkpoint) {
        this.checkpoint = checkpoint;
    }

    /** What the operator must have done before this phase runs. */
    public String checkpoint() {
        return checkpoint;
    }

    public boolean includes(Phase p) {
        return this == ALL || this == p;
    }

    /** Parses {@code db|volumes|config|all}. */
    public static Phase parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("unknown phase '" + s + "'; use db, volumes, config or all");
        }
    }
}
