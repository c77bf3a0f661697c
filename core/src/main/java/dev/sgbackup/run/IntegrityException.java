package dev.sgbackup.run;

/** Stored bytes or a manifest do not match what was recorded: damage, truncation or tampering. */
public class IntegrityException extends SgBackupException {
    public IntegrityException(String message) {
        super(message);
    }

    public IntegrityException(String message, Throwable cause) {
        super(message, cause);
    }
}
