package dev.sgbackup.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.SinkException;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A lease on a sink shared by several writers (processes, machines): <em>shared</em> for runs that add objects
 * (backups), <em>exclusive</em> for runs that remove objects others may reference (prune, garbage collection).
 * Many shared leases coexist; an exclusive one excludes every other lease.
 *
 * <p>The protocol, restic's with leases: a run writes its own lock object ({@code locks/shared-<token>} or
 * {@code locks/exclusive-<token>}, a fresh key each time, holding owner, host, purpose and expiry), <em>then</em>
 * lists {@code locks/}. A shared lease is given up if any live exclusive lock is listed; an exclusive one if any
 * other live lock is. Two runs that race both write before either lists, so at least one sees the other: at worst
 * both give up (and may retry), never both proceed. This needs list-after-write consistency from the sink (local
 * directories; S3 since December 2020; GCS), not conditional writes.
 *
 * <p>Leases expire. A holder refreshes its lock object every {@code lease / 6} ({@link #refresh()}); a lock whose
 * expiry is more than {@link #SKEW} in the past is stale (its holder died or lost the sink) and any run may delete
 * it. A holder that has not refreshed within its lease, or finds its lock object gone, has lost the lease:
 * {@link #check()} throws, and it must stop before it deletes or commits anything. Clocks of different machines are
 * assumed to agree within {@link #SKEW}.
 */
public final class SinkLock implements AutoCloseable {
    /** Where lock objects live. */
    public static final String PREFIX = "locks/";
    /** How far apart the clocks of machines sharing a sink may be. */
    public static final Duration SKEW = Duration.ofMinutes(5);
    /** The default lease. */
    public static final Duration LEASE = Duration.ofMinutes(30);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The sink is locked by another run. */
    public static final class LockedException extends SinkException {
        public LockedException(String message) {
            super(message);
        }
    }

    private final BackupSink sink;
    private final String key;
    private final boolean exclusive;
    private final String purpose;
    private final Duration lease;
    private final Clock clock;
    private final Instant created;
    private volatile Instant refreshed;
    private volatile boolean lost;
    private volatile boolean released;

    private SinkLock(BackupSink sink, String key, boolean exclusive, String purpose, Duration lease, Clock clock) {
        this.sink = sink;
        this.key = key;
        this.exclusive = exclusive;
        this.purpose = purpose;
        this.lease = lease;
        this.clock = clock;
        this.created = clock.instant();
    }

    /** A shared lease (for a backup): coexists with other shared ones, refused while an exclusive one is live. */
    public static SinkLock shared(BackupSink sink, String purpose) {
        return acquire(sink, false, purpose, LEASE, Clock.systemUTC());
    }

    /** An exclusive lease (for prune): refused while any other lease is live. */
    public static SinkLock exclusive(BackupSink sink, String purpose) {
        return acquire(sink, true, purpose, LEASE, Clock.systemUTC());
    }

    /**
     * Takes a lease. Stale locks met on the way are deleted.
     *
     * @throws LockedException naming the holder, when another run holds a conflicting lease
     */
    public static SinkLock acquire(BackupSink sink, boolean exclusive, String purpose, Duration lease, Clock clock) {
        byte[] t = new byte[12];
        RANDOM.nextBytes(t);
        String key = PREFIX + (exclusive ? "exclusive-" : "shared-") + HexFormat.of().formatHex(t);
        SinkLock l = new SinkLock(sink, key, exclusive, purpose, lease, clock);
        try {
            l.write();
            List<Holder> conflicts = new ArrayList<>();
            for (Holder h : holders(sink, clock)) {
                if (h.key().equals(key)) {
                    continue;
                }
                if (h.stale(clock.instant())) {
                    sink.delete(h.key()); // its holder died or lost the sink long ago
                } else if (exclusive || h.exclusive()) {
                    conflicts.add(h);
                }
            }
            if (!conflicts.isEmpty()) {
                sink.delete(key);
                throw new LockedException(sink.uri() + " is locked by " + String.join("; ", conflicts.stream().map(Holder::describe).toList())
                        + ": " + (exclusive ? purpose + " needs it to itself" : purpose + " waits for it") + ". Try again when it"
                        + " ends; a lock whose holder died expires " + SKEW.toMinutes() + " minutes after its lease (up to "
                        + lease.toMinutes() + " minutes)");
            }
            return l;
        } catch (IOException e) {
            try {
                sink.delete(key);
            } catch (IOException | RuntimeException ignored) {
                // the lease expires on its own
            }
            throw new SinkException("cannot take a lock on " + sink.uri() + ": " + e.getMessage(), e);
        }
    }

    /** A lock object as listed. */
    public record Holder(String key, boolean exclusive, String purpose, String host, long pid, Instant created, Instant expires) {
        /** Stale: its expiry passed more than {@link #SKEW} ago. */
        public boolean stale(Instant now) {
            return expires.plus(SKEW).isBefore(now);
        }

        String describe() {
            return purpose + " (" + (exclusive ? "exclusive" : "shared") + ", pid " + pid + " on " + host + ", since " + created
                    + ", lease until " + expires + ")";
        }
    }

    /**
     * Every lock object of the sink; unreadable ones count as live exclusive locks until they are old. One deleted
     * between the listing and its reading (released, or removed as stale) is left out.
     */
    public static List<Holder> holders(BackupSink sink, Clock clock) throws IOException {
        List<Holder> out = new ArrayList<>();
        for (ObjectInfo o : sink.listAll(PREFIX).toList()) {
            Holder h;
            try (InputStream in = sink.read(o.key())) {
                h = parse(o, in.readNBytes(64 * 1024));
            } catch (NoSuchObjectException gone) {
                continue;
            }
            if (h != null) {
                out.add(h);
            } else if (o.lastModified() != null) {
                // written by a newer version, or half-written: treat as exclusive for a lease after it was written
                out.add(new Holder(o.key(), true, "an unreadable lock", "?", -1, o.lastModified(), o.lastModified().plus(LEASE)));
            }
        }
        return out;
    }

    /** A lock object's holder, or null when its bytes are not a lock object this version reads. */
    private static Holder parse(ObjectInfo o, byte[] bytes) {
        try {
            JsonNode j = JSON.readTree(bytes);
            return new Holder(o.key(), j.path("exclusive").asBoolean(true), j.path("purpose").asText("?"),
                    j.path("host").asText("?"), j.path("pid").asLong(-1), Instant.parse(j.path("created").asText()),
                    Instant.parse(j.path("expires").asText()));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void write() throws IOException {
        Instant now = clock.instant();
        ObjectNode j = JSON.createObjectNode().put("exclusive", exclusive).put("purpose", purpose).put("host", host())
                .put("pid", ProcessHandle.current().pid()).put("created", created.toString())
                .put("expires", now.plus(lease).toString());
        byte[] bytes = JSON.writeValueAsBytes(j);
        try (PendingObject p = sink.create(key, bytes.length)) {
            p.stream().write(bytes);
            p.commit();
        }
        refreshed = now;
    }

    private static String host() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                h = "unknown-host";
            }
        }
        return h;
    }

    /** This lease's lock object. */
    public String key() {
        return key;
    }

    /** How often to call {@link #refresh()}. */
    public Duration refreshEvery() {
        return lease.dividedBy(6);
    }

    /**
     * Extends the lease. If the lock object is gone (another run found it stale and deleted it), the lease is lost
     * and this throws, as {@link #check()} does from then on.
     */
    public synchronized void refresh() {
        if (released || lost) {
            check();
            return;
        }
        // a lease that ran out without a refresh (this process suspended past it) stays lost: another run may have
        // found the lock stale and deleted it after the stat below, and a write would bring it back unnoticed
        check();
        try {
            if (sink.stat(key).isEmpty()) {
                lost = true;
                check();
            }
            write();
        } catch (IOException e) {
            check(); // lost only once the lease ran out without a refresh
        }
    }

    /** Throws unless this lease still holds: its lock object was refreshed within the lease and not deleted. */
    public void check() {
        if (released) {
            throw new IllegalStateException("the lock " + key + " was released");
        }
        Instant r = refreshed;
        if (lost || r == null || r.plus(lease).isBefore(clock.instant())) {
            lost = true;
            throw new LockedException("the lease " + key + " on " + sink.uri() + " was lost (not refreshed within " + lease.toMinutes()
                    + " minutes, or removed as stale by another run): stop without deleting or committing anything, and run again");
        }
    }

    /** Gives the lease up: deletes the lock object. */
    @Override
    public synchronized void close() {
        if (released) {
            return;
        }
        released = true;
        try {
            sink.delete(key);
        } catch (IOException | RuntimeException e) {
            // the lease expires on its own
        }
    }

    @Override
    public String toString() {
        return "SinkLock[" + key + ", " + (exclusive ? "exclusive" : "shared") + ", " + purpose + "]";
    }
}
