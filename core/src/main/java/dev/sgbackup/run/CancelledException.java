package dev.sgbackup.run;

/** The operation was interrupted by the caller; nothing was committed. */
public class CancelledException extends SgBackupException {
    public CancelledException(String message) {
        super(message);
    }

    public CancelledException(String message, Throwable cause) {
        super(message, cause);
    }
}
