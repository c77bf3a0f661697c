package dev.sgbackup.store;

import dev.sgbackup.run.InvalidInputException;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What kind of data a store holds, and the restore {@link Phase} its stores run in. The built-in kinds are
 * {@link #VOLUME}, {@link #POSTGRES} and {@link #SOURCEGRAPH_CONFIG}; a store of your own declares its own kind
 * with {@link #of(String, Phase)}, so a restore runs it in the phase it needs (never silently in another).
 *
 * <p>The id is what manifests record; a restore target must be of the kind its stored backup was made with.
 */
public final class StoreKind {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    /** A directory tree (a volume): restored while the services that own it are stopped. */
    public static final StoreKind VOLUME = new StoreKind("volume", Phase.VOLUMES);
    /** A PostgreSQL database: restored while the services that use it are stopped. */
    public static final StoreKind POSTGRES = new StoreKind("postgres", Phase.DB);
    /** Sourcegraph's configuration documents: restored into the running instance. */
    public static final StoreKind SOURCEGRAPH_CONFIG = new StoreKind("sourcegraph-config", Phase.CONFIG);

    private final String id;
    private final Phase phase;

    private StoreKind(String id, Phase phase) {
        this.id = id;
        this.phase = phase;
    }

    /**
     * A kind of your own: {@code id} is {@code [a-z0-9][a-z0-9-]*} (at most 63 characters) and must not be a
     * built-in id; {@code phase} is {@link Phase#DB}, {@link Phase#VOLUMES} or {@link Phase#CONFIG}.
     */
    public static StoreKind of(String id, Phase phase) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(phase, "phase");
        if (!ID.matcher(id).matches()) {
            throw new InvalidInputException("store kind '" + id + "' is not valid; use [a-z0-9][a-z0-9-]*, at most 63 characters");
        }
        if (phase == Phase.ALL) {
            throw new InvalidInputException("store kind '" + id + "' needs one restore phase: db, volumes or config, not all");
        }
        Optional<StoreKind> builtIn = builtIn(id);
        if (builtIn.isPresent() && builtIn.get().phase != phase) {
            throw new InvalidInputException("store kind '" + id + "' is built in and restores in phase "
                    + builtIn.get().phase.name().toLowerCase(java.util.Locale.ROOT) + "; choose another id for your own kind");
        }
        return builtIn.orElseGet(() -> new StoreKind(id, phase));
    }

    /** The built-in kind with this id, if there is one (a manifest may name kinds of stores this program does not have). */
    public static Optional<StoreKind> builtIn(String id) {
        for (StoreKind k : new StoreKind[] {VOLUME, POSTGRES, SOURCEGRAPH_CONFIG}) {
            if (k.id.equals(id)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /** The id manifests and plans show, e.g. {@code postgres}. */
    public String id() {
        return id;
    }

    /** The restore phase stores of this kind run in. */
    public Phase phase() {
        return phase;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoreKind k && k.id.equals(id) && k.phase == phase;
    }

    @Override
    public int hashCode() {
        return id.hashCode() * 31 + phase.hashCode();
    }

    @Override
    public String toString() {
        return id;
    }
}
