package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.Sizes;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.PrintStream;
import java.time.temporal.ChronoUnit;
import java.util.Set;

/**
 * {@code sgbackup show}: one backup's manifest. stdout: its header, then each store with its properties, artifacts
 * and warnings; the manifest itself with {@code --json}. Asks for the passphrase of an encrypted backup on a terminal.
 */
final class ShowCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--from", "--backup");
    static final Set<String> SWITCHES = Set.of("--json");

    private ShowCommand() {
    }

    static int run(Session s, Args a) {
        EngineFlags.askPassphrase(s, a);
        SgBackup sg = EngineFlags.engine(s, a.required("--from"), a);
        Manifest m = sg.show(a.required("--backup"));
        PrintStream out = s.out;
        if (a.has("--json")) {
            out.println(m.toJson());
            return 0;
        }
        out.println("backup      " + m.id());
        out.println("created     " + m.createdAt().truncatedTo(ChronoUnit.SECONDS));
        out.println("completed   " + m.completedAt().truncatedTo(ChronoUnit.SECONDS));
        out.println("scope       " + m.scope());
        out.println("compression " + m.compression());
        out.println("encrypted   " + (m.encrypted() ? "yes" : "no"));
        out.println("tool        sgbackup " + m.toolVersion());
        out.println("size        " + m.size() + " bytes (" + Sizes.human(m.size()) + "), stored " + m.storedSize() + " bytes ("
                + Sizes.human(m.storedSize()) + ")" + (m.artifacts().stream().anyMatch(ArtifactInfo::deduplicated)
                ? " in tree objects; its chunks are in the sink's shared dedup/ repository" : ""));
        for (StoreBackup sb : m.stores()) {
            out.println();
            out.println("store " + sb.name() + " (" + sb.kind() + "): " + sb.description());
            sb.properties().forEach((k, v) -> out.println("  " + k + ": " + abbreviate(v)));
            for (ArtifactInfo art : sb.artifacts()) {
                out.println("  artifact " + art.name() + "  key " + art.key());
                out.println("    size " + art.size() + "  sha256 " + art.sha256());
                out.println("    stored " + art.storedSize() + "  sha256 " + art.storedSha256() + "  transforms "
                        + (art.transforms().isEmpty() ? "none" : String.join(",", art.transforms())));
                if (art.deduplicated()) {
                    out.println("    dedup: " + art.chunks().count() + " chunks, " + art.chunks().newBytes() + " bytes new, "
                            + art.chunks().reusedBytes() + " bytes reused");
                }
            }
            for (String w : sb.warnings()) {
                out.println("  warning: " + w);
            }
        }
        return 0;
    }

    private static String abbreviate(String v) {
        return v.length() > 200 ? v.substring(0, 200) + "… (" + v.length() + " chars; --json shows all)" : v;
    }
}
