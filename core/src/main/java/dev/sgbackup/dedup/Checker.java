package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * Verify of one deduplicated backup, in levels. {@link #artifact} checks an artifact's tree object against the
 * manifest and looks each of its chunks up in its store's index (loaded once per store); {@link #checkPacks} lists
 * the packs once and checks that every pack holding a referenced chunk exists and is long enough to hold it; and
 * {@link #read} reads chosen packs once each, whole and in one pass: each chunk the backup uses is authenticated,
 * decompressed and re-hashed to its id, and the pack's bytes must hash to its name.
 *
 * <p>What is wrong comes back as {@link Finding}s, one per line, each naming the pack and chunk where there is one,
 * attributed to the first artifact (in the order given) that references it. Memory: one entry per distinct chunk
 * referenced (roughly 200 bytes, estimated), plus the stores' indexes and one chunk at a time while reading. Not thread-safe.
 */
public final class Checker {
    /** What a finding is about: something missing, something damaged, or the sink failed (state unknown). */
    public enum Kind { MISSING, DAMAGED, UNREADABLE }

    /**
     * One thing wrong.
     *
     * @param artifact the number {@link #artifact} returned for the first artifact that references it
     * @param message  one line: {@code store/artifact (tree key): what is wrong}, naming pack and chunk
     */
    public record Finding(int artifact, Kind kind, String message) {
    }

    private record Ref(IndexEntry entry, int artifact) {
    }

    private final Repo repo;
    private final String backupId;
    private final List<String> labels = new ArrayList<>();
    private final Map<String, ChunkIndex> indexes = new HashMap<>();
    private final Map<String, Set<ChunkId>> seen = new HashMap<>();
    private final Map<String, List<Ref>> byPack = new TreeMap<>();
    private final Set<String> unreadable = new HashSet<>();
    private final List<Finding> findings = new ArrayList<>();
    private long chunks;
    private int packsRead;
    private long bytesRead;

    Checker(Repo repo, String backupId) {
        this.repo = repo;
        this.backupId = backupId;
    }

    /**
     * Checks one artifact's tree object and looks its chunks up in the index of {@code store}; returns the artifact's
     * number for {@link Finding#artifact()}.
     */
    public int artifact(String store, String name, String treeKey, long treeSize, String treeSha256) {
        int n = labels.size();
        String label = store + "/" + name + " (" + treeKey + ")";
        labels.add(label);
        List<ChunkId> ids;
        ChunkIndex index;
        try {
            List<ChunkId> table = TreeObject.load(repo, backupId, treeKey, treeSize, treeSha256);
            index = index(store);
            // the content table's own chunks, then every chunk its records name (reading the table is cheap:
            // about 40 bytes per content chunk, plus the bytes between file contents)
            ids = new ArrayList<>(table);
            List<ChunkId> all = ids;
            new TableInput(repo, index::get, table, label).forEachChunk(c -> all.add(c.id()));
        } catch (NoSuchObjectException e) {
            findings.add(new Finding(n, Kind.MISSING, label + ": missing"));
            return n;
        } catch (TableInput.NotIndexed e) {
            findings.add(new Finding(n, Kind.DAMAGED, label + ": chunk " + e.id + " is not in the index of store " + store
                    + "; the repository is missing index objects or packs"));
            return n;
        } catch (IntegrityException e) {
            // a content-table chunk in a missing pack is a missing pack, as for any other chunk
            findings.add(new Finding(n, e.getCause() instanceof NoSuchObjectException ? Kind.MISSING : Kind.DAMAGED,
                    label + ": " + e.getMessage()));
            return n;
        } catch (IOException | SinkException e) {
            findings.add(new Finding(n, Kind.UNREADABLE, label + ": unreadable: " + e.getMessage()));
            return n;
        }
        Set<ChunkId> mine = seen.computeIfAbsent(store, s -> new HashSet<>());
        int notIndexed = 0;
        ChunkId first = null;
        for (ChunkId id : ids) {
            if (!mine.add(id)) {
                continue;
            }
            IndexEntry e = index.get(id);
            if (e == null) {
                notIndexed++;
                first = first == null ? id : first;
                continue;
            }
            chunks++;
            byPack.computeIfAbsent(e.pack(), p -> new ArrayList<>()).add(new Ref(e, n));
        }
        if (notIndexed > 0) {
            findings.add(new Finding(n, Kind.DAMAGED, label + ": chunk " + first + (notIndexed > 1 ? " and " + (notIndexed - 1)
                    + " more of its chunks are" : " is") + " not in the index of store " + store
                    + "; the repository is missing index objects or packs"));
        }
        return n;
    }

    private ChunkIndex index(String store) throws IOException {
        ChunkIndex index = indexes.get(store);
        if (index == null) {
            try {
                index = new IndexStore(repo).load(repo.keys().shardName(store));
            } catch (IntegrityException e) {
                throw new IntegrityException("the index of store " + store + " cannot be read: " + e.getMessage(), e);
            }
            indexes.put(store, index);
        }
        return index;
    }

    /**
     * Lists the repository's packs once and checks that every pack holding a referenced chunk exists, with a size that
     * covers each such chunk (and the pack's trailer). Packs that fail are not read by {@link #read}.
     */
    public void checkPacks() {
        if (byPack.isEmpty()) {
            return;
        }
        Map<String, Long> sizes = new HashMap<>();
        try (var s = repo.sink().listAll(repo.layout().packsPrefix())) {
            s.forEach(o -> sizes.put(Layout.packName(o.key()), o.size()));
        } catch (RuntimeException e) {
            Ref r = byPack.values().iterator().next().get(0);
            findings.add(new Finding(r.artifact(), Kind.UNREADABLE, "the packs in " + repo.sink().uri() + " could not be listed ("
                    + e.getMessage() + "); their existence was not checked"));
            unreadable.addAll(byPack.keySet());
            return;
        }
        byPack.forEach((pack, refs) -> {
            Long size = sizes.get(pack);
            Ref first = refs.get(0);
            if (size == null) {
                unreadable.add(pack);
                findings.add(new Finding(first.artifact(), Kind.MISSING, labels.get(first.artifact()) + ": chunk " + first.entry().id()
                        + " is in pack " + pack + ", which is missing from " + repo.sink().uri()
                        + (refs.size() > 1 ? " (with " + (refs.size() - 1) + " more chunks of this backup)" : "")));
                return;
            }
            List<Ref> beyond = refs.stream().filter(r -> end(r.entry()) + PackFormat.TRAILER_BYTES > size).toList();
            if (!beyond.isEmpty()) {
                unreadable.add(pack);
                Ref r = beyond.get(0);
                findings.add(new Finding(r.artifact(), Kind.DAMAGED, labels.get(r.artifact()) + ": chunk " + r.entry().id() + " in pack "
                        + pack + " ends at byte " + end(r.entry()) + ", but the pack has " + size + " bytes (with its "
                        + PackFormat.TRAILER_BYTES + "-byte trailer); the pack is truncated"
                        + (beyond.size() > 1 ? " (" + (beyond.size() - 1) + " more chunks of this backup lie beyond its end)" : "")));
            }
        });
    }

    private static long end(IndexEntry e) {
        return (long) e.offset() + e.length();
    }

    /** The packs holding the chunks referenced so far, by name. */
    public List<String> packs() {
        return List.copyOf(byPack.keySet());
    }

    /**
     * Reads each of {@code packs} once, whole: every chunk of it this backup references is authenticated,
     * decompressed and re-hashed to its id, and the pack must hash to its name (reported only when no chunk of it
     * failed: the damage is then outside this backup's chunks). Packs found missing or short by {@link #checkPacks}
     * are skipped. {@code progress} gets the plain bytes checked.
     */
    public void read(Collection<String> packs, LongConsumer progress) {
        try (BlobCodec codec = new BlobCodec(repo.keys(), Compression.none())) {
            for (String pack : packs) {
                List<Ref> refs = byPack.get(pack);
                if (refs == null || unreadable.contains(pack)) {
                    continue;
                }
                packsRead++;
                readPack(pack, refs, codec, progress);
            }
        }
    }

    private void readPack(String pack, List<Ref> refs, BlobCodec codec, LongConsumer progress) {
        List<Ref> sorted = new ArrayList<>(refs);
        sorted.sort(Comparator.comparingInt(r -> r.entry().offset()));
        List<Ref> overlapping = new ArrayList<>(); // index entries sharing bytes (a damaged index): read by range
        MessageDigest md = Crypto.sha256();
        boolean chunkBad = false;
        byte[] buf = new byte[1 << 16];
        try (InputStream raw = repo.sink().read(repo.layout().pack(pack)); InputStream in = new DigestInputStream(raw, md)) {
            long pos = 0;
            for (Ref r : sorted) {
                IndexEntry e = r.entry();
                if (e.offset() < pos) {
                    overlapping.add(r);
                    continue;
                }
                long skipped = discard(in, e.offset() - pos, buf);
                pos += skipped;
                byte[] stored = pos == e.offset() ? in.readNBytes(e.length()) : new byte[0];
                pos += stored.length;
                String where = "chunk " + e.id() + " in pack " + pack;
                if (stored.length != e.length()) {
                    chunkBad = true;
                    findings.add(new Finding(r.artifact(), Kind.DAMAGED, labels.get(r.artifact()) + ": " + where + ": the pack ends after "
                            + pos + " bytes, the chunk needs " + end(e) + "; the pack is truncated"));
                    continue;
                }
                chunkBad |= !decode(codec, r, stored, where, progress);
            }
            in.transferTo(OutputStream.nullOutputStream());
        } catch (NoSuchObjectException e) {
            Ref r = refs.get(0);
            findings.add(new Finding(r.artifact(), Kind.MISSING, labels.get(r.artifact()) + ": chunk " + r.entry().id() + " is in pack "
                    + pack + ", which is missing from " + repo.sink().uri() + " (it was there when the packs were listed)"));
            return;
        } catch (IOException | SinkException e) {
            Ref r = refs.get(0);
            findings.add(new Finding(r.artifact(), Kind.UNREADABLE, labels.get(r.artifact()) + ": pack " + pack
                    + " could not be read: " + e.getMessage()));
            return;
        }
        PackReader ranged = new PackReader(repo);
        for (Ref r : overlapping) {
            try {
                byte[] plain = ranged.read(r.entry());
                bytesRead += plain.length;
                progress.accept(plain.length);
            } catch (IntegrityException e) {
                chunkBad = true;
                findings.add(new Finding(r.artifact(), Kind.DAMAGED, labels.get(r.artifact()) + ": " + e.getMessage()));
            } catch (IOException | SinkException e) {
                findings.add(new Finding(r.artifact(), Kind.UNREADABLE, labels.get(r.artifact()) + ": chunk " + r.entry().id()
                        + " in pack " + pack + " could not be read: " + e.getMessage()));
            }
        }
        if (!chunkBad && !Crypto.hex(md.digest()).equals(pack)) {
            Ref r = refs.get(0);
            findings.add(new Finding(r.artifact(), Kind.DAMAGED, labels.get(r.artifact()) + ": pack " + pack + " does not hash to its"
                    + " name, though the chunks of it this backup uses (e.g. chunk " + r.entry().id() + ") are intact: it is"
                    + " damaged elsewhere (its header, or chunks of other backups), or holds another pack's bytes"));
        }
    }

    private boolean decode(BlobCodec codec, Ref r, byte[] stored, String where, LongConsumer progress) {
        try {
            byte[] plain = codec.decode(r.entry(), stored, where);
            bytesRead += plain.length;
            progress.accept(plain.length);
            return true;
        } catch (IntegrityException e) {
            findings.add(new Finding(r.artifact(), Kind.DAMAGED, labels.get(r.artifact()) + ": " + e.getMessage()));
            return false;
        }
    }

    /** Everything found wrong so far, in the order found. */
    public List<Finding> findings() {
        return List.copyOf(findings);
    }

    /** Distinct chunks referenced (and found in the index). */
    public long chunks() {
        return chunks;
    }

    /** Packs {@link #read} read. */
    public int packsRead() {
        return packsRead;
    }

    /** Plain bytes of the chunks {@link #read} checked. */
    public long bytesRead() {
        return bytesRead;
    }

    /** Reads and drops up to {@code n} bytes (unlike a skip, they still pass through the digest); returns how many. */
    private static long discard(InputStream in, long n, byte[] buf) throws IOException {
        long done = 0;
        while (done < n) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }
}
