package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The engine's door into the deduplicated repository under {@link #ROOT} of a sink: opening (and, on the first
 * deduplicated backup, creating) it, writing one store's artifacts as chunks plus a tree object each
 * ({@link Writer}), and reading them back ({@link Reader}). Public only so that {@code dev.sgbackup.internal} can
 * use it; the package is not exported.
 */
public final class DedupRepository {
    /** The root prefix of the repository in the sink. */
    public static final String ROOT = "dedup";
    /** The transform id a manifest records for a deduplicated artifact (its key is then a tree object's). */
    public static final String TRANSFORM_ID = "dedup";

    private final Repo repo;
    private final RepoConfig config;

    private DedupRepository(Repo repo, RepoConfig config) {
        this.repo = repo;
        this.config = config;
    }

    /**
     * Opens the repository in {@code sink}; with {@code create}, creates it first if it has no config yet.
     * Creation is race-safe where the sink has a conditional create ({@link BackupSink#putIfAbsent}): of several
     * first backups, one writes the config and the others read it. On a sink without one, two first backups racing
     * are not supported (the last config written wins, and the other's chunks may be unreadable).
     *
     * @param encryption the passphrase or key (null: unencrypted); an encrypted repository's master key is in its
     *                   key object, wrapped by it
     * @throws InvalidInputException on a wrong, missing or unexpected passphrase or key
     * @throws IntegrityException    if there is no repository and {@code create} is false, or its config is damaged
     */
    public static DedupRepository open(BackupSink sink, Encryption encryption, boolean create) throws IOException {
        Layout layout = new Layout(ROOT);
        Optional<RepoConfig> found = readConfig(sink, layout);
        if (found.isEmpty()) {
            if (!create) {
                throw new IntegrityException("there is no deduplicated repository in " + sink.uri() + " (" + layout.config()
                        + " is missing), but a backup refers to one; the backup is incomplete");
            }
            KeyObject.Unlocked unlocked = encryption == null ? null : KeyObject.create(sink, layout, encryption);
            RepoKeys keys = unlocked == null ? RepoKeys.unencrypted() : unlocked.keys();
            RepoConfig mine = new RepoConfig(ChunkParams.DEFAULT, RepoConfig.DEFAULT_PACK_SIZE, unlocked != null,
                    unlocked == null ? null : unlocked.keyObject(), unlocked == null ? null : RepoConfig.keyCheck(keys));
            if (createConfig(sink, layout.config(), mine.encode())) {
                return new DedupRepository(new Repo(sink, layout, keys), mine);
            }
            if (unlocked != null) {
                sink.delete(unlocked.keyObject()); // lost the race: our key object wraps a master key nobody uses
            }
            found = readConfig(sink, layout);
            if (found.isEmpty()) {
                throw new IntegrityException("the deduplicated repository config " + layout.config() + " in " + sink.uri()
                        + " vanished while it was being created; run the backup again");
            }
        }
        RepoConfig c = found.get();
        if (c.encrypted() && encryption == null) {
            throw new InvalidInputException("the deduplicated repository in " + sink.uri() + " is encrypted; set SGBACKUP_PASSPHRASE"
                    + " to its passphrase (CLI) or give it with SgBackup.builder().encryption(...)");
        }
        if (!c.encrypted() && encryption != null) {
            throw new InvalidInputException("the deduplicated repository in " + sink.uri() + " is not encrypted, but a passphrase"
                    + " or key was given; a repository's encryption is fixed when its first deduplicated backup is made."
                    + " Use it without a passphrase, or another sink");
        }
        RepoKeys keys = c.encrypted()
                ? KeyObject.open(sink, layout, encryption, k -> RepoConfig.keyCheck(k).equals(c.keyCheck())).keys()
                : RepoKeys.unencrypted();
        return new DedupRepository(new Repo(sink, layout, keys), c);
    }

    private static Optional<RepoConfig> readConfig(BackupSink sink, Layout layout) throws IOException {
        try (InputStream in = sink.read(layout.config())) {
            return Optional.of(RepoConfig.decode(in.readNBytes(64 * 1024), layout.config()));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        }
    }

