package dev.sgbackup.run;

/**
 * Receives progress of a run. One method, so a lambda will do: {@code e -> System.err.println(e)}.
 * Called from the engine's threads; implementations must be thread-safe and quick.
 */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = e -> { };

    void onEvent(ProgressEvent event);
}
