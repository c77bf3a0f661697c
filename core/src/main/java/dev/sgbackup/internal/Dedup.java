package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.sink.BackupSink;
import java.io.IOException;

/**
 * The engine's handle on the sink's deduplicated repository ({@link DedupRepository}, under {@code dedup/}):
 * whether new backups are deduplicated, and the repository, opened on first use (created by the first
 * deduplicated backup) and kept: opening an encrypted one costs a PBKDF2 run.
 */
final class Dedup {
    private final BackupSink sink;
    private final KeyRing keys;
    private final boolean enabled;
    private DedupRepository repository;

    Dedup(BackupSink sink, KeyRing keys, boolean enabled) {
        this.sink = sink;
        this.keys = keys;
        this.enabled = enabled;
    }

    /** Whether new backups are deduplicated. */
    boolean enabled() {
        return enabled;
    }

    /** The repository; {@code create}: create it if the sink has none yet (a backup), else it must exist (a read). */
    synchronized DedupRepository repository(boolean create) throws IOException {
        if (repository == null) {
            repository = DedupRepository.open(sink, keys.encryption(), create);
        }
        return repository;
    }
}
