package dev.sgbackup.dedup;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Test helper: the repository's invariants, read straight from the sink. */
public final class RepoCheck {
    private RepoCheck() {
    }

    /** Every index entry whose pack is missing, as "index object K names missing pack P" (empty: the invariant holds). */
    public static List<String> danglingIndexEntries(BackupSink sink, Encryption encryption) throws IOException {
        if (!DedupRepository.exists(sink)) {
            return List.of();
        }
        Layout layout = new Layout(DedupRepository.ROOT);
        RepoKeys keys = encryption == null ? RepoKeys.unencrypted()
                : KeyObject.open(sink, layout, encryption, k -> true).keys();
        Repo repo = new Repo(sink, layout, keys);
        Set<String> packs = sink.listAll(layout.packsPrefix()).map(o -> Layout.packName(o.key())).collect(Collectors.toSet());
        List<String> out = new ArrayList<>();
        IndexStore store = new IndexStore(repo);
        for (ObjectInfo o : sink.listAll(layout.root() + "/index/").toList()) {
            for (IndexEntry e : store.read(o.key())) {
                if (!packs.contains(e.pack())) {
                    out.add("index object " + o.key() + " names missing pack " + e.pack());
                }
            }
        }
        return out;
    }

    /** Keys of the packs in the sink. */
    public static Set<String> packs(BackupSink sink) {
        return sink.listAll(DedupRepository.ROOT + "/packs/").map(ObjectInfo::key).collect(Collectors.toSet());
    }

    /** Bytes of the packs and index objects in the sink: what garbage collection's bytesFreed counts. */
    public static long packAndIndexBytes(BackupSink sink) {
        return sink.listAll(DedupRepository.ROOT + "/packs/").mapToLong(ObjectInfo::size).sum()
                + sink.listAll(DedupRepository.ROOT + "/index/").mapToLong(ObjectInfo::size).sum();
    }
}
