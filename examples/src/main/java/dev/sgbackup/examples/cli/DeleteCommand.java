package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import java.util.Set;

/** {@code sgbackup delete}: removes one backup from the sink. stdout: {@code deleted ID}. */
final class DeleteCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--backup");
    static final Set<String> SWITCHES = Set.of();

    private DeleteCommand() {
    }

    static int run(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        String id = a.required("--backup");
        sg.delete(id);
        s.out.println("deleted " + id);
        return 0;
    }
}
