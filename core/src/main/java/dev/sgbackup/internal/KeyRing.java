package dev.sgbackup.internal;

import dev.sgbackup.run.PassphraseRequiredException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.transform.Encryption;
import dev.sgbackup.transform.Transform;
import dev.sgbackup.transform.Transforms;
import java.util.Map;
import java.util.function.Function;

/**
 * Key handling: the passphrase or key a run was given (or none), a fresh data key for each new backup, and the
 * unlocking of an existing backup's data key from its manifest's parameters (cached: one PBKDF2 run per backup).
 */
final class KeyRing {
    /** Null: new backups are not encrypted, and encrypted backups cannot be read. */
    private final Encryption encryption;

    KeyRing(Encryption encryption) {
        this.encryption = encryption;
    }

    /** The passphrase or key given, or null; it also unlocks the deduplicated repository's key object. */
    Encryption encryption() {
        return encryption;
    }

    /** Whether a passphrase or key was given. */
    boolean present() {
        return encryption != null;
    }

    /** A new backup's data key, or null when backups are not encrypted. */
    Encryption.DataKey newDataKey() {
        return encryption == null ? null : encryption.newDataKey();
    }

    /** The transform id new backups record, e.g. {@code zstd,aes-256-gcm}. */
    String transformIds(String compression) {
        return compression + (encryption == null ? "" : "," + Encryption.TRANSFORM_ID);
    }

    /** Transforms by manifest id; the encryption transform comes from the backup's own data key. */
    Function<String, Transform> resolver(Manifest m) {
        return id -> id.equals(Encryption.TRANSFORM_ID) && m.encrypted() ? unlock(m.id(), m.encryption()).transform() : Transforms.forId(id);
    }

    Encryption.DataKey unlock(String backupId, Map<String, String> parameters) {
        if (encryption == null) {
            throw new PassphraseRequiredException(backupId, "backup " + backupId + " is encrypted; set SGBACKUP_PASSPHRASE to its passphrase (CLI) or"
                    + " give it with SgBackup.builder().encryption(Encryption.passphrase(...)) or Encryption.key(...)");
        }
        return encryption.unlock(parameters, backupId);
    }
}
