package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The catalog of committed backups in a sink: reading a manifest (opening a sealed one with the run's keys),
 * listing the backups, and deleting one (manifest first, so it is never half-listed, then its data).
 */
final class Catalog {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final RunContext ctx;
    /** The first manifest format with deduplicated artifacts. */
    private static final int DEDUP_FORMAT = 3;

    Catalog(RunContext ctx) {
        this.ctx = ctx;
    }

    /** The whole manifest; an encrypted one is opened with the run's passphrase or key (which must be right). */
    Manifest manifest(String backupId) {
        return read(backupId, true);
    }

    private byte[] bytes(String backupId) {
        Layout.checkBackupId(backupId);
        try (InputStream in = ctx.sink().read(Layout.manifestKey(backupId))) {
            return in.readAllBytes();
        } catch (NoSuchObjectException e) {
            throw noSuchBackup(backupId);
        } catch (IOException e) {
            throw new SinkException("reading the manifest of " + backupId + " from " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The manifest, opened, if its clear part says it may hold deduplicated artifacts (format 3 or later); else
     * empty, without unwrapping a full backup's data key. One read of the manifest.
     */
    Optional<Manifest> deduplicated(String backupId) {
        byte[] bytes = bytes(backupId);
        if (decode(backupId, bytes, false).formatVersion() < DEDUP_FORMAT) {
            return Optional.empty();
        }
        return Optional.of(decode(backupId, bytes, true));
    }

    private Manifest read(String backupId, boolean open) {
        return decode(backupId, bytes(backupId), open);
    }

    private Manifest decode(String backupId, byte[] bytes, boolean open) {
        String key = Layout.manifestKey(backupId);
        Manifest m = Manifest.decode(bytes, key, open ? p -> ctx.keys().unlock(backupId, p) : null);
        if (!m.id().equals(backupId)) {
            throw new IntegrityException("manifest " + key + " names backup " + m.id() + ", not " + backupId + "; it was moved or tampered with");
        }
        if (open && ctx.keys().present() && !m.encrypted()) {
            // someone able to write the sink could put a forged plain backup where an encrypted one was expected
            throw new InvalidInputException("backup " + backupId + " is not encrypted, but a passphrase or key was given; refusing to"
                    + " trust it as if it were. If it was made without encryption, read it without a passphrase (unset SGBACKUP_PASSPHRASE)");
        }
        return m;
    }

    private InvalidInputException noSuchBackup(String backupId) {
        return new InvalidInputException("no backup " + backupId + " in " + ctx.sink().uri() + "; 'sgbackup list' shows the backups there");
    }

    /** Committed backups, newest first; an encrypted one shows only its clear part (plain size and stores are sealed). */
    List<BackupSummary> list() {
        List<BackupSummary> out = new ArrayList<>();
        ctx.sink().listAll(Layout.MANIFESTS).forEach(o -> {
            String id = Layout.backupIdOfManifest(o.key());
            if (id == null) {
                return;
            }
            try {
                BackupSummary b = BackupSummary.ofStored(bytes(id), o.key());
                if (!b.id().equals(id)) {
                    throw new IntegrityException("manifest " + o.key() + " names backup " + b.id() + ", not " + id
                            + "; it was moved or tampered with");
                }
                out.add(b.storedSize() >= 0 ? b : new BackupSummary(id, b.createdAt(), b.scope(), -1, storedBytes(id), List.of(), true));
            } catch (IntegrityException e) {
                LOG.log(System.Logger.Level.WARNING, e.getMessage());
                ctx.listener().onEvent(new ProgressEvent(ProgressEvent.Type.WARNING, null, null, 0, -1, 0, -1, Duration.ZERO, e.getMessage()));
            }
        });
        out.sort(Comparator.comparing(BackupSummary::id).reversed());
        return out;
    }

    /**
     * Bytes stored under a backup's data prefix (what the sink holds for it, whatever the manifest says): an encrypted
     * full backup's stored size. (A deduplicated one holds nothing there: its sealed manifest records its stored size in
     * clear, see {@link BackupSummary#ofStored}.)
     */
    private long storedBytes(String backupId) {
        return ctx.sink().listAll(Layout.dataPrefix(backupId)).mapToLong(ObjectInfo::size).sum();
    }

    /**
     * The tree objects of every committed deduplicated backup but those in {@code except}: what garbage collection
     * must keep. Refuses (throws, naming the backup and what to do) if a manifest that may be a deduplicated backup's
     * cannot be read: collecting on partial knowledge would delete chunks that backup uses. An encrypted manifest
     * cannot be a deduplicated backup's when the repository is not encrypted, and is skipped then.
     */
    List<DedupRepository.LiveTree> liveTrees(boolean repositoryEncrypted, Set<String> except) {
        List<DedupRepository.LiveTree> out = new ArrayList<>();
        for (String id : ctx.sink().listAll(Layout.MANIFESTS).map(o -> Layout.backupIdOfManifest(o.key())).filter(Objects::nonNull).toList()) {
            if (except.contains(id)) {
                continue;
            }
            Manifest m;
            try {
                m = read(id, false);
                if (m.encrypted()) {
                    if (!repositoryEncrypted) {
                        continue;
                    }
                    m = read(id, true);
                }
            } catch (InvalidInputException gone) {
                if (ctx.sink().listAll(Layout.manifestKey(id)).findAny().isEmpty()) {
                    continue; // deleted meanwhile
                }
                throw cannotCollect(id, gone);
            } catch (SgBackupException e) {
                throw cannotCollect(id, e);
            }
            for (StoreBackup sb : m.stores()) {
                for (ArtifactInfo a : sb.artifacts()) {
                    if (a.deduplicated()) {
                        out.add(new DedupRepository.LiveTree(sb.name(), id, a.key(), a.storedSize(), a.storedSha256()));
                    }
                }
            }
        }
        return out;
    }

    private InvalidInputException cannotCollect(String id, RuntimeException why) {
        return new InvalidInputException("prune deletes nothing: it must read every backup to know which chunks of the deduplicated"
                + " repository in " + ctx.sink().uri() + " are in use, and backup " + id + " cannot be read (" + why.getMessage()
                + "). Give the passphrase it was made with (SGBACKUP_PASSPHRASE), or delete it with 'sgbackup delete --backup " + id
                + "' if it is not needed");
    }

    /**
     * Deletes a committed backup: its manifest, then its data, its tree objects if it is deduplicated (each belongs
     * to one backup) and any unfinished uploads under it. Packs stay: other backups may share their chunks, and
     * only prune's garbage collection removes chunks no backup references. Returns the bytes of the objects deleted.
     */
    long delete(String backupId) {
        Layout.checkBackupId(backupId);
        String key = Layout.manifestKey(backupId);
        try {
            Optional<ObjectInfo> manifest = ctx.sink().stat(key);
            if (manifest.isEmpty()) {
                throw noSuchBackup(backupId);
            }
            List<String> trees = trees(backupId);
            long freed = manifest.get().size();
            for (String t : trees) {
                freed += ctx.sink().stat(t).map(ObjectInfo::size).orElse(0L);
            }
            ctx.sink().delete(key);
            freed += deletePrefix(Layout.dataPrefix(backupId));
            ctx.sink().deleteAll(trees);
            // unfinished uploads under the backup (left by a killed process) go too; the backup is gone, so no grace
            ctx.sink().removeStaleUploads(Layout.dataPrefix(backupId), Duration.ZERO);
            return freed;
        } catch (IOException e) {
            throw new SinkException("deleting backup " + backupId + " from " + ctx.sink().uri() + " failed: " + e.getMessage()
                    + (e instanceof NoSuchObjectException ? "" : "; run delete again (what is left is data without a manifest, which prune also removes)"), e);
        }
    }

    /**
     * The tree objects a backup references: none for a full backup. Reading them needs the manifest opened; when it
     * cannot be (an encrypted backup deleted without its passphrase), its trees stay behind, unreferenced.
     */
    private List<String> trees(String backupId) {
        try {
            return read(backupId, ctx.keys().present()).artifacts().stream().filter(ArtifactInfo::deduplicated)
                    .map(ArtifactInfo::key).filter(DedupRepository::isTree).distinct().toList();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the tree objects of backup " + backupId + " stay behind (its manifest cannot be read: "
                    + e.getMessage() + ")");
            return List.of();
        }
    }

    /** Deletes every object under {@code prefix}; returns their bytes. */
    private long deletePrefix(String prefix) throws IOException {
        long bytes = 0;
        List<String> batch = new ArrayList<>();
        for (ObjectInfo o : (Iterable<ObjectInfo>) ctx.sink().listAll(prefix)::iterator) {
            bytes += o.size();
            batch.add(o.key());
            if (batch.size() == 1000) {
                ctx.sink().deleteAll(batch);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            ctx.sink().deleteAll(batch);
        }
        return bytes;
    }
}
