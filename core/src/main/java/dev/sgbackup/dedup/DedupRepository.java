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
    /** The passphrase or key the repository was opened with, and the key object it opened; null when unencrypted. */
    private final Encryption encryption;
    private final String keyObject;

    private DedupRepository(Repo repo, RepoConfig config, Encryption encryption, String keyObject) {
        this.repo = repo;
        this.config = config;
        this.encryption = encryption;
        this.keyObject = keyObject;
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
                return new DedupRepository(new Repo(sink, layout, keys), mine, encryption, unlocked == null ? null : unlocked.keyObject());
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
        KeyObject.Unlocked unlocked = c.encrypted()
                ? KeyObject.open(sink, layout, encryption, c::holds) : null;
        RepoKeys keys = unlocked != null ? unlocked.keys() : RepoKeys.unencrypted();
        return new DedupRepository(new Repo(sink, layout, keys), c, encryption, unlocked == null ? null : unlocked.keyObject());
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

    /**
     * Starts the JIT warm-up of AES-GCM and SHA-256 now, for a run that will seal or open many chunks: a restore or a
     * verify that reads data, a first backup, a store backed up without a parent or whose every byte is chunked
     * again (a database). The engine decides, and an artifact writer starts it when a large file must be read
     * again ({@code ArtifactWriter.WARM_UP_FILE}); opening a repository does not start it, since an unchanged
     * volume's re-backup seals a few objects only and the warm-up would cost it a share of one core. Once per JVM; on
     * a daemon thread.
     */
    public static void warmUp() {
        Crypto.warmUp();
    }

    /** Whether {@code sink} has a deduplicated repository (its config exists). */
    public static boolean exists(BackupSink sink) throws IOException {
        return sink.stat(new Layout(ROOT).config()).isPresent();
    }

    /** One artifact of a committed deduplicated backup, as its manifest records it: what garbage collection keeps. */
    public record LiveTree(String store, String backupId, String treeKey, long treeSize, String treeSha256) {
    }

    /**
     * What {@link #collect} did or, in a dry run, would do. {@code bytesFreed} is exact in both: the bytes of the packs
     * and index objects deleted, less those of the packs and index objects written (tree objects are not counted: a
     * prune deletes most of them with their backups, before collecting).
     */
    public record Collected(int packsDeleted, int packsRepacked, int packsWritten, int indexObjectsDeleted,
                            int indexObjectsWritten, int treesDeleted, long bytesFreed, long liveChunks) {
    }

    /**
     * Garbage collection (see {@link Gc}): keeps every chunk the trees in {@code live} reference, deletes packs with no
     * live chunk, repacks mostly-garbage ones, and deletes tree objects no live backup references. Nothing modified
     * within {@code grace} of now is deleted or repacked. The caller must hold the sink's exclusive
     * {@link dev.sgbackup.sink.SinkLock} and give the trees of every committed deduplicated backup: a chunk of a
     * backup left out is deleted. {@code checkLease} runs before each phase that deletes and must throw if the lease
     * is lost. A dry run reads everything and writes nothing.
     *
     * @throws IntegrityException if a live tree is missing or damaged, or a blob to repack is (nothing is deleted then)
     */
    public Collected collect(List<LiveTree> live, java.time.Duration grace, boolean dryRun, Runnable checkLease) throws IOException {
        List<Gc.Tree> trees = live.stream().map(t -> new Gc.Tree(t.store(), t.backupId(), t.treeKey(), t.treeSize(), t.treeSha256())).toList();
        Gc.Result r = new Gc(repo, config.packSize(), grace, java.time.Instant.now(), checkLease,
                Path.of(System.getProperty("java.io.tmpdir"))).run(trees, dryRun);
        return new Collected(r.packsDeleted(), r.packsRepacked(), r.packsWritten(), r.indexObjectsDeleted(), r.indexObjectsWritten(),
                r.treesDeleted(), r.bytesFreed(), r.liveChunks());
    }

    /**
     * Deletes (unless {@code dryRun}) the key objects left by writers that lost the race to create this repository and
     * were killed before deleting their own (see {@link KeyObject#lost}), once older than {@code grace}; returns their
     * keys. The caller holds the sink's exclusive lease, as for {@link #collect}, and {@code checkLease} runs before
     * anything is deleted. None in an unencrypted repository.
     */
    public List<String> removeLostKeyObjects(java.time.Duration grace, boolean dryRun, Runnable checkLease) throws IOException {
        if (encryption == null) {
            return List.of();
        }
        List<String> lost = KeyObject.lost(repo.sink(), repo.layout(), encryption, keyObject, config::holds,
                java.time.Instant.now().minus(grace));
        if (!dryRun && !lost.isEmpty()) {
            checkLease.run();
            repo.sink().deleteAll(lost);
        }
        return lost;
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

        private Writer(String store, Compression compression) throws IOException {
            String shard = repo.keys().shardName(store);
            Compression c = compression.codec() == Compression.Codec.GZIP ? Compression.zstd() : compression;
            this.chunks = new ChunkWriter(repo, config.chunker(), new IndexStore(repo).load(shard), shard, c, config.packSize(),
                    Path.of(System.getProperty("java.io.tmpdir")));
        }

        /** A new artifact of backup {@code backupId}, without a parent: every byte is chunked. */
        public Artifact artifact(String backupId) {
            return artifact(backupId, null);
        }

        /**
         * A new artifact of backup {@code backupId}: write its bytes, close it, then read what was stored. Several may
         * be open at once. With a {@code parent} (the same artifact in an earlier backup of the same store), files the
         * store marks with an unchanged stamp take the parent's chunks without being read.
         */
        public Artifact artifact(String backupId, Parent parent) {
            ParentTable table = parent == null ? null : ParentTable.open(repo, chunks::lookup, parent.backupId(), parent.treeKey(),
                    parent.treeSize(), parent.treeSha256());
            return new Artifact(new ArtifactWriter(repo, chunks, config.chunker(), backupId, table));
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
     * The same artifact in an earlier backup of the same store, as its manifest records it: files unchanged since
     * then are taken from it without being read.
     */
    public record Parent(String backupId, String treeKey, long treeSize, String treeSha256) {
    }

    /**
     * One artifact being chunked: what is written is cut into chunks (bounded memory: the chunkers' buffers), new
     * chunks go to packs, and {@link #close()} writes the artifact's tree object. Files marked with
     * {@link #beginFile} are chunked one by one, and taken from the parent when unchanged.
     */
    public static final class Artifact extends OutputStream {
        private final ArtifactWriter w;

        private Artifact(ArtifactWriter w) {
            this.w = w;
        }

        @Override
        public void write(int b) throws IOException {
            w.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            w.write(b, off, len);
        }

        /** See {@link dev.sgbackup.store.BackupOutput.ArtifactStream#beginFile}. */
        public dev.sgbackup.store.BackupOutput.FileEntry beginFile(String path, dev.sgbackup.store.BackupOutput.FileStamp stamp)
                throws IOException {
            return w.beginFile(path, stamp);
        }

        /** Cuts the last chunks and writes the content table's chunks and the tree object. */
        @Override
        public void close() throws IOException {
            w.close();
        }

        /** The tree object's key (after {@link #close()}). */
        public String treeKey() {
            return w.treeKey();
        }

        public long treeSize() {
            return w.treeSize();
        }

        /** Hex SHA-256 of the tree object's bytes (its name). */
        public String treeSha256() {
            return w.treeSha256();
        }

        /** The artifact's plain size. */
        public long size() {
            return w.size();
        }

        /** Hex SHA-256 of the artifact's content table, which the manifest records as its {@code sha256}. */
        public String sha256() {
            return w.sha256();
        }

        /** The number of content chunks (table chunks not included). */
        public long chunks() {
            return w.chunks();
        }

        /**
         * Plaintext bytes this artifact stored for the first time: its new content chunks and the new chunks of its
         * content table (which holds the bytes between file contents, e.g. archive headers).
         */
        public long newBytes() {
            return w.newBytes();
        }

        /**
         * Bytes of the artifact in content chunks that were stored already (by an earlier backup, or earlier in this
         * one), files taken from the parent included.
         */
        public long reusedBytes() {
            return w.reusedBytes();
        }

        /** Files taken from the parent backup without being read. */
        public long filesReused() {
            return w.filesReused();
        }

        /** Chunks of changed files found equal to the parent's by their hash, without being chunked. */
        long chunksVerified() {
            return w.chunksVerified();
        }
    }

    /** Reads one store's artifacts back; thread-safe (each stream has its own table reader). */
    public final class Reader {
        private final String store;
        private final ChunkIndex index;
        private final Set<String> packsSeen = ConcurrentHashMap.newKeySet();

        private Reader(String store) throws IOException {
            this.store = store;
            this.index = new IndexStore(repo).load(repo.keys().shardName(store));
        }

        /**
         * The plain bytes of the artifact whose tree object is {@code treeKey}, chunks fetched a few ahead (memory:
         * {@link ContentStream#DEPTH} chunks). Before the first byte, the tree is checked against the manifest's size
         * and SHA-256, and the content table is read once to look every chunk up in the index and check that every
         * pack it needs exists. At the end, the table's SHA-256 is compared with {@code sha256}.
         *
         * @throws IntegrityException naming the tree, chunk or pack that is damaged or missing
         * @throws NoSuchObjectException if the tree object is missing
         */
        public InputStream open(String backupId, String treeKey, long treeSize, String treeSha256, String sha256) throws IOException {
            List<ChunkId> tableIds = TreeObject.load(repo, backupId, treeKey, treeSize, treeSha256);
            String where = "tree object " + treeKey;
            new TableInput(repo, index::get, tableIds, where).forEachChunk(c -> {
                IndexEntry e = index.get(c.id());
                if (e == null) {
                    throw new IntegrityException("chunk " + c.id() + " (tree object " + treeKey + ") is not in the index of store "
                            + store + "; the repository is missing index objects or packs");
                }
                if (!packsSeen.contains(e.pack())) {
                    if (repo.sink().stat(repo.layout().pack(e.pack())).isEmpty()) {
                        throw new IntegrityException("chunk " + c.id() + " is in pack " + e.pack() + ", which is missing from "
                                + repo.sink().uri());
                    }
                    packsSeen.add(e.pack());
                }
            });
            return new ContentStream(repo, new TableInput(repo, index::get, tableIds, where, true), index::get, sha256, where);
        }
    }
}
