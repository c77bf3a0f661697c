package dev.sgbackup.gcs;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Truncated exponential backoff with jitter, as Google's retry guidance describes: the n-th retry waits
 * between half and all of {@code min(max, initial * 2^(n-1))}.
 */
record RetryPolicy(int maxAttempts, Duration initial, Duration max) {
    static final RetryPolicy DEFAULT = new RetryPolicy(7, Duration.ofSeconds(1), Duration.ofSeconds(32));

    RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
        if (initial.isNegative() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff must satisfy 0 <= initial <= max, got " + initial + " and " + max);
        }
    }

    /** The wait before retry number {@code retry} (1 = the first retry). */
    Duration delay(int retry) {
        long initialNanos = initial.toNanos();
        long cap = max.toNanos();
        long base = initialNanos;
        for (int i = 1; i < retry && base < cap; i++) {
            base = base * 2;
        }
        base = Math.min(base, cap);
        if (base <= 1) {
            return Duration.ofNanos(base);
        }
        long half = base / 2;
        return Duration.ofNanos(half + ThreadLocalRandom.current().nextLong(base - half + 1));
    }

    static boolean retryable(int code) {
        return code == 408 || code == 429 || code >= 500;
    }
}
