package dev.sgbackup.internal;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkLock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A {@link SinkLock} held for one run and refreshed every {@link SinkLock#refreshEvery()} by a daemon thread until
 * closed. A deduplicated backup holds a shared one from before it loads the index until its manifest is committed
 * (or it failed); prune's garbage collection holds the exclusive one. {@link #check()} before committing or deleting.
 */
final class Lease implements AutoCloseable {
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

    /** @throws SinkLock.LockedException naming the holder if another run holds a conflicting lease */
    static Lease shared(BackupSink sink, String purpose) {
        return new Lease(SinkLock.shared(sink, purpose));
    }

    /** @throws SinkLock.LockedException naming the holder if another run holds any lease */
    static Lease exclusive(BackupSink sink, String purpose) {
        return new Lease(SinkLock.exclusive(sink, purpose));
    }

    /**
     * Throws unless the lease still holds: its lock object is still in the sink (not removed as stale by another run)
     * and was refreshed within the lease. Call right before committing or deleting.
     */
    void check() {
        lock.check();
        lock.refresh(); // stats the lock object: gone means another run found it stale, and the lease is lost
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        lock.close();
    }
}
