package dev.sgbackup.run;

import dev.sgbackup.run.RunResult;
import java.util.Optional;

/**
 * Root of every exception sgbackup throws. Unchecked; the subclasses say where it failed:
 * {@link SinkException} (where bytes rest), {@link StoreException} (what the bytes are),
 * {@link IntegrityException} (bytes that do not match what was recorded),
 * {@link InvalidInputException} (a request that cannot be carried out as asked),
 * {@link CheckFailedException} (refused by a check before anything was written),
 * {@link CancelledException} (interrupted by the caller).
 *
 * <p>Every message says what was wrong and what to do about it. Messages never contain secrets.
 * A run that failed after it started carries every step's outcome: {@link #runResult()}.
 */
public class SgBackupException extends RuntimeException {
    private transient RunResult runResult;

    public SgBackupException(String message) {
        super(message);
    }

    public SgBackupException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * For a backup or restore that failed once running: every step's outcome (completed, failed, skipped, with
     * bytes and duration). Empty when the failure came before any step ran (e.g. a refused check).
     */
    public Optional<RunResult> runResult() {
        return Optional.ofNullable(runResult);
    }

    /** Attaches the outcome of the run that failed (once, like {@link #initCause}); returns this exception. */
    public SgBackupException withRunResult(RunResult result) {
        if (runResult == null) {
            runResult = result;
        }
        return this;
    }
}
