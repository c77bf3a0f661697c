package dev.sgbackup.run;

/** The request cannot be carried out as asked (unknown backup, store or scheme, a non-empty target without replace, bad options). */
public class InvalidInputException extends SgBackupException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
