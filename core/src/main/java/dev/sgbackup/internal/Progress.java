package dev.sgbackup.internal;

import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.ProgressListener;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** Progress accounting for one run (backup, restore or verify); emits BYTES events at most every 250 ms. */
final class Progress {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final ProgressListener listener;
    final Instant start = Instant.now();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong artifacts = new AtomicLong();
    final long bytesTotal;
    final long artifactsTotal;
    private volatile long lastEmit;

    Progress(ProgressListener listener, long bytesTotal, long artifactsTotal) {
        this.listener = listener;
        this.bytesTotal = bytesTotal;
        this.artifactsTotal = artifactsTotal;
    }

    void emit(ProgressEvent.Type type, String step, String artifact, String message) {
        try {
            listener.onEvent(new ProgressEvent(type, step, artifact, bytes.get(), bytesTotal, artifacts.get(), artifactsTotal,
                    Duration.between(start, Instant.now()), message));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "progress listener failed: " + e);
        }
    }

    void add(String step, long n) {
        bytes.addAndGet(n);
        long now = System.nanoTime();
        if (now - lastEmit > 250_000_000L) {
            lastEmit = now;
            emit(ProgressEvent.Type.BYTES, step, null, null);
        }
    }
}
