package dev.sgbackup.run;

/** A data store (volume, database, configuration API) failed to produce or accept data. */
public class StoreException extends SgBackupException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
