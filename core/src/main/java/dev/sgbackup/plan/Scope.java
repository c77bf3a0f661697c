package dev.sgbackup.plan;

import dev.sgbackup.run.InvalidInputException;
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
    ESSENTIAL,
    /** Stores the caller composed (not one of the presets). */
    CUSTOM;

    /** Parses a preset: {@code config|postgres|all|essential}. */
    public static Scope parse(String s) {
        try {
            Scope scope = valueOf(s.trim().toUpperCase(Locale.ROOT));
            if (scope != CUSTOM) {
                return scope;
            }
        } catch (IllegalArgumentException e) {
            // below
        }
        throw new InvalidInputException("unknown scope '" + s + "'; use config, postgres, all or essential");
    }

    /** The scope a manifest records; one this version does not know (a newer release's) reads as {@link #CUSTOM}. */
    public static Scope fromId(String id) {
        for (Scope s : values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        return CUSTOM;
    }

    /** {@code config}, {@code postgres}, {@code all}, {@code essential} or {@code custom}, as manifests record it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return id();
    }
}
