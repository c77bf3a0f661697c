package dev.sgbackup.sink;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock tests move by hand (set {@link #now}); shipped in core's tests jar for the adapters' tests. */
public final class MutableClock extends Clock {
    public volatile Instant now;

    public MutableClock() {
        this(Instant.now());
    }

    public MutableClock(Instant now) {
        this.now = now;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now;
    }
}
