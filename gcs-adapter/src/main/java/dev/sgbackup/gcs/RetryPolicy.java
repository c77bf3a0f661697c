package dev.sgbackup.gcs;

import dev.sgbackup.spi.Backoff;
import java.time.Duration;

/**
 * How often to try a request, and the truncated exponential backoff with jitter between tries that Google's retry
 * guidance describes ({@link Backoff}).
 */
record RetryPolicy(int maxAttempts, Duration initial, Duration max) {
    static final RetryPolicy DEFAULT = new RetryPolicy(7, Duration.ofSeconds(1), Duration.ofSeconds(32));

    RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
        Backoff.of(initial, max); // checks 0 <= initial <= max
    }

    /** The wait before retry number {@code retry} (1 = the first retry). */
    Duration delay(int retry) {
        return Backoff.of(initial, max).delay(retry);
    }

    static boolean retryable(int code) {
        return code == 408 || code == 429 || code >= 500;
    }
}
