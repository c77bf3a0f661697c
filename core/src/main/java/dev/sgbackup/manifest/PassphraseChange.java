package dev.sgbackup.manifest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a passphrase change did ({@code SgBackup.changePassphrase}). Backups are listed by id.
 *
 * @param rewrapped         encrypted backups whose manifest now wraps their data key with the new passphrase
 * @param alreadyChanged    encrypted backups that opened with the new passphrase already (an earlier, interrupted run)
 * @param notEncrypted      backups made without encryption: nothing to change
 * @param unreadable        backup id → why its manifest was left alone: it opens with neither passphrase, or is damaged
 * @param failed            backup id → the sink error that stopped its rewrite (it still opens with the old passphrase;
 *                          run the change again)
 * @param keyObjectAdded    the deduplicated repository's key object written for the new passphrase, or null (none
 *                          needed: no encrypted repository, or an earlier run wrote it)
 * @param keyObjectsDeleted the repository's key objects the old passphrase opened, deleted last (none if a rewrite
 *                          failed: the old passphrase must still open the repository for the backups left)
 */
public record PassphraseChange(List<String> rewrapped, List<String> alreadyChanged, List<String> notEncrypted,
                               Map<String, String> unreadable, Map<String, String> failed, String keyObjectAdded,
                               List<String> keyObjectsDeleted) {
    public PassphraseChange {
        rewrapped = List.copyOf(rewrapped);
        alreadyChanged = List.copyOf(alreadyChanged);
        notEncrypted = List.copyOf(notEncrypted);
        unreadable = Map.copyOf(unreadable);
        failed = Map.copyOf(failed);
        keyObjectsDeleted = List.copyOf(keyObjectsDeleted);
    }

    /** True if every encrypted backup now opens with the new passphrase (and none failed or was left unreadable). */
    public boolean ok() {
        return failed.isEmpty() && unreadable.isEmpty();
    }

    /**
     * The CLI's stdout, one line each: {@code rewrapped ID}, {@code unchanged ID (already the new passphrase)},
     * {@code unchanged ID (not encrypted)}, {@code unreadable ID: WHY}, {@code failed ID: WHY}, {@code added key object
     * KEY}, {@code deleted key object KEY}.
     */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        if (keyObjectAdded != null) {
            out.add("added key object " + keyObjectAdded);
        }
        rewrapped.forEach(id -> out.add("rewrapped " + id));
        alreadyChanged.forEach(id -> out.add("unchanged " + id + " (already the new passphrase)"));
        notEncrypted.forEach(id -> out.add("unchanged " + id + " (not encrypted)"));
        unreadable.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.add("unreadable " + e.getKey() + ": " + e.getValue()));
        failed.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.add("failed " + e.getKey() + ": " + e.getValue()));
        keyObjectsDeleted.forEach(k -> out.add("deleted key object " + k));
        return out;
    }

    @Override
    public String toString() {
        return String.join("\n", lines());
    }
}
