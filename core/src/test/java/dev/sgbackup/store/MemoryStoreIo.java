package dev.sgbackup.store;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;

/**
 * The one {@link BackupOutput} / {@link RestoreInput} test double for store tests (in core's tests jar, so adapters
 * can use it too). It records artifacts as the engine does — real size and SHA-256, attributes copied when the
 * artifact is opened — and its restore streams verify at end-of-stream, throwing {@link IntegrityException} instead
 * of returning -1 when an artifact was damaged or truncated ({@link #damage}, {@link #truncate}).
 *
 * <p>Bytes stay on the heap; {@link #inDirectory} keeps them in files instead, for artifacts of hundreds of MB.
 * Thread-safe, so stores can write artifacts in parallel.
 */
public final class MemoryStoreIo implements BackupOutput {
    public final Map<String, String> properties = Collections.synchronizedMap(new LinkedHashMap<>());
    public final List<ArtifactInfo> artifacts = new CopyOnWriteArrayList<>();
    /** Warnings from the backup and from every restore input made here. */
    public final List<String> warnings = new CopyOnWriteArrayList<>();
    /** Names of the artifacts the store aborted. */
    public final List<String> aborted = new CopyOnWriteArrayList<>();
    /** Called at each checkCancelled(), with the call count: lets a test change the source mid-backup. */
    public volatile IntConsumer onCheck = n -> { };
    /** Called before each write to an artifact, with the bytes written to it so far. */
    public volatile LongConsumer onWrite = n -> { };

    private final String kind;
    private final int parallelism;
    private final Path dir;
    private final Map<String, byte[]> heap = new ConcurrentHashMap<>();
    private final AtomicInteger sequence = new AtomicInteger();
    private final AtomicInteger checks = new AtomicInteger();
    private volatile boolean cancelled;

    private MemoryStoreIo(String kind, int parallelism, Path dir) {
        this.kind = kind;
        this.parallelism = parallelism;
        this.dir = dir;
    }

    /** Bytes on the heap; parallelism 1. {@code kind} is what {@link #storeBackup} records. */
    public MemoryStoreIo(String kind) {
        this(kind, 1, null);
    }

    public MemoryStoreIo(String kind, int parallelism) {
        this(kind, parallelism, null);
    }

    /** Bytes in files under {@code dir} (which must exist), so large artifacts do not fill the heap. */
    public static MemoryStoreIo inDirectory(String kind, Path dir) {
        return new MemoryStoreIo(kind, 1, dir);
    }

    /** A store of one artifact {@code name} holding the bytes of {@code file}, as if a store had written it. */
    public static MemoryStoreIo of(String kind, String name, Path file) throws IOException {
        MemoryStoreIo io = new MemoryStoreIo(kind);
        try (ArtifactStream out = io.artifact(name); InputStream in = Files.newInputStream(file)) {
            in.transferTo(out);
        }
        return io;
    }

