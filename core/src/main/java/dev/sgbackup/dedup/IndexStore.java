package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The index on the sink: per shard (e.g. one store), immutable index objects, each written after the packs it
 * points into are committed and named by the SHA-256 of its bytes. A reader merges every object of its shard.
 *
 * <p>An index object: {@code "SGI" ‖ version (1) ‖ body}; the body, sealed in an encrypted repository
 * (AES-256-GCM, blob key, associated data {@code "sgbackup/dedup/index/v1"}), is {@code packCount (uint32) ‖
 * packCount × pack name (32 bytes) ‖ entryCount (uint32) ‖ entryCount × [chunk id (32) ‖ pack number (uint32) ‖
 * flags (1) ‖ offset (uint32) ‖ length (uint32) ‖ raw length (uint32)]}. One object holds at most
 * {@link #MAX_ENTRIES} entries (≈ 4.9 MB), so writing and reading one needs bounded memory.
 */
final class IndexStore {
    static final int VERSION = 1;
    static final int MAX_ENTRIES = 100_000;
    static final int ENTRY_BYTES = ChunkId.BYTES + 4 + 1 + 4 + 4 + 4;
    private static final byte[] MAGIC = {'S', 'G', 'I', VERSION};
    private static final byte[] AAD = "sgbackup/dedup/index/v1".getBytes(StandardCharsets.US_ASCII);

    private final Repo repo;

    IndexStore(Repo repo) {
        this.repo = repo;
    }

    /** Writes one index object for {@code entries} (at most {@link #MAX_ENTRIES}) in {@code shard}; returns its key. */
    String write(String shard, List<IndexEntry> entries) throws IOException {
        if (entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("an index object holds at most " + MAX_ENTRIES + " entries");
        }
        Map<String, Integer> packs = new LinkedHashMap<>();
        for (IndexEntry e : entries) {
            packs.putIfAbsent(e.pack(), packs.size());
        }
        ByteBuffer b = ByteBuffer.allocate(4 + packs.size() * 32 + 4 + entries.size() * ENTRY_BYTES);
        b.putInt(packs.size());
        for (String p : packs.keySet()) {
            b.put(java.util.HexFormat.of().parseHex(p));
        }
        b.putInt(entries.size());
        for (IndexEntry e : entries) {
            b.put(e.id().bytes()).putInt(packs.get(e.pack())).put((byte) e.flags())
                    .putInt(e.offset()).putInt(e.length()).putInt(e.rawLength());
        }
        byte[] body = b.array();
        byte[] stored = repo.keys().encrypted() ? Crypto.seal(repo.keys().blobKey(), body, 0, body.length, AAD) : body;
        var md = Crypto.sha256();
        md.update(MAGIC);
        md.update(stored);
        String key = repo.layout().index(shard, Crypto.hex(md.digest()));
        try (PendingObject o = repo.sink().create(key, MAGIC.length + stored.length)) {
            o.stream().write(MAGIC);
            o.stream().write(stored);
            o.commit();
        }
        return key;
    }

    /** The size of the index object {@link #write} writes for {@code entries}. */
    static long objectBytes(List<IndexEntry> entries, RepoKeys keys) {
        long packs = entries.stream().map(IndexEntry::pack).distinct().count();
        return MAGIC.length + 4 + packs * 32 + 4 + (long) entries.size() * ENTRY_BYTES + (keys.encrypted() ? Crypto.OVERHEAD : 0);
    }

    /** The index objects of {@code shard}, with their sizes. */
    List<ObjectInfo> objects(String shard) {
        try (var s = repo.sink().listAll(repo.layout().indexPrefix(shard))) {
            return s.toList();
        }
    }

    /** Reads one index object. */
    List<IndexEntry> read(String key) throws IOException {
        byte[] all;
        try (InputStream in = repo.sink().read(key)) {
            all = in.readNBytes(MAGIC.length + 4 + MAX_ENTRIES * (ENTRY_BYTES + 32) + 4 + Crypto.OVERHEAD + 1);
        }
        if (all.length < MAGIC.length || all[0] != MAGIC[0] || all[1] != MAGIC[1] || all[2] != MAGIC[2]) {
            throw new IntegrityException("index object " + key + " is not an index object; it is damaged");
        }
        if (all[3] != VERSION) {
            throw new IntegrityException("index object " + key + " has format version " + all[3] + ", this sgbackup reads " + VERSION + "; upgrade sgbackup");
        }
        byte[] stored = java.util.Arrays.copyOfRange(all, MAGIC.length, all.length);
        byte[] body = repo.keys().encrypted() ? Crypto.open(repo.keys().blobKey(), stored, AAD, "index object " + key) : stored;
        try {
            ByteBuffer b = ByteBuffer.wrap(body);
            int np = b.getInt();
            List<String> packs = new ArrayList<>(np);
            byte[] id = new byte[32];
            for (int i = 0; i < np; i++) {
                b.get(id);
                packs.add(Crypto.hex(id));
            }
            int n = b.getInt();
            if (n < 0 || n > MAX_ENTRIES || b.remaining() != (long) n * ENTRY_BYTES) {
                throw new IntegrityException("index object " + key + " is damaged: " + b.remaining() + " bytes for " + n + " entries");
            }
            List<IndexEntry> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                b.get(id);
                int pack = b.getInt();
                int flags = b.get() & 0xff;
                out.add(new IndexEntry(ChunkId.of(id), packs.get(pack), b.getInt(), b.getInt(), b.getInt(), flags));
            }
            return out;
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IntegrityException("index object " + key + " is damaged: it ends early or names a pack it does not list", e);
        }
    }

    /**
     * Merges every index object of {@code shard} into one in-memory index (sized up front from the objects'
     * sizes). A chunk in two packs (e.g. written by two concurrent backups) keeps the first entry read.
     */
    ChunkIndex load(String shard) throws IOException {
        List<ObjectInfo> objs = objects(shard);
        long bytes = objs.stream().mapToLong(ObjectInfo::size).sum();
        ChunkIndex index = new ChunkIndex((int) Math.min(Integer.MAX_VALUE / 8, bytes / ENTRY_BYTES + 1));
        for (ObjectInfo o : objs) {
            for (IndexEntry e : read(o.key())) {
                index.add(e);
            }
        }
        return index;
    }

    /**
     * Collects entries and writes them as index objects of {@code shard}, {@link #MAX_ENTRIES} at a time.
     * Give it only entries of committed packs ({@link PackWriter.PackListener}).
     */
    final class Writer implements java.io.Closeable {
        private final String shard;
        private final List<IndexEntry> pending = new ArrayList<>();
        private final List<String> written = new ArrayList<>();

        Writer(String shard) {
            this.shard = shard;
        }

        void add(List<IndexEntry> entries) throws IOException {
            for (IndexEntry e : entries) {
                pending.add(e);
                if (pending.size() == MAX_ENTRIES) {
                    flush();
                }
            }
        }

        void flush() throws IOException {
            if (!pending.isEmpty()) {
                written.add(write(shard, pending));
                pending.clear();
            }
        }

        /** The keys of the index objects written so far. */
        List<String> written() {
            return List.copyOf(written);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
