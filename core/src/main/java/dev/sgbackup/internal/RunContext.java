package dev.sgbackup.internal;

import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.transform.Compression;

/**
 * What every room of the engine shares for one {@code SgBackup}: the sink, how new artifacts are compressed, the
 * progress listener, the per-store and per-run parallelism, the keys, and the deduplicated repository (whether new
 * backups go to it; reading dedup backups works either way).
 */
record RunContext(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
                  KeyRing keys, Dedup dedup) {

    /** Full backups only (dedup backups can still be read). */
    RunContext(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
               KeyRing keys) {
        this(sink, compression, listener, parallelism, stepParallelism, keys, new Dedup(sink, keys, false, false, java.time.Duration.ZERO));
    }

    Progress progress(long bytesTotal, long artifactsTotal) {
        return new Progress(listener, bytesTotal, artifactsTotal);
    }
}