    /** Creates the config; false if another writer created it first. */
    private static boolean createConfig(BackupSink sink, String key, byte[] bytes) throws IOException {
        if (sink.conditionalCreate()) {
            return sink.putIfAbsent(key, bytes);
        }
        // no conditional create: check, then write (two first backups racing on such a sink are not supported)
        if (sink.stat(key).isPresent()) {
            return false;
        }
        try (PendingObject o = sink.create(key, bytes.length)) {
            o.stream().write(bytes);
            o.commit();
        }
        return true;
    }

    public boolean encrypted() {
        return repo.keys().encrypted();
    }

    /** Whether {@code key} is a tree object's key. */
    public static boolean isTree(String key) {
        return key.startsWith(new Layout(ROOT).treesPrefix());
    }

    /**
     * A writer for one store's artifacts, on the store's index shard (loaded here). Chunks are compressed with
     * zstd at {@code compression}'s level (gzip is not offered for chunks: zstd at its default level instead).
     */
    public Writer writer(String store, Compression compression) throws IOException {
        return new Writer(store, compression);
    }

    /** A verify of backup {@code backupId}'s deduplicated artifacts, in levels ({@link Checker}). */
    public Checker checker(String backupId) {
        return new Checker(repo, backupId);
    }

    /** A reader for one store's artifacts; loads the store's index shard once. */
    public Reader reader(String store) throws IOException {
        return new Reader(store);
    }

    /** Writes one store's artifacts; {@link #close()} commits the last pack and the index, {@link #abort()} drops them. */
    public final class Writer implements Closeable {
        private final ChunkWriter chunks;
        private final FastCdc chunker;

        private Writer(String store, Compression compression) throws IOException {
            String shard = repo.keys().shardName(store);
            Compression c = compression.codec() == Compression.Codec.GZIP ? Compression.zstd() : compression;
            this.chunks = new ChunkWriter(repo, config.chunker(), new IndexStore(repo).load(shard), shard, c, config.packSize(),
                    Path.of(System.getProperty("java.io.tmpdir")));
            this.chunker = repo.keys().chunker(config.chunker());
        }

        /** A new artifact of backup {@code backupId}: write its bytes, close it, then read what was stored. Several may be open at once. */
        public Artifact artifact(String backupId) {
            return new Artifact(backupId, this);
        }

        /** Commits the last pack, then the index objects: call before the manifest is written. */
        @Override
        public void close() throws IOException {
            chunks.close();
        }

        /** Bytes of the packs this writer uploaded (compressed, sealed): what its new chunks cost in the sink. */
        public long packBytes() {
            return chunks.packBytes();
        }

        /** Drops the pack being filled; packs already committed stay, unreferenced until a backup uses them. */
        public void abort() throws IOException {
            chunks.abort();
        }
    }

    /**
     * One artifact being chunked: what is written is cut into chunks (bounded memory: one chunker buffer), new
     * chunks go to packs, and {@link #close()} writes the artifact's tree object.
     */
    public final class Artifact extends OutputStream {
        private final String backupId;
        private final Writer writer;
        private final List<ChunkId> ids = new ArrayList<>();
        private final OutputStream splitter;
        private long newBytes;
        private long reusedBytes;
        private String treeKey;
        private long treeSize;
        private String treeSha256;

        private Artifact(String backupId, Writer writer) {
            this.backupId = backupId;
            this.writer = writer;
            this.splitter = writer.chunker.splitter((offset, buf, off, len) -> {
                ChunkId id = repo.keys().id(buf, off, len);
                if (writer.chunks.store(id, buf, off, len)) {
                    newBytes += len;
                } else {
                    reusedBytes += len;
                }
                ids.add(id);
            });
        }

        @Override
        public void write(int b) throws IOException {
            splitter.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            splitter.write(b, off, len);
        }

