package dev.sgbackup.examples.cli;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.PassphraseRequiredException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.util.Arrays;

/**
 * The engine a command runs on, from flags: the sink URI ({@code --to} or {@code --from}), {@code --compression},
 * {@code --dedup} (backup), and the passphrase ({@code --encrypt}, SGBACKUP_PASSPHRASE or a prompt on a terminal), with progress on stderr.
 */
final class EngineFlags {
    static final String PASSPHRASE_ENV = "SGBACKUP_PASSPHRASE";

    private EngineFlags() {
    }

    /** The engine over the sink at {@code uri}, with the compression and encryption the flags and environment give. */
    static SgBackup engine(Session s, String uri, Args a) {
        BackupSink sink = Sinks.open(uri);
        SgBackup.Builder b = SgBackup.builder().sink(sink).listener(new ProgressPrinter(s.err, s.progressBar));
        String c = a.one("--compression");
        if (c != null) {
            try {
                b.compression(Compression.parse(c));
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        b.encryption(encryption(s, a));
        b.dedup(a.command.equals("backup") && a.has("--dedup"));
        b.forceRead(a.command.equals("backup") && a.has("--force-read"));
        java.time.Duration wait = retryLock(a);
        if (wait != null) {
            b.retryLock(wait);
        }
        return b.build();
    }

    /**
     * The {@code --retry-lock} given, or null; a usage error if it does not parse, or if {@code --force-read} or
     * {@code --retry-lock} is given to a backup without {@code --dedup}.
     */
    static java.time.Duration retryLock(Args a) {
        if (a.command.equals("backup") && a.has("--force-read") && !a.has("--dedup")) {
            throw new Args.UsageException("--force-read applies to deduplicated backups (--dedup); a full backup reads every file anyway");
        }
        String wait = a.one("--retry-lock");
        if (wait == null) {
            return null;
        }
        if (a.command.equals("backup") && !a.has("--dedup")) {
            throw new Args.UsageException("--retry-lock applies to deduplicated backups (--dedup) and prune; a full backup takes no lock");
        }
        try {
            return dev.sgbackup.manifest.Retention.parseDuration(wait);
        } catch (InvalidInputException e) {
            throw new Args.UsageException("--retry-lock: " + e.getMessage());
        }
    }

    /**
     * backup: only with --encrypt, from SGBACKUP_PASSPHRASE or a prompt (typed twice). Other commands: from
     * SGBACKUP_PASSPHRASE when set (needed to read an encrypted backup), never prompted.
     */
    private static Encryption encryption(Session s, Args a) {
        String fromEnv = s.env.apply(PASSPHRASE_ENV);
        boolean backup = a.command.equals("backup");
        if (backup && !a.has("--encrypt")) {
            return null;
        }
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return Encryption.passphrase(fromEnv);
        }
        if (!backup) {
            return s.prompted;
        }
        char[] first = s.terminal ? s.passwordReader.apply("passphrase for the new backup: ") : null;
        if (first == null) {
            throw new Args.UsageException("--encrypt needs a passphrase: set " + PASSPHRASE_ENV + " or run on a terminal to be asked for one");
        }
        char[] second = s.passwordReader.apply("repeat the passphrase: ");
        try {
            if (first == null || second == null || !Arrays.equals(first, second)) {
                throw new Args.UsageException("the passphrases do not match");
            }
            return Encryption.passphrase(first);
        } finally {
            if (first != null) {
                Arrays.fill(first, '\0');
            }
            if (second != null) {
                Arrays.fill(second, '\0');
            }
        }
    }

    /**
     * On a terminal without SGBACKUP_PASSPHRASE: reads the backup's manifest first (nothing is written) and, if the
     * backup is encrypted, asks for its passphrase once, as restic does. A wrong one then fails as it would from the
     * environment. For show, verify and restore, before their engine is made.
     */
    static Args askPassphrase(Session s, Args a) {
        String fromEnv = s.env.apply(PASSPHRASE_ENV);
        if (!s.terminal || (fromEnv != null && !fromEnv.isEmpty()) || a.one("--from") == null || a.one("--backup") == null) {
            return a;
        }
        try {
            engine(s, a.required("--from"), a).show(a.required("--backup"));
            return a; // readable without a passphrase: not encrypted
        } catch (PassphraseRequiredException e) {
            // encrypted: ask below
        } catch (SgBackupException e) {
            return a; // the command itself reports whatever this is
        }
        char[] typed = s.passwordReader.apply("passphrase for backup " + a.required("--backup") + ": ");
        if (typed == null || typed.length == 0) {
            return a; // no answer: the command fails naming SGBACKUP_PASSPHRASE
        }
        try {
            s.prompted = Encryption.passphrase(typed);
        } finally {
            Arrays.fill(typed, '\0');
        }
        return a;
    }
}
