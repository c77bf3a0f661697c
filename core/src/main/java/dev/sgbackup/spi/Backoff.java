package dev.sgbackup.spi;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Truncated exponential backoff with "equal jitter", for sinks that retry requests: retry number {@code n} waits a
 * random time between half and all of {@code min(max, initial * 2^(n-1))}, so it is never zero and clients that
 * failed together do not retry in lock-step (the scheme AWS and Google both recommend).
 *
 * <pre>{@code Backoff.of(Duration.ofSeconds(1), Duration.ofSeconds(32)).delay(3)  // 2 to 4 seconds}</pre>
 */
public record Backoff(Duration initial, Duration max) {
    public Backoff {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(max, "max");
        if (initial.isNegative() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff must satisfy 0 <= initial <= max, got " + initial + " and " + max);
        }
    }

    public static Backoff of(Duration initial, Duration max) {
        return new Backoff(initial, max);
    }

    /** The wait before retry number {@code retry} (1 = the first retry). */
    public Duration delay(int retry) {
        long cap = max.toNanos();
        long base = initial.toNanos();
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
}
