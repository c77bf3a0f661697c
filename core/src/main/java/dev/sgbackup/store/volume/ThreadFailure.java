package dev.sgbackup.store.volume;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Rethrows, on the thread that reads or writes the stream, what a helper thread of the volume store failed with. */
final class ThreadFailure {
    private ThreadFailure() {
    }

    /** Throws {@code failure} as it was (an IOException, a RuntimeException or an Error); nothing if it is null. */
    static void rethrow(Throwable failure) throws IOException {
        if (failure == null) {
            return;
        }
        if (failure instanceof IOException io) {
            throw io;
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        throw new UncheckedIOException(new IOException(failure));
    }
}
