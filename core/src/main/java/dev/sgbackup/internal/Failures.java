package dev.sgbackup.internal;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.run.StoreException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;

/**
 * Failure mapping, in one place: what a run's failure becomes in the exception the caller sees. The message says
 * what failed, why, and what was (or was not) committed or changed; the exception type says which of the
 * documented kinds it is (cancelled, damaged backup, bad input, sink, store).
 */
final class Failures {
    private Failures() {
    }

    /** Whether {@code t} (or a cause) is an interruption, or this thread has been interrupted. */
    static boolean interrupted(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof InterruptedIOException || c instanceof ClosedByInterruptException || c instanceof InterruptedException
                    || c instanceof CancelledException) {
                return true;
            }
        }
        return Thread.currentThread().isInterrupted();
    }

    /** A backup's failure in {@code step} (a store name, {@code manifest}, or {@code (interrupted)}); nothing was committed. */
    static SgBackupException backup(Throwable t, String step) {
        if (interrupted(t)) {
            return new CancelledException("backup cancelled" + (step.startsWith("(") ? "" : " during step '" + step + "'")
                    + "; nothing was committed");
        }
        if (t instanceof SgBackupException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (step.equals("manifest")) {
            return new SinkException("writing the manifest failed: " + t.getMessage() + "; nothing was committed", t);
        }
        return new StoreException("backup of store '" + step + "' failed: " + t.getMessage() + "; nothing was committed", t);
    }

    /**
     * A restore's failure in {@code step}; {@code changed} says which targets now hold the backup's data (or that
     * none was changed). The type follows the cause: cancelled, damaged backup, bad input, sink, else store.
     */
    static SgBackupException restore(Throwable failure, String step, String changed) {
        if (failure instanceof Error e) {
            throw e;
        }
        String prefix = interrupted(failure) ? "restore cancelled" + (step.startsWith("(") ? "" : " during step '" + step + "'")
                : "restore of store '" + step + "' failed";
        String msg = prefix + ": " + failure.getMessage() + "; " + changed;
        if (interrupted(failure)) {
            return new CancelledException(msg);
        } else if (failure instanceof IntegrityException) {
            return new IntegrityException(msg, failure);
        } else if (failure instanceof InvalidInputException) {
            return new InvalidInputException(msg, failure);
        } else if (failure instanceof SinkException) {
            return new SinkException(msg, failure);
        }
        return new StoreException(msg, failure);
    }
}
