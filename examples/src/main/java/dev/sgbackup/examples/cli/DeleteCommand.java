package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.store.ArtifactInfo;
import java.util.Set;

/**
 * {@code sgbackup delete}: removes one backup from the sink. stdout: {@code deleted ID}; for a deduplicated backup
 * (its manifest and tree objects go, its packs stay) a second line says that no pack bytes were freed.
 */
final class DeleteCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--backup");
    static final Set<String> SWITCHES = Set.of();

    private DeleteCommand() {
    }

    /** Whether the backup is deduplicated; false when that cannot be told (e.g. encrypted, no passphrase given). */
    private static boolean deduplicated(SgBackup sg, String id) {
        try {
            return sg.show(id).artifacts().stream().anyMatch(ArtifactInfo::deduplicated);
        } catch (SgBackupException e) {
            return false;
        }
    }

    static int run(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        String id = a.required("--backup");
        boolean dedup = deduplicated(sg, id);
        sg.delete(id);
        s.out.println("deleted " + id);
        if (dedup) {
            s.out.println("packs: 0 bytes freed (a deduplicated backup's chunks may be shared; unreferenced chunks stay until"
                    + " prune collects them, which this version does not do yet)");
        }
        return 0;
    }
}
