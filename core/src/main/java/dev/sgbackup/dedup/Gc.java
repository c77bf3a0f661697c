package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Garbage collection of the repository: mark, then sweep. The caller must hold the sink's exclusive
 * {@link dev.sgbackup.sink.SinkLock} (no backup runs meanwhile) and give the trees of <em>every</em> committed
 * deduplicated backup; {@code checkLease} is called before each phase that deletes, and throws if the lease was lost.
 *
 * <p><b>Mark:</b> the chunks every live tree references ({@link TreeObject#referencedChunks}), per index shard (a
 * store's chunks are looked up in its own shard). <b>Sweep</b>, with {@code cutoff = now − grace}:
 * <ul>
 *   <li>A pack, tree or index object modified after the cutoff is <em>young</em>. An index object that names a
 *       young pack counts as young too. Young packs, and every pack a young index object names, are <em>pinned</em>:
 *       never deleted nor repacked, and young index objects are kept as they are.</li>
 *   <li>In each shard, every live chunk not already in a young index object keeps one entry (the first in a pack
 *       that exists, preferring pinned packs); every other entry of the shard's old index objects is dropped.</li>
 *   <li>An unpinned pack with no kept entry is deleted (this covers packs no index object names, left by a killed
 *       backup). One whose dead bytes exceed {@link #REPACK_DEAD_FRACTION} of its size is repacked: its live blobs
 *       are copied as stored (no decompression or re-encryption, but each is checked against its id) into new packs
 *       of the configured size.</li>
 *   <li>A tree object no live backup references is deleted once old (failed backups, backups deleted without
 *       their passphrase).</li>
 * </ul>
 * Order on the sink: new packs, then new index objects for every shard that changed (all its kept entries), then
 * the shard's old index objects, then the packs, then the trees. A crash at any point leaves duplicates (two index
 * entries for a chunk, which the loader merges) or unreferenced packs, never an index entry naming a missing pack;
 * the next collection finishes the job (after the grace period, for what the crash left young).
 *
 * <p>Memory: every index entry of the repository as an object (about 150 bytes each) plus the live ids; fine for
 * the million chunks (≈ 1 TB) the index is sized for, not for ten million.
 */
final class Gc {
    /**
     * A pack is repacked when more than this share of its bytes is garbage. Half: repacking copies the live part,
     * so at this threshold each byte copied frees at least one byte, and a pack is rewritten at most about log2 of
     * its life's deletions times; restic's default ({@code --max-unused 5%} of the repository) is tighter and
     * copies more. Packs below it keep their garbage until more of it dies.
     */
    static final double REPACK_DEAD_FRACTION = 0.5;

    /** One artifact's tree of a committed backup: what is live. {@code store} picks the index shard. */
    record Tree(String store, String backupId, String key, long size, String sha256) {
    }

    /**
     * What a collection did, or (dry run) would do. {@code bytesFreed}: bytes of packs and index objects deleted, less
     * those of the packs and index objects written; exact in a dry run too. Tree objects are not counted.
     */
    record Result(int packsDeleted, int packsRepacked, int packsWritten, int indexObjectsDeleted, int indexObjectsWritten,
                  int treesDeleted, long bytesFreed, long liveChunks) {
    }

    private record IndexObject(ObjectInfo info, List<IndexEntry> entries, boolean young) {
    }

    private final Repo repo;
    private final long packSize;
    private final Instant cutoff;
    private final Runnable checkLease;
    private final Path tmpDir;

    Gc(Repo repo, long packSize, Duration grace, Instant now, Runnable checkLease, Path tmpDir) {
        this.repo = repo;
        this.packSize = packSize;
        this.cutoff = now.minus(grace);
        this.checkLease = checkLease;
        this.tmpDir = tmpDir;
    }

    private boolean young(ObjectInfo o) {
        return o.lastModified() == null || o.lastModified().isAfter(cutoff);
    }

    Result run(List<Tree> live, boolean dryRun) throws IOException {
        Layout layout = repo.layout();
        // what is there
        Map<String, ObjectInfo> packs = new TreeMap<>();
        try (var s = repo.sink().listAll(layout.packsPrefix())) {
            s.forEach(o -> packs.put(Layout.packName(o.key()), o));
        }
        Set<String> pinned = new HashSet<>();
        packs.forEach((name, o) -> {
            if (young(o)) {
                pinned.add(name);
            }
        });
        Set<String> youngPacks = Set.copyOf(pinned);
        String indexRoot = layout.root() + "/index/";
        Map<String, List<IndexObject>> shards = new TreeMap<>();
        IndexStore store = new IndexStore(repo);
        List<ObjectInfo> indexObjects;
        try (var s = repo.sink().listAll(indexRoot)) {
            indexObjects = s.toList();
        }
        Set<String> existingIndex = new HashSet<>();
        indexObjects.forEach(o -> existingIndex.add(o.key()));
        for (ObjectInfo o : indexObjects) {
            String rest = o.key().substring(indexRoot.length());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                continue; // not an index object of this layout
            }
            List<IndexEntry> entries = store.read(o.key());
            boolean young = young(o) || entries.stream().anyMatch(e -> youngPacks.contains(e.pack()));
            if (young) {
                entries.forEach(e -> pinned.add(e.pack()));
            }
            shards.computeIfAbsent(rest.substring(0, slash), k -> new ArrayList<>()).add(new IndexObject(o, entries, young));
        }

        // mark: a tree's content table is read through its store's index (the chunks it names are in that shard)
        Map<String, Set<ChunkId>> liveByShard = new HashMap<>();
        Set<String> liveTrees = new HashSet<>();
        Map<String, Map<ChunkId, IndexEntry>> lookups = new HashMap<>();
        for (Tree t : live) {
            String shard = repo.keys().shardName(t.store());
            Map<ChunkId, IndexEntry> lookup = lookups.computeIfAbsent(shard, sh -> {
                Map<ChunkId, IndexEntry> m = new HashMap<>();
                for (IndexObject io : shards.getOrDefault(sh, List.of())) {
                    for (IndexEntry e : io.entries()) {
                        if (packs.containsKey(e.pack())) {
                            m.putIfAbsent(e.id(), e);
                        }
                    }
                }
                return m;
            });
            Set<ChunkId> ids = liveByShard.computeIfAbsent(shard, s -> new HashSet<>());
            ids.addAll(TreeObject.referencedChunks(repo, readTree(t), t.backupId(), t.key(), lookup::get));
            liveTrees.add(t.key());
        }
        lookups.clear();
        long liveChunks = liveByShard.values().stream().mapToLong(Set::size).sum();

        // per shard: one entry kept for each live chunk that no young index object already covers
        Map<String, Map<ChunkId, IndexEntry>> kept = new TreeMap<>();
        Map<String, Boolean> changed = new HashMap<>();
        Map<String, Long> liveBytes = new HashMap<>();
        for (var sh : shards.entrySet()) {
            Set<ChunkId> liveIds = liveByShard.getOrDefault(sh.getKey(), Set.of());
            Set<ChunkId> covered = new HashSet<>();
            for (IndexObject io : sh.getValue()) {
                if (io.young()) {
                    io.entries().forEach(e -> covered.add(e.id()));
                }
            }
            Map<ChunkId, IndexEntry> chosen = new HashMap<>();
            int oldEntries = 0;
            for (IndexObject io : sh.getValue()) {
                if (io.young()) {
                    continue;
                }
                for (IndexEntry e : io.entries()) {
                    oldEntries++;
                    if (!liveIds.contains(e.id()) || covered.contains(e.id())) {
                        continue;
                    }
                    IndexEntry prev = chosen.get(e.id());
                    if (prev == null || rank(e, packs, pinned) > rank(prev, packs, pinned)) {
                        chosen.put(e.id(), e);
                    }
                }
            }
            chosen.values().forEach(e -> liveBytes.merge(e.pack(), (long) e.length(), Long::sum));
            kept.put(sh.getKey(), chosen);
            changed.put(sh.getKey(), oldEntries != chosen.size());
        }

        // pack decisions
        List<String> delete = new ArrayList<>();
        Set<String> repack = new java.util.TreeSet<>();
        for (var p : packs.entrySet()) {
            if (pinned.contains(p.getKey())) {
                continue;
            }
            long l = liveBytes.getOrDefault(p.getKey(), 0L);
            long size = p.getValue().size();
            if (l == 0) {
                delete.add(p.getKey());
            } else if (size - l > REPACK_DEAD_FRACTION * size) {
                repack.add(p.getKey());
            }
        }
        for (var sh : kept.entrySet()) {
            if (sh.getValue().values().stream().anyMatch(e -> repack.contains(e.pack()))) {
                changed.put(sh.getKey(), true);
            }
        }
        List<ObjectInfo> deadTrees;
        try (var s = repo.sink().listAll(layout.treesPrefix())) {
            deadTrees = s.filter(o -> !liveTrees.contains(o.key()) && !young(o)).toList();
        }

        long freed = 0;
        Set<String> written = new HashSet<>();
        int packsWritten = 0;
        // 1. repack: new packs, shard by shard (a pack holds one shard's chunks)
        Map<String, Map<ChunkId, IndexEntry>> moved = new HashMap<>();
        for (var sh : kept.entrySet()) {
            List<IndexEntry> toCopy = sh.getValue().values().stream().filter(e -> repack.contains(e.pack()))
                    .sorted(Comparator.comparing(IndexEntry::pack).thenComparingInt(IndexEntry::offset)).toList();
            if (toCopy.isEmpty()) {
                continue;
            }
            Map<ChunkId, IndexEntry> to = new HashMap<>();
            if (dryRun) {
                long[] sim = simulatePacks(sh.getKey(), toCopy, to);
                packsWritten += (int) sim[0];
                freed -= sim[1];
            } else {
                long[] done = new long[2];
                try (PackWriter w = new PackWriter(repo, Compression.none(), packSize, tmpDir, (pack, size, entries) -> {
                    written.add(layout.pack(pack));
                    done[0]++;
                    if (!packs.containsKey(pack)) { // else the same bytes as an old pack, which then stays
                        done[1] += size;
                    }
                    entries.forEach(e -> to.put(e.id(), e));
                }); BlobCodec codec = new BlobCodec(repo.keys(), Compression.none())) {
                    for (IndexEntry e : toCopy) {
                        w.addStored(e, readBlob(e, codec));
                    }
                }
                packsWritten += (int) done[0];
                freed -= done[1];
            }
            moved.put(sh.getKey(), to);
        }
        // 2. new index objects for every shard that changed: all its kept entries
        int indexWritten = 0;
        List<ObjectInfo> oldIndex = new ArrayList<>();
        for (var sh : kept.entrySet()) {
            if (!changed.get(sh.getKey())) {
                continue;
            }
            Map<ChunkId, IndexEntry> to = moved.getOrDefault(sh.getKey(), Map.of());
            List<IndexEntry> entries = sh.getValue().values().stream().map(e -> to.getOrDefault(e.id(), e))
                    .sorted(Comparator.comparing(IndexEntry::id)).toList();
            for (int i = 0; i < entries.size(); i += IndexStore.MAX_ENTRIES) {
                List<IndexEntry> part = entries.subList(i, Math.min(entries.size(), i + IndexStore.MAX_ENTRIES));
                if (dryRun) {
                    freed -= IndexStore.objectBytes(part, repo.keys());
                } else {
                    String key = store.write(sh.getKey(), part);
                    written.add(key);
                    if (!existingIndex.contains(key)) { // else the same bytes as an old object, which then stays
                        freed -= IndexStore.objectBytes(part, repo.keys());
                    }
                }
                indexWritten++;
            }
            shards.get(sh.getKey()).stream().filter(io -> !io.young()).forEach(io -> oldIndex.add(io.info()));
        }
        // 3. the old index objects of those shards: every kept chunk is now in a new one
        oldIndex.removeIf(o -> written.contains(o.key()));
        freed += deleteAll(oldIndex, dryRun);
        // 4. packs no index entry names any more
        List<ObjectInfo> gone = new ArrayList<>();
        delete.forEach(p -> gone.add(packs.get(p)));
        repack.forEach(p -> gone.add(packs.get(p)));
        gone.removeIf(o -> written.contains(o.key()));
        freed += deleteAll(gone, dryRun);
        // 5. trees of no committed backup
        deleteAll(deadTrees, dryRun); // not in bytesFreed: a prune deletes most trees with their backups, before this runs
        return new Result(delete.size(), repack.size(), packsWritten, oldIndex.size(), indexWritten, deadTrees.size(), freed, liveChunks);
    }

    /**
     * Dry run: the packs repacking {@code entries} would write, cut as {@link PackWriter} cuts them, under placeholder
     * names; returns {pack count, bytes}.
     */
    private long[] simulatePacks(String shard, List<IndexEntry> entries, Map<ChunkId, IndexEntry> to) {
        int packs = 0;
        long bytes = 0;
        long size = 0;
        int n = 0;
        List<IndexEntry> open = new ArrayList<>();
        for (IndexEntry e : entries) {
            open.add(e);
            size += e.length();
            n++;
            if (size >= packSize) {
                bytes += size + PackFormat.headerBytes(n, repo.keys()) + PackFormat.TRAILER_BYTES;
                String name = placeholder(shard, packs++);
                open.forEach(x -> to.put(x.id(), new IndexEntry(x.id(), name, 0, x.length(), x.rawLength(), x.flags())));
                open.clear();
                size = 0;
                n = 0;
            }
        }
        if (n > 0) {
            bytes += size + PackFormat.headerBytes(n, repo.keys()) + PackFormat.TRAILER_BYTES;
            String name = placeholder(shard, packs++);
            open.forEach(x -> to.put(x.id(), new IndexEntry(x.id(), name, 0, x.length(), x.rawLength(), x.flags())));
        }
        return new long[]{packs, bytes};
    }

    /** A pack name for a dry run's would-be pack: 64 hex digits, distinct per shard and number. */
    private static String placeholder(String shard, int n) {
        return Crypto.hex(Crypto.sha256().digest(("dry-run:" + shard + ":" + n).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** Higher is better: an entry in a pack that exists, then in a pinned pack (kept anyway). */
    private static int rank(IndexEntry e, Map<String, ObjectInfo> packs, Set<String> pinned) {
        return (packs.containsKey(e.pack()) ? 2 : 0) + (pinned.contains(e.pack()) ? 1 : 0);
    }

    /** Deletes (unless a dry run) after checking the lease; returns the bytes. */
    private long deleteAll(List<ObjectInfo> objects, boolean dryRun) throws IOException {
        if (objects.isEmpty()) {
            return 0;
        }
        if (!dryRun) {
            checkLease.run();
            List<String> keys = objects.stream().map(ObjectInfo::key).toList();
            for (int i = 0; i < keys.size(); i += 1000) {
                repo.sink().deleteAll(keys.subList(i, Math.min(keys.size(), i + 1000)));
            }
        }
        return objects.stream().mapToLong(ObjectInfo::size).sum();
    }

    /** A live tree's bytes, checked against what its manifest records; a missing or different one stops the collection. */
    private byte[] readTree(Tree t) throws IOException {
        byte[] bytes;
        try (InputStream in = repo.sink().read(t.key())) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, t.size() + 1));
        } catch (NoSuchObjectException e) {
            throw new IntegrityException("tree object " + t.key() + " of backup " + t.backupId() + " is missing from " + repo.sink().uri()
                    + "; garbage collection cannot tell which chunks that backup uses and deletes nothing. Verify and delete that backup,"
                    + " then prune again", e);
        }
        if (bytes.length != t.size() || !MessageDigest.isEqual(Crypto.hex(Crypto.sha256().digest(bytes)).getBytes(),
                t.sha256().getBytes())) {
            throw new IntegrityException("tree object " + t.key() + " of backup " + t.backupId() + " does not match its manifest;"
                    + " garbage collection cannot tell which chunks that backup uses and deletes nothing. Verify and delete that backup,"
                    + " then prune again");
        }
        return bytes;
    }

    /** A blob's stored bytes, checked (authenticated, decompressed, hashed) before they are copied. */
    private byte[] readBlob(IndexEntry e, BlobCodec codec) throws IOException {
        String where = "chunk " + e.id() + " in pack " + e.pack();
        byte[] stored;
        try (InputStream in = repo.sink().read(repo.layout().pack(e.pack()), e.offset(), e.length())) {
            stored = in.readNBytes(e.length());
        }
        if (stored.length != e.length()) {
            throw new IntegrityException(where + ": the pack is truncated; repacking stops before deleting anything");
        }
        codec.decode(e, stored, where);
        return stored;
    }
}
