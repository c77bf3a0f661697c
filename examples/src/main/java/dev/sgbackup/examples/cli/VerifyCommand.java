package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.InvalidInputException;
import java.util.Set;

/**
 * {@code sgbackup verify}: a full backup's artifacts are read back and their checksums checked; a deduplicated
 * backup's structure is checked (trees, index, packs), and with {@code --read-data} every pack it references is read
 * and every chunk checked ({@code --read-data-subset N%|n/m}: some of the packs). stdout: {@code ok ...}, or one
 * {@code bad ...} line per problem (a deduplicated backup's name the pack and chunk) with an error on stderr
 * (exit 1). Asks for the passphrase of an encrypted backup on a terminal.
 */
final class VerifyCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--backup", "--read-data-subset");
    static final Set<String> SWITCHES = Set.of("--read-data");

    private VerifyCommand() {
    }

    static int run(Session s, Args a) {
        VerifyOptions options = options(a);
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        VerifyReport r = sg.verify(a.required("--backup"), options);
        String dedup = r.dedupSummary().isEmpty() ? "" : " (dedup: " + r.dedupSummary() + ")";
        if (r.ok()) {
            s.out.println("ok " + r.backupId() + " " + r.checked() + " artifacts " + r.bytes() + " bytes" + dedup);
            return 0;
        }
        for (String p : r.messages()) {
            s.out.println("bad " + p);
        }
        s.err.println("error: backup " + r.backupId() + " is damaged: " + r.badArtifacts() + " of " + r.checked()
                + " artifacts failed verification" + (r.problems().size() > r.badArtifacts() ? " (" + r.problems().size() + " problems)" : "")
                + dedup);
        return 1;
    }

    /** --read-data, --read-data-subset N% or n/m (not both), or the default: structure. */
    private static VerifyOptions options(Args a) {
        String subset = a.one("--read-data-subset");
        if (subset != null && a.has("--read-data")) {
            throw new Args.UsageException("give --read-data or --read-data-subset, not both");
        }
        if (subset != null) {
            try {
                return VerifyOptions.parseSubset(subset);
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        return a.has("--read-data") ? VerifyOptions.readData() : VerifyOptions.structure();
    }
}
