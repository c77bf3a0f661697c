package dev.sgbackup.examples.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.BackupSummary;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;

/**
 * {@code sgbackup list}: the backups in a sink. stdout: one line each ({@code ID CREATED STORED_SIZE STORES}), or a
 * JSON array with {@code --json}.
 */
final class ListCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from");
    static final Set<String> SWITCHES = Set.of("--json");

    private ListCommand() {
    }

    static int run(Session s, Args a) {
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        List<BackupSummary> all = sg.list();
        if (a.has("--json")) {
            ArrayNode arr = Session.mapper().createArrayNode();
            for (BackupSummary b : all) {
                ObjectNode o = arr.addObject();
                o.put("id", b.id());
                o.put("createdAt", b.createdAt().truncatedTo(ChronoUnit.SECONDS).toString());
                o.put("scope", b.scope());
                o.put("size", b.size());
                o.put("storedSize", b.storedSize());
                ArrayNode st = o.putArray("stores");
                b.stores().forEach(st::add);
                o.put("encrypted", b.encrypted());
            }
            s.out.println(Session.json(arr));
        } else {
            for (BackupSummary b : all) {
                // an encrypted backup's stores are in its sealed manifest part; SIZE is what the sink holds for it (a
                // full backup: its data/ID/ objects; a dedup backup: its tree objects, recorded in the manifest's clear part)
                s.out.println(b.id() + " " + b.createdAt().truncatedTo(ChronoUnit.SECONDS) + " "
                        + b.storedSize() + " " + (b.encrypted() ? "(encrypted)" : String.join(",", b.stores())));
            }
        }
        return 0;
    }
}
