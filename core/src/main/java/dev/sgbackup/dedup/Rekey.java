package dev.sgbackup.dedup;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The repository side of a passphrase change, in two steps around the rewrapping of the backups' manifests:
 * {@link #addKey} first writes a key object that opens the repository with the new passphrase (the old ones stay, so
 * either passphrase opens it), and {@link #deleteOldKeys}, last, deletes the key objects the old passphrase opens.
 * Packs, index objects, trees and the config are not touched. Both steps can be run again: a key object for the new
 * passphrase that is already there is reused, and old ones already gone are not missed.
 */
public final class Rekey {
    private Rekey() {
    }

    /** The repository's key object for the new passphrase, and whether this call wrote it (else it was there). */
    public record Key(String keyObject, boolean created) {
    }

    /**
     * Makes sure a key object opens the sink's encrypted repository with {@code to}: finds one, or writes one that wraps
     * the master key with {@code to} (opening it with {@code from}). Empty if the sink has no encrypted repository.
     *
     * @throws InvalidInputException if the repository opens with neither passphrase (nothing was written)
     */
    public static Optional<Key> addKey(BackupSink sink, Encryption from, Encryption to) throws IOException {
        Layout layout = new Layout(DedupRepository.ROOT);
        Optional<RepoConfig> config = config(sink, layout);
        if (config.isEmpty() || !config.get().encrypted()) {
            return Optional.empty();
        }
        Predicate<RepoKeys> belongs = config.get()::holds;
        try {
            return Optional.of(new Key(KeyObject.open(sink, layout, to, belongs).keyObject(), false));
        } catch (InvalidInputException e) {
            // not yet: below
        }
        String old;
        try {
            old = KeyObject.open(sink, layout, from, belongs).keyObject();
        } catch (InvalidInputException e) {
            throw new InvalidInputException("the deduplicated repository in " + sink.uri() + " opens with neither the old nor the"
                    + " new passphrase; nothing was changed (" + e.getMessage() + ")");
        }
        String created = KeyObject.addKey(sink, layout, old, from, to);
        KeyObject.open(sink, layout, to, belongs); // read back before anything relies on it
        return Optional.of(new Key(created, true));
    }

    /**
     * Deletes the key objects of the sink's repository that open with {@code from} but not with {@code to}, once a
     * key object opens the repository with {@code to} (checked first, so the last way in is never deleted). Returns the
     * keys deleted.
     */
    public static List<String> deleteOldKeys(BackupSink sink, Encryption from, Encryption to) throws IOException {
        Layout layout = new Layout(DedupRepository.ROOT);
        Optional<RepoConfig> config = config(sink, layout);
        if (config.isEmpty() || !config.get().encrypted()) {
            return List.of();
        }
        KeyObject.open(sink, layout, to, config.get()::holds);
        List<String> keys;
        try (var s = sink.listAll(layout.keysPrefix())) {
            keys = s.map(ObjectInfo::key).toList();
        }
        List<String> deleted = new ArrayList<>();
        for (String k : keys) {
            if (!KeyObject.opensWith(sink, k, to) && KeyObject.opensWith(sink, k, from)) {
                sink.delete(k);
                deleted.add(k);
            }
        }
        return deleted;
    }

    private static Optional<RepoConfig> config(BackupSink sink, Layout layout) throws IOException {
        try (InputStream in = sink.read(layout.config())) {
            return Optional.of(RepoConfig.decode(in.readNBytes(64 * 1024), layout.config()));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        }
    }
}
