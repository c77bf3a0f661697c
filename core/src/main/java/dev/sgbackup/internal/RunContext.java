package dev.sgbackup.internal;

import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.transform.Compression;

/**
 * What every room of the engine shares for one {@code SgBackup}: the sink, how new artifacts are compressed, the
 * progress listener, the per-store and per-run parallelism, and the keys.
 */
record RunContext(BackupSink sink, Compression compression, ProgressListener listener, int parallelism, int stepParallelism,
                  KeyRing keys) {

    Progress progress(long bytesTotal, long artifactsTotal) {
        return new Progress(listener, bytesTotal, artifactsTotal);
    }
}
