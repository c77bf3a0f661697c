package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The engine's handle on the sink's deduplicated repository ({@link DedupRepository}, under {@code dedup/}):
 * whether new backups are deduplicated, and the repository, opened on first use (created by the first
 * deduplicated backup) and kept: opening an encrypted one costs a PBKDF2 run. It also finds each store's parent: the
 * newest committed deduplicated backup of a store of the same name and kind, whose unchanged files a new backup
 * takes without reading them.
 */
final class Dedup {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    /** How many of the newest backups are looked at for a store's parent (each is a read, and a key unwrap if encrypted). */
    static final int PARENT_SEARCH = 10;
    private final BackupSink sink;
    private final KeyRing keys;
    private final boolean enabled;
    private final boolean forceRead;
    private final java.time.Duration retryLock;
    private DedupRepository repository;
    private boolean prefetching;
    /** Manifests read while looking for parents (empty: not deduplicated): a committed manifest never changes. */
    private final Map<String, Optional<Manifest>> manifests = new HashMap<>();

    Dedup(BackupSink sink, KeyRing keys, boolean enabled, boolean forceRead, java.time.Duration retryLock) {
        this.sink = sink;
        this.keys = keys;
        this.enabled = enabled;
        this.forceRead = forceRead;
        this.retryLock = retryLock;
    }

    /** How long a deduplicated backup or a prune waits for a conflicting lease to end ({@link Lease}). */
    java.time.Duration retryLock() {
        return retryLock;
    }

    /** Whether new backups are deduplicated. */
    boolean enabled() {
        return enabled;
    }

    /**
     * For a deduplicated backup with a passphrase: opens the repository on a daemon thread now, so that its key
     * object's PBKDF2 run (a good part of a second on a cold JVM) overlaps planning and the checks; the backup then
     * finds it open (or opens or creates it itself, if this failed: errors are left for the run to meet).
     */
    void prefetch() {
        if (!enabled || !keys.present()) {
            return;
        }
        synchronized (this) {
            if (prefetching || repository != null) {
                return;
            }
            prefetching = true;
        }
        Thread t = new Thread(() -> {
            try {
                if (!DedupRepository.exists(sink)) {
                    DedupRepository.warmUp(); // a first backup: every chunk is new, sealed and hashed
                }
                repository(false);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "opening the deduplicated repository ahead of the backup: " + e.getMessage());
            }
        }, "sgbackup-open-repository");
        t.setDaemon(true);
        t.start();
    }

    /** The repository; {@code create}: create it if the sink has none yet (a backup), else it must exist (a read). */
    synchronized DedupRepository repository(boolean create) throws IOException {
        if (repository == null) {
            repository = DedupRepository.open(sink, keys.encryption(), create);
        }
        return repository;
    }

    /**
     * The parent of {@code store}'s artifacts, by artifact name: from the newest of the last {@link #PARENT_SEARCH}
     * committed backups that holds a deduplicated backup of a store with this name and kind. Empty with
     * {@code forceRead}, for a first backup, or if no such backup can be read (then every file is read).
     *
     * @param dedupManifest reads a committed backup's manifest, opened with the run's keys, if its clear part says it
     *                      may be deduplicated (else empty: a full encrypted backup costs no key unwrap)
     */
    synchronized Map<String, DedupRepository.Parent> parents(DataStore store,
                                                             Function<String, Optional<Manifest>> dedupManifest) {
        if (forceRead) {
            return Map.of();
        }
        List<String> ids = new ArrayList<>(); // listed each time: this engine's own last backup may be the parent
        sink.listAll(Layout.MANIFESTS).forEach(o -> {
            String id = Layout.backupIdOfManifest(o.key());
            if (id != null) {
                ids.add(id);
            }
        });
        ids.sort(Comparator.reverseOrder());
        for (String id : ids.subList(0, Math.min(PARENT_SEARCH, ids.size()))) {
            Manifest m;
            try {
                Optional<Manifest> found = manifests.computeIfAbsent(id, dedupManifest);
                if (found.isEmpty()) {
                    continue; // not deduplicated
                }
                m = found.get();
            } catch (SgBackupException e) {
                LOG.log(System.Logger.Level.DEBUG, "backup " + id + " cannot be a parent: " + e.getMessage());
                continue;
            }
            for (StoreBackup sb : m.stores()) {
                if (!sb.name().equals(store.name()) || !sb.kind().equals(store.kind().id())
                        || sb.artifacts().stream().noneMatch(ArtifactInfo::deduplicated)) {
                    continue;
                }
                Map<String, DedupRepository.Parent> out = new HashMap<>();
                for (ArtifactInfo a : sb.artifacts()) {
                    if (a.deduplicated()) {
                        out.put(a.name(), new DedupRepository.Parent(m.id(), a.key(), a.storedSize(), a.storedSha256()));
                    }
                }
                return out;
            }
        }
        return Map.of();
    }
}
