package dev.sgbackup.run;

/**
 * The backup is encrypted and the engine has no passphrase or key for it. Raised before anything is read beyond the
 * manifest or written, so a caller may ask for the passphrase and try again with an engine that has it.
 */
public final class PassphraseRequiredException extends InvalidInputException {
    private final String backupId;

    public PassphraseRequiredException(String backupId, String message) {
        super(message);
        this.backupId = backupId;
    }

    public String backupId() {
        return backupId;
    }
}