    @Override
    public ArtifactStream artifact(String name, Map<String, String> attrs) throws IOException {
        Map<String, String> attributes = Map.copyOf(attrs); // as the engine does
        String key = "data/" + sequence.getAndIncrement() + "-" + name.replace('/', '_');
        OutputStream os = dir == null ? new ByteArrayOutputStream()
                : new BufferedOutputStream(Files.newOutputStream(file(key)), 1 << 16);
        MessageDigest sha = sha256();
        return new ArtifactStream() {
            long size;
            boolean done;

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                onWrite.accept(size);
                os.write(b, off, len);
                sha.update(b, off, len);
                size += len;
            }

            @Override
            public void close() throws IOException {
                if (done) {
                    return;
                }
                done = true;
                os.close();
                if (os instanceof ByteArrayOutputStream buf) {
                    heap.put(key, buf.toByteArray());
                }
                String hex = HexFormat.of().formatHex(sha.digest());
                artifacts.add(new ArtifactInfo(name, key, size, hex, size, hex, List.of(), attributes));
            }

            @Override
            public void abort() {
                done = true;
                aborted.add(name);
                try {
                    os.close();
                    if (dir != null) {
                        Files.deleteIfExists(file(key));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    @Override
    public void property(String key, String value) {
        properties.put(key, value);
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
    }

    @Override
    public int parallelism() {
        return parallelism;
    }

    @Override
    public void checkCancelled() {
        onCheck.accept(checks.incrementAndGet());
        if (cancelled) {
            throw new CancelledException("cancelled by the test");
        }
    }

    /** From now on checkCancelled() of this output and of its restore inputs throws {@link CancelledException}. */
    public void cancel() {
        cancelled = true;
    }

    /** What the engine would record for this store. */
    public StoreBackup storeBackup(String name) {
        return new StoreBackup(name, kind, "test", properties, artifacts, warnings);
    }

    public Input input(String name, RestoreOptions options) {
        return input(storeBackup(name), options);
    }

    /** A restore of {@code backup}, whose artifacts are read from here. */
    public Input input(StoreBackup backup, RestoreOptions options) {
        return new Input(backup, options);
    }

    /** The first recorded artifact called {@code name}. */
    public ArtifactInfo recorded(String name) {
        return artifacts.stream().filter(a -> a.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no artifact " + name + " in " + artifacts));
    }

    /** The stored bytes of artifact {@code name} (a copy). */
    public byte[] bytes(String name) throws IOException {
        String key = recorded(name).key();
        return dir == null ? heap.get(key).clone() : Files.readAllBytes(file(key));
    }

    public String text(String name) throws IOException {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    /** The file holding artifact {@code a}; only for {@link #inDirectory}. */
    public Path file(ArtifactInfo a) {
        if (dir == null) {
            throw new IllegalStateException("artifacts are on the heap; use MemoryStoreIo.inDirectory for files");
        }
        return file(a.key());
    }

    /** Flips a bit in the middle of artifact {@code name}: same size, other SHA-256. */
    public void damage(String name) throws IOException {
        damage(name, recorded(name).size() / 2);
    }

    /** Flips the lowest bit of the byte at {@code at} in artifact {@code name}. */
    public void damage(String name, long at) throws IOException {
        byte[] b = bytes(name);
        b[Math.toIntExact(at)] ^= 1;
        replace(name, b);
    }

    /** Cuts artifact {@code name} to its first {@code size} bytes. */
    public void truncate(String name, long size) throws IOException {
        replace(name, java.util.Arrays.copyOf(bytes(name), Math.toIntExact(size)));
    }

    private void replace(String name, byte[] content) throws IOException {
        String key = recorded(name).key();
        if (dir == null) {
            heap.put(key, content);
        } else {
            Files.write(file(key), content);
        }
    }

    private Path file(String key) {
        return dir.resolve(key.substring("data/".length()));
    }

    private InputStream stored(String key) throws IOException {
        if (dir != null) {
            return Files.newInputStream(file(key));
        }
        byte[] b = heap.get(key);
        if (b == null) {
            throw new IOException("no stored artifact " + key);
        }
        return new ByteArrayInputStream(b);
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A {@link RestoreInput} over the artifacts stored in the enclosing {@link MemoryStoreIo}. */
    public final class Input implements RestoreInput {
        private final StoreBackup backup;
        private final RestoreOptions options;
        private final AtomicInteger opens = new AtomicInteger();
        /** How many artifacts were opened. */
        public volatile int opened;

        private Input(StoreBackup backup, RestoreOptions options) {
            this.backup = backup;
            this.options = options;
        }

        @Override
        public StoreBackup backup() {
            return backup;
        }

        @Override
        public InputStream open(ArtifactInfo artifact) throws IOException {
            opened = opens.incrementAndGet();
            return new VerifyingStream(stored(artifact.key()), artifact);
        }

        @Override
        public RestoreOptions options() {
            return options;
        }

        @Override
        public void warn(String message) {
            warnings.add(message);
        }

        @Override
        public int parallelism() {
            return parallelism;
        }

        @Override
        public void checkCancelled() {
            MemoryStoreIo.this.checkCancelled();
        }
    }

    /** Like the engine's stream: hashes what is read and at the end throws instead of -1 when it differs. */
    private static final class VerifyingStream extends FilterInputStream {
        private final ArtifactInfo artifact;
        private final MessageDigest sha = sha256();
        private long size;
        private boolean verified;

        VerifyingStream(InputStream in, ArtifactInfo artifact) {
            super(in);
            this.artifact = artifact;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n < 0) {
                if (!verified) {
                    String hex = HexFormat.of().formatHex(sha.digest());
                    if (size != artifact.size() || !hex.equals(artifact.sha256())) {
                        throw new IntegrityException("artifact " + artifact.name() + " is damaged: " + size
                                + " bytes with SHA-256 " + hex + ", recorded " + artifact.size() + " bytes with "
                                + artifact.sha256());
                    }
                    verified = true;
                }
                return -1;
            }
            sha.update(b, off, n);
            size += n;
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(n, 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
