package dev.sgbackup.internal;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkLock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A {@link SinkLock} held for one run and refreshed every {@link SinkLock#refreshEvery()} by a daemon thread until
 * closed. A deduplicated backup holds a shared one from before it loads the index until its manifest is committed
 * (or it failed); prune's garbage collection holds the exclusive one. {@link #check()} before committing or deleting.
 */
final class Lease implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final SinkLock lock;
    private final ScheduledExecutorService refresher;

    private Lease(SinkLock lock) {
        this.lock = lock;
        this.refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sgbackup-lease " + lock.key());
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, lock.refreshEvery().toMillis());
        refresher.scheduleWithFixedDelay(() -> {
            try {
                lock.refresh();
            } catch (RuntimeException lost) {
                // check() reports it to the run
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * @param wait how long to try again while another run holds a conflicting lease (zero: fail at once)
     * @throws SinkLock.LockedException naming the holder if another run still holds a conflicting lease
     */
    static Lease shared(BackupSink sink, String purpose, Duration wait) {
        return new Lease(take(() -> SinkLock.shared(sink, purpose), wait, purpose));
    }

    /**
     * @param wait how long to try again while another run holds any lease (zero: fail at once)
     * @throws SinkLock.LockedException naming the holder if another run still holds any lease
     */
    static Lease exclusive(BackupSink sink, String purpose, Duration wait) {
        return new Lease(take(() -> SinkLock.exclusive(sink, purpose), wait, purpose));
    }

    /** The first pause between tries, and the longest: restic's --retry-lock backs off the same way. */
    static final Duration FIRST_PAUSE = Duration.ofSeconds(1);
    static final Duration LONGEST_PAUSE = Duration.ofSeconds(30);

    /**
     * Takes the lock, trying again with growing pauses (from {@link #FIRST_PAUSE} up to {@link #LONGEST_PAUSE}, never
     * past the wait) while another run holds a conflicting lease. A try that meets one leaves nothing behind (the
     * lock removes its own object), so waiting costs a list and a small write per try.
     */
    private static SinkLock take(Supplier<SinkLock> attempt, Duration wait, String purpose) {
        long start = System.nanoTime();
        long deadline = start + wait.toNanos();
        long pause = FIRST_PAUSE.toNanos();
        boolean told = false;
        while (true) {
            try {
                return attempt.get();
            } catch (SinkLock.LockedException e) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (wait.isZero()) {
                        throw e;
                    }
                    long waited = Math.round((System.nanoTime() - start) / 1e9);
                    throw new SinkLock.LockedException(e.getMessage() + ". Waited " + dev.sgbackup.manifest.Retention.formatDuration(
                            Duration.ofSeconds(waited)) + " for it (--retry-lock; Java: SgBackup.builder().retryLock)");
                }
                if (!told) {
                    LOG.log(System.Logger.Level.WARNING, purpose + " waits up to " + dev.sgbackup.manifest.Retention.formatDuration(wait) + " for the sink's lock: " + e.getMessage());
                    told = true;
                }
                try {
                    TimeUnit.NANOSECONDS.sleep(Math.min(pause, left));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                pause = Math.min(pause * 2, LONGEST_PAUSE.toNanos());
            }
        }
    }

    /**
     * Throws unless the lease still holds: its lock object is still in the sink (not removed as stale by another run)
     * and was refreshed within the lease. Call right before committing or deleting.
     */
    void check() {
        lock.check();
        lock.refresh(); // stats the lock object: gone means another run found it stale, and the lease is lost
    }

    /** This lease's lock object in the sink. */
    String key() {
        return lock.key();
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        lock.close();
    }
}
