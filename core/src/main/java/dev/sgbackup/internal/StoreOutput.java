package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import dev.sgbackup.transform.Transform;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The artifact pipeline of a backup: the {@link BackupOutput} one store writes to. Each artifact's bytes flow
 * plain → SHA-256 and count → compression → encryption (with the backup's data key) → SHA-256 and count → a
 * pending sink object, which is committed when the store closes the stream. In a deduplicated backup, plain → SHA-256
 * and count → the store's chunk writer instead, and closing writes the artifact's tree object. What was committed
 * (artifact objects, tree objects; never packs, which other backups may share) is recorded in {@code written} so a
 * failed run can remove it.
 */
final class StoreOutput implements BackupOutput {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final BackupSink sink;
    private final Compression compression;
    private final int parallelism;
    private final String id;
    private final DataStore store;
    private final Progress progress;
    private final Set<String> written;
    private final Encryption.DataKey dataKey;
    private final int ordinal;
    private final AtomicInteger seq = new AtomicInteger();
    final List<ArtifactInfo> artifacts = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, String> properties = Collections.synchronizedMap(new TreeMap<>());
    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
    private final Set<Open> open = ConcurrentHashMap.newKeySet();
    private volatile boolean aborted;
    private final DedupRepository.Writer dedup;
    private final Map<String, DedupRepository.Parent> parents;

    /**
     * @param ordinal the store's position in the plan (from 1); it names the store in opaque (encrypted) artifact keys
     */
    StoreOutput(BackupSink sink, Compression compression, int parallelism, String id, DataStore store, Progress progress,
                Set<String> written, Encryption.DataKey dataKey, int ordinal) {
        this(sink, compression, parallelism, id, store, progress, written, dataKey, ordinal, null, Map.of());
    }

    /**
     * @param dedup   the store's writer into the deduplicated repository (a dedup backup), or null (a full backup)
     * @param parents the same store's artifacts in its parent backup, by name (a dedup backup; may be empty)
     */
    StoreOutput(BackupSink sink, Compression compression, int parallelism, String id, DataStore store, Progress progress,
                Set<String> written, Encryption.DataKey dataKey, int ordinal, DedupRepository.Writer dedup,
                Map<String, DedupRepository.Parent> parents) {
        this.dedup = dedup;
        this.parents = parents;
        this.sink = sink;
        this.compression = compression;
        this.parallelism = parallelism;
        this.id = id;
        this.store = store;
        this.progress = progress;
        this.written = written;
        this.dataKey = dataKey;
        this.ordinal = ordinal;
    }

    @Override
    public ArtifactStream artifact(String name, Map<String, String> attributes) throws IOException {
        checkCancelled();
        Pipeline.checkAttributes(attributes);
        if (dedup != null) {
            Chunked a = new Chunked(name, Map.copyOf(attributes), dedup.artifact(id, parents.get(name)));
            open.add(a);
            progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, store.name(), name, null);
            return a;
        }
        Transform t = compression.transform();
        String suffix = t == null ? "" : "." + (t.id().equals("zstd") ? "zst" : "gz");
        List<Transform> chain = new ArrayList<>();
        if (t != null) {
            chain.add(t);
        }
        String key;
        if (dataKey != null) {
            chain.add(dataKey.transform()); // encrypt last: [compression, encryption]
            key = Layout.opaqueArtifactKey(id, ordinal, seq.incrementAndGet()); // names stay in the sealed manifest
        } else {
            key = Layout.artifactKey(id, store.name(), seq.incrementAndGet(), name, suffix);
        }
        PendingObject pending = sink.create(key);
        Artifact a;
        try {
            a = new Artifact(name, key, Map.copyOf(attributes), pending, chain);
        } catch (IOException | RuntimeException e) {
            pending.close();
            throw e;
        }
        open.add(a);
        progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, store.name(), name, null);
        return a;
    }

    @Override
    public void property(String key, String value) {
        properties.put(key, value);
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
        progress.emit(ProgressEvent.Type.WARNING, store.name(), null, message);
    }

    @Override
    public boolean deduplicated() {
        return dedup != null;
    }

    @Override
    public int parallelism() {
        return parallelism;
    }

    @Override
    public void checkCancelled() {
        if (Thread.currentThread().isInterrupted() || aborted) {
            throw new CancelledException("backup cancelled; nothing was committed");
        }
    }

    /** What the store wrote, once it has returned; refuses a store that left an artifact open. */
    StoreBackup finish() {
        if (!open.isEmpty()) {
            throw new StoreException("store '" + store.name() + "' returned with " + open.size()
                    + " artifact(s) still open; this is a bug in the store: every artifact stream must be closed");
        }
        List<ArtifactInfo> list = new ArrayList<>(artifacts);
        list.sort(Comparator.comparing(ArtifactInfo::key));
        return new StoreBackup(store.name(), store.kind().id(), store.describe(), properties, list, warnings);
    }

    /** Aborts every artifact still open (their pending objects are discarded, never committed). */
    void abortAll() {
        aborted = true;
        for (Open a : open) {
            a.abort();
        }
    }

    /** One artifact being written: what is common to both kinds, plain hash and size, bookkeeping, abort. */
    private abstract class Open extends BackupOutput.ArtifactStream {
        final String name;
        final Map<String, String> attributes;
        Pipeline.MeasuringOutputStream plain;
        private boolean closed;

        Open(String name, Map<String, String> attributes) {
            this.name = name;
            this.attributes = attributes;
        }

        @Override
        public void write(int b) throws IOException {
            plain.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (aborted) {
                throw new CancelledException("backup aborted");
            }
            plain.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            plain.flush();
        }

        /** Finishes the stored form once the plain stream is closed; returns what the manifest records. */
        abstract ArtifactInfo commit() throws IOException;

        /** Discards what was not committed. */
        abstract void discard() throws IOException;

        @Override
        public synchronized void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            ArtifactInfo info;
            try {
                info = commit();
            } catch (IOException | RuntimeException e) {
                open.remove(this);
                discard();
                throw e;
            }
            discard();
            open.remove(this);
            artifacts.add(info);
            progress.artifacts.incrementAndGet();
            progress.emit(ProgressEvent.Type.ARTIFACT_FINISHED, store.name(), name, null);
        }

        @Override
        public synchronized void abort() {
            if (closed) {
                return;
            }
            closed = true;
            open.remove(this);
            try {
                discard();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "aborting artifact " + name + " of store " + store.name() + " failed: " + e.getMessage());
            }
        }
    }

    /** One artifact of a full backup: plain hash → compression → encryption → stored hash → pending object. */
    private final class Artifact extends Open {
        private final String key;
        private final PendingObject pending;
        private final Pipeline.MeasuringOutputStream stored;
        private final List<String> transforms;

        Artifact(String name, String key, Map<String, String> attributes, PendingObject pending, List<Transform> ts)
                throws IOException {
            super(name, attributes);
            this.key = key;
            this.pending = pending;
            this.stored = new Pipeline.MeasuringOutputStream(Pipeline.nonClosing(pending.stream()), n -> { });
            OutputStream chain = stored;
            List<String> ids = new ArrayList<>();
            for (int i = ts.size() - 1; i >= 0; i--) {
                chain = ts.get(i).wrap(chain, new Transform.ArtifactContext(id, key));
                ids.add(0, ts.get(i).id());
            }
            this.transforms = ids;
            this.plain = new Pipeline.MeasuringOutputStream(chain, n -> progress.add(store.name(), n));
        }

        @Override
        ArtifactInfo commit() throws IOException {
            plain.close(); // finishes the transforms; the sink stream is only flushed
            pending.commit();
            written.add(key);
            return new ArtifactInfo(name, key, plain.count(), plain.sha256(), stored.count(), stored.sha256(), transforms, attributes);
        }

        @Override
        void discard() throws IOException {
            pending.close();
        }
    }

    /**
     * One artifact of a deduplicated backup: plain bytes → the repository's chunker (new chunks into the store's
     * packs; files the store marks and that are unchanged since the parent backup are taken from it unread); closing
     * writes the artifact's tree object, which the manifest references. Its {@code sha256} is that of its content
     * table (whose chunks are checked against their ids as they are read), not of bytes it may never have read.
     */
    private final class Chunked extends Open {
        private final DedupRepository.Artifact chunks;

        Chunked(String name, Map<String, String> attributes, DedupRepository.Artifact chunks) {
            super(name, attributes);
            this.chunks = chunks;
            this.plain = new Pipeline.MeasuringOutputStream(chunks, n -> progress.add(store.name(), n), false);
        }

        @Override
        public BackupOutput.FileEntry beginFile(String path, BackupOutput.FileStamp stamp) throws IOException {
            return chunks.beginFile(path, stamp); // plain only counts: no byte waits in it
        }

        @Override
        ArtifactInfo commit() throws IOException {
            plain.close(); // cuts the last chunks, writes the tree object
            written.add(chunks.treeKey());
            return new ArtifactInfo(name, chunks.treeKey(), chunks.size(), chunks.sha256(), chunks.treeSize(), chunks.treeSha256(),
                    List.of(DedupRepository.TRANSFORM_ID), attributes,
                    new ArtifactInfo.Chunks(chunks.chunks(), chunks.newBytes(), chunks.reusedBytes()));
        }

        @Override
        void discard() {
            // chunks already stored stay, unreferenced; the store's writer drops its open pack on abort
        }
    }
}
