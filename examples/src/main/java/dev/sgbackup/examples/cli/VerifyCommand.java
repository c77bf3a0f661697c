package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.VerifyReport;
import java.util.Set;

/**
 * {@code sgbackup verify}: reads back every artifact of a backup and checks its checksums. stdout: {@code ok ...}, or
 * one {@code bad ...} line per damaged artifact with an error on stderr (exit 1). Asks for the passphrase of an
 * encrypted backup on a terminal.
 */
final class VerifyCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--backup");
    static final Set<String> SWITCHES = Set.of();

    private VerifyCommand() {
    }

    static int run(Session s, Args a) {
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        VerifyReport r = sg.verify(a.required("--backup"));
        if (r.ok()) {
            s.out.println("ok " + r.backupId() + " " + r.checked() + " artifacts " + r.bytes() + " bytes");
            return 0;
        }
        for (String p : r.messages()) {
            s.out.println("bad " + p);
        }
        s.err.println("error: backup " + r.backupId() + " is damaged: " + r.problems().size() + " of " + r.checked()
                + " artifacts failed verification");
        return 1;
    }
}
