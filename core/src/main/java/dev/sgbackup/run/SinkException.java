package dev.sgbackup.run;

/** A sink (local directory, S3, GCS...) failed to store, read, list or delete objects. */
public class SinkException extends SgBackupException {
    public SinkException(String message) {
        super(message);
    }

    public SinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