        /** Cuts the last chunks and writes the tree object. */
        @Override
        public void close() throws IOException {
            if (treeKey != null) {
                return;
            }
            splitter.close();
            byte[] tree = TreeObject.encode(backupId, ids, repo.keys());
            treeSha256 = Crypto.hex(Crypto.sha256().digest(tree));
            String key = repo.layout().tree(treeSha256);
            try (PendingObject o = repo.sink().create(key, tree.length)) {
                o.stream().write(tree);
                o.commit();
            }
            treeSize = tree.length;
            treeKey = key;
        }

        /** The tree object's key (after {@link #close()}). */
        public String treeKey() {
            return treeKey;
        }

        public long treeSize() {
            return treeSize;
        }

        /** Hex SHA-256 of the tree object's bytes (its name). */
        public String treeSha256() {
            return treeSha256;
        }

        public long chunks() {
            return ids.size();
        }

        /** Plaintext bytes of chunks this artifact stored first. */
        public long newBytes() {
            return newBytes;
        }

        /** Plaintext bytes of chunks that were stored already (by an earlier backup, or earlier in this one). */
        public long reusedBytes() {
            return reusedBytes;
        }
    }

    /** Reads one store's artifacts back; thread-safe (each stream has its own pack reader). */
    public final class Reader {
        private final String store;
        private final ChunkIndex index;
        private final Set<String> packsSeen = ConcurrentHashMap.newKeySet();

        private Reader(String store) throws IOException {
            this.store = store;
            this.index = new IndexStore(repo).load(repo.keys().shardName(store));
        }

        /**
         * The plain bytes of the artifact whose tree object is {@code treeKey}, chunk by chunk (memory: one chunk).
         * Before the first byte, the tree is checked against the manifest's size and SHA-256, every chunk is looked
         * up in the index and every pack it needs is checked to exist.
         *
         * @throws IntegrityException naming the tree, chunk or pack that is damaged or missing
         * @throws NoSuchObjectException if the tree object is missing
         */
        public InputStream open(String backupId, String treeKey, long treeSize, String treeSha256) throws IOException {
            byte[] bytes;
            try (InputStream in = repo.sink().read(treeKey)) {
                bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, treeSize + 1));
            }
            if (bytes.length != treeSize || !MessageDigest.isEqual(Crypto.hex(Crypto.sha256().digest(bytes)).getBytes(),
                    treeSha256.getBytes())) {
                throw new IntegrityException("tree object " + treeKey + " is damaged: it does not match the manifest (" + bytes.length
                        + " bytes, " + treeSize + " recorded, or its SHA-256 differs)");
            }
            List<ChunkId> ids = TreeObject.decode(bytes, backupId, repo.keys(), treeKey);
            for (ChunkId id : ids) {
                IndexEntry e = index.get(id);
                if (e == null) {
                    throw new IntegrityException("chunk " + id + " (tree object " + treeKey + ") is not in the index of store "
                            + store + "; the repository is missing index objects or packs");
                }
                if (!packsSeen.contains(e.pack())) {
                    if (repo.sink().stat(repo.layout().pack(e.pack())).isEmpty()) {
                        throw new IntegrityException("chunk " + id + " is in pack " + e.pack() + ", which is missing from "
                                + repo.sink().uri());
                    }
                    packsSeen.add(e.pack());
                }
            }
            return new ChunkStream(new PackReader(repo), index, ids);
        }
    }

    /** The chunks of one artifact, in order, one in memory at a time; entries are looked up as they are reached. */
    private static final class ChunkStream extends InputStream {
        private final PackReader packs;
        private final ChunkIndex index;
        private final List<ChunkId> ids;
        private int next;
        private byte[] chunk = new byte[0];
        private int pos;

        ChunkStream(PackReader packs, ChunkIndex index, List<ChunkId> ids) {
            this.packs = packs;
            this.index = index;
            this.ids = ids;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (pos == chunk.length) {
                if (next == ids.size()) {
                    return -1;
                }
                chunk = packs.read(index.get(ids.get(next++))); // present: checked when the stream was opened
                pos = 0;
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
