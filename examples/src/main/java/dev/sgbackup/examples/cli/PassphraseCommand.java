package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.PassphraseChange;
import dev.sgbackup.transform.Encryption;
import java.util.Arrays;
import java.util.Set;

/**
 * {@code sgbackup passphrase change --to SINK_URI}: every encrypted backup in the sink (full and deduplicated) and the
 * deduplicated repository's key then open with the new passphrase and none with the old; no data is re-encrypted. The
 * current passphrase comes from SGBACKUP_PASSPHRASE and the new one from SGBACKUP_NEW_PASSPHRASE (or, on a terminal,
 * prompts: the new one typed twice); never from flags. stdout: one line per change ({@link PassphraseChange#lines()});
 * stderr: a summary. Exit 0 when every encrypted backup opens with the new passphrase, 1 otherwise (run it again
 * after a failure: it finishes the job), 2 on a usage error.
 */
final class PassphraseCommand {
    static final String NEW_PASSPHRASE_ENV = "SGBACKUP_NEW_PASSPHRASE";
    static final Set<String> VALUE_FLAGS = Set.of("--to");
    static final Set<String> SWITCHES = Set.of();

    private PassphraseCommand() {
    }

    static int run(Session s, Args a) {
        String uri = a.required("--to");
        String current = secret(s, EngineFlags.PASSPHRASE_ENV, "current passphrase: ", null);
        String next = secret(s, NEW_PASSPHRASE_ENV, "new passphrase: ", "repeat the new passphrase: ");
        if (current.equals(next)) {
            throw new Args.UsageException("the new passphrase (" + NEW_PASSPHRASE_ENV + ") is the same as the current one ("
                    + EngineFlags.PASSPHRASE_ENV + ")");
        }
        Encryption to = Encryption.passphrase(next);
        SgBackup sg = SgBackup.builder().sink(uri).encryption(Encryption.passphrase(current)).build();
        PassphraseChange r;
        try {
            r = sg.changePassphrase(to);
        } finally {
            sg.close();
        }
        r.lines().forEach(s.out::println);
        s.err.println("passphrase changed: " + r.rewrapped().size() + " backups rewrapped, " + r.alreadyChanged().size()
                + " already had the new passphrase, " + r.notEncrypted().size() + " not encrypted"
                + (r.keyObjectAdded() != null || !r.keyObjectsDeleted().isEmpty() ? "; repository key objects: "
                + (r.keyObjectAdded() != null ? 1 : 0) + " added, " + r.keyObjectsDeleted().size() + " deleted" : "")
                + "; no data was re-encrypted");
        r.failed().forEach((id, why) -> s.err.println("error: backup " + id + " still has the old passphrase: " + why
                + "; run 'sgbackup passphrase change' again to finish"));
        r.unreadable().forEach((id, why) -> s.err.println("error: backup " + id + " was left as it is: " + why));
        return r.ok() ? 0 : 1;
    }

    /** From the environment, else typed on a terminal ({@code again}: asked twice); never from a flag. */
    private static String secret(Session s, String env, String prompt, String again) {
        String fromEnv = s.env.apply(env);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return fromEnv;
        }
        char[] first = s.terminal ? s.passwordReader.apply(prompt) : null;
        char[] second = first != null && again != null ? s.passwordReader.apply(again) : null;
        try {
            if (first == null || first.length == 0) {
                throw new Args.UsageException("passphrase change needs " + (env.equals(EngineFlags.PASSPHRASE_ENV) ? "the current passphrase"
                        : "the new passphrase") + ": set " + env + " or run on a terminal to be asked for it");
            }
            if (again != null && !Arrays.equals(first, second)) {
                throw new Args.UsageException("the new passphrases do not match");
            }
            return new String(first);
        } finally {
            if (first != null) {
                Arrays.fill(first, '\0');
            }
            if (second != null) {
                Arrays.fill(second, '\0');
            }
        }
    }
}
