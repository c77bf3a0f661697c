package dev.sgbackup.plan;

import dev.sgbackup.InvalidInputException;
import java.util.Locale;

/**
 * What a backup of an {@link Instance} holds: Sourcegraph's three options plus {@code essential}.
 */
public enum Scope {
    /** Option 1: site configuration, code host connections, global/org/user settings. */
    CONFIG,
    /** Option 2: every PostgreSQL database (frontend, codeintel, codeinsights). */
    POSTGRES,
    /** Option 3: configuration, every database and every volume. */
    ALL,
    /**
     * Only what a new instance cannot recreate: the configuration documents, the non-recreatable table
     * categories (closed over foreign keys), the codeinsights database, LSIF bundle and metrics volumes.
     * Event logs are opt-in.
     */
    ESSENTIAL;

    /** Parses {@code config|postgres|all|essential}. */
    public static Scope parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("unknown scope '" + s + "'; use config, postgres, all or essential");
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
