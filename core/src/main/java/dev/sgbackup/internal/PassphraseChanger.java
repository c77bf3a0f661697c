package dev.sgbackup.internal;

import dev.sgbackup.dedup.Rekey;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.PassphraseChange;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A passphrase change for a whole sink, without re-encrypting any data. In this order, so that a crash anywhere leaves
 * every backup openable with the old or the new passphrase, and running it again finishes the job:
 * <ol>
 *   <li>the deduplicated repository (if encrypted) gets a key object for the new passphrase, beside the old one;</li>
 *   <li>each encrypted manifest is rewritten (one atomic replace each) with its data key wrapped by the new passphrase;
 *       manifests that already open with it are left alone;</li>
 *   <li>last, and only if no rewrite failed, the key objects the old passphrase opens are deleted.</li>
 * </ol>
 * Artifacts, packs, index objects and tree objects are not touched: they are encrypted with the data keys and the
 * repository's master key, which do not change. A backup that is running meanwhile still writes its manifest with the
 * old passphrase; running the change again then rewraps it.
 */
final class PassphraseChanger {
    private final RunContext ctx;

    PassphraseChanger(RunContext ctx) {
        this.ctx = ctx;
    }

    PassphraseChange change(Encryption to) {
        Encryption from = ctx.keys().encryption();
        if (from == null) {
            throw new InvalidInputException("changing the passphrase needs the current one: set SGBACKUP_PASSPHRASE (CLI) or build the"
                    + " engine with SgBackup.builder().encryption(...)");
        }
        if (to == null) {
            throw new InvalidInputException("no new passphrase or key given");
        }
        BackupSink sink = ctx.sink();
        Optional<Rekey.Key> key;
        try {
            key = Rekey.addKey(sink, from, to);
        } catch (IOException e) {
            throw new SinkException("adding a key object for the new passphrase to " + sink.uri() + " failed: " + e.getMessage()
                    + "; nothing else was changed", e);
        }
        List<String> rewrapped = new ArrayList<>();
        List<String> already = new ArrayList<>();
        List<String> plain = new ArrayList<>();
        Map<String, String> unreadable = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        List<String> manifests;
        try (var s = sink.listAll(Layout.MANIFESTS)) {
            manifests = s.map(ObjectInfo::key).filter(k -> Layout.backupIdOfManifest(k) != null).sorted().toList();
        }
        for (String mk : manifests) {
            String id = Layout.backupIdOfManifest(mk);
            try {
                byte[] stored;
                try (InputStream in = sink.read(mk)) {
                    stored = in.readAllBytes();
                }
                Manifest clear = Manifest.decode(stored, mk, null);
                if (!clear.encrypted()) {
                    plain.add(id);
                    continue;
                }
                if (!opens(from, clear, id)) {
                    if (opens(to, clear, id)) {
                        already.add(id);
                    } else {
                        unreadable.put(id, "its data key opens with neither the old nor the new passphrase; left as it is");
                    }
                    continue;
                }
                byte[] rewritten = Manifest.rewrap(stored, mk, p -> from.unlock(p, id), to);
                try (PendingObject o = sink.create(mk, rewritten.length)) {
                    o.stream().write(rewritten);
                    o.commit();
                }
                rewrapped.add(id);
            } catch (NoSuchObjectException e) {
                // deleted meanwhile: nothing to change
            } catch (IntegrityException e) {
                unreadable.put(id, e.getMessage());
            } catch (IOException | SinkException e) {
                failed.put(id, String.valueOf(e.getMessage()));
            }
        }
        List<String> deleted = List.of();
        if (failed.isEmpty() && key.isPresent()) {
            try {
                deleted = Rekey.deleteOldKeys(sink, from, to);
            } catch (IOException e) {
                throw new SinkException("every backup now opens with the new passphrase, but deleting the old key objects of the"
                        + " deduplicated repository in " + sink.uri() + " failed: " + e.getMessage() + "; run the change again", e);
            }
        }
        return new PassphraseChange(rewrapped, already, plain, unreadable, failed,
                key.filter(Rekey.Key::created).map(Rekey.Key::keyObject).orElse(null), deleted);
    }

    /** Whether the manifest's data key unwraps with {@code e} (PBKDF2 once; the unwrapped key is cached). */
    private static boolean opens(Encryption e, Manifest clear, String id) {
        try {
            e.unlock(clear.encryption(), id);
            return true;
        } catch (InvalidInputException x) {
            return false;
        }
    }
}
