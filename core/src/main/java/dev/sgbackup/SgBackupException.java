package dev.sgbackup;

/**
 * Root of every exception sgbackup throws. Unchecked; the subclasses say where it failed:
 * {@link SinkException} (where bytes rest), {@link StoreException} (what the bytes are),
 * {@link IntegrityException} (bytes that do not match what was recorded),
 * {@link InvalidInputException} (a request that cannot be carried out as asked),
 * {@link CancelledException} (interrupted by the caller).
 *
 * <p>Every message says what was wrong and what to do about it. Messages never contain secrets.
 */
public class SgBackupException extends RuntimeException {
    public SgBackupException(String message) {
        super(message);
    }

    public SgBackupException(String message, Throwable cause) {
        super(message, cause);
    }
}
