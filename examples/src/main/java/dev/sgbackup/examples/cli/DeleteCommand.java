package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.store.ArtifactInfo;
import java.util.Set;

/**
 * {@code sgbackup delete}: removes one backup from the sink. stdout: {@code deleted ID}, then {@code freed N bytes}
 * (what the sink holds less: the manifest and a full backup's data, or a deduplicated backup's tree objects); for a
 * deduplicated backup a third line says that its packs stay until {@code prune} collects the chunks no backup uses.
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
        long freed = sg.delete(id);
        s.out.println("deleted " + id);
        s.out.println("freed " + freed + " bytes");
        if (dedup) {
            s.out.println("packs: 0 bytes freed (a deduplicated backup's chunks may be shared with other backups; 'sgbackup prune'"
                    + " deletes the packs no backup uses)");
        }
        return 0;
    }
}
