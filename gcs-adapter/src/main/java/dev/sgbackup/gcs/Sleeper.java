package dev.sgbackup.gcs;

import dev.sgbackup.run.CancelledException;
import java.time.Duration;

/** Waits between retries; tests replace it to record the backoff without waiting. */
interface Sleeper {
    Sleeper SYSTEM = d -> {
        try {
            Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("interrupted while waiting to retry a GCS request", e);
        }
    };

    void sleep(Duration d);
}
