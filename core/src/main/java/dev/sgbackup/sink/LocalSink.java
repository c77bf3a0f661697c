package dev.sgbackup.sink;

import dev.sgbackup.run.SinkException;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A sink in a local directory. Writes go to a temp file under {@code <root>/.sgbackup-tmp/}, are fsynced,
 * then renamed atomically into place (and the directory fsynced), so a crash never leaves half an object
 * under its key.
 */
final class LocalSink implements BackupSink {
    static final String TMP_DIR = ".sgbackup-tmp";
    private final Path root;
    private final int pageSize;

    LocalSink(Path root, int pageSize) {
        this.root = root.toAbsolutePath().normalize();
        this.pageSize = pageSize;
        if (Files.exists(this.root) && !Files.isDirectory(this.root)) {
            throw new SinkException("cannot use " + this.root + " as a backup location: it is a file, not a directory");
        }
    }

    /** The temp directory, created on first write only, so that opening a sink (e.g. to plan) writes nothing. */
    private Path tmpDir() throws IOException {
        Path tmp = root.resolve(TMP_DIR);
        try {
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new IOException("cannot write to the backup location " + root + " (" + e
                    + "); create the directory and make it writable for this user", e);
        }
        return tmp;
    }

    @Override
    public URI uri() {
        return root.toUri();
    }

    private Path path(String key) {
        return root.resolve(Keys.check(key));
    }

    @Override
    public PendingObject create(String key) throws IOException {
        Path target = path(key);
        // the temp name carries the key, so stale uploads can be removed by key prefix
        Path tmp = tmpDir().resolve(key.replace('/', '+') + "." + UUID.randomUUID() + ".part");
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new LocalPending(target, tmp, ch);
    }

    /** Moves {@code file} into place (fsynced first, then an atomic rename); false if it is on another file system. */
    @Override
    public boolean adopt(String key, Path file) throws IOException {
        Path target = path(key);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            moveIntoPlace(file, target);
        } catch (AtomicMoveNotSupportedException e) {
            return false; // another file system: the caller copies
        }
        return true;
    }

    /** Renames an fsynced file to {@code target} atomically, creating its directory, then fsyncs that directory. */
    private static void moveIntoPlace(Path file, Path target) throws IOException {
        inParent(target, file, () -> Files.move(file, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING));
        fsyncDir(target.getParent());
    }

    private static final class LocalPending implements PendingObject {
        private final Path target;
        private final Path tmp;
        private final FileChannel channel;
        private final OutputStream stream;
        private boolean committed;
        private boolean closed;

        LocalPending(Path target, Path tmp, FileChannel channel) {
            this.target = target;
            this.tmp = tmp;
            this.channel = channel;
            this.stream = new BufferedOutputStream(new FilterOutputStream(Channels.newOutputStream(channel)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() {
                    // closing the user-visible stream must not close the channel before commit
                }
            }, 1 << 16);
        }

        @Override
        public OutputStream stream() {
            return stream;
        }

        @Override
        public synchronized void commit() throws IOException {
            if (committed) {
                return;
            }
            if (closed) {
                throw new IOException("cannot commit " + target.getFileName() + ": already aborted");
            }
            stream.flush();
            channel.force(true);
            channel.close();
            try {
                moveIntoPlace(tmp, target);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the backup directory does not support atomic renames: " + e.getMessage(), e);
            }
            committed = true;
        }

        @Override
        public synchronized void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            if (!committed) {
                try {
                    channel.close();
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }
    }

    /**
     * Writes the bytes to a fsynced temp file, then hard-links it to the key: {@code link(2)} fails when the name
     * exists, so exactly one of several writers (processes included, on one host or over NFSv3+) creates it, and
     * readers never see a partial object. A file system without hard links is refused rather than raced.
     */
    @Override
    public boolean putIfAbsent(String key, byte[] content) throws IOException {
        Path target = path(key);
        Path tmp = tmpDir().resolve(key.replace('/', '+') + "." + UUID.randomUUID() + ".part");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(content);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                inParent(target, tmp, () -> Files.createLink(target, tmp));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
                throw new UnsupportedOperationException(uri() + ": cannot hard-link " + key + " (" + e.getClass().getSimpleName()
                        + "): on a file system without hard links sgbackup cannot create an object only if it is absent", e);
            }
            fsyncDir(target.getParent());
            return true;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public boolean conditionalCreate() {
        return true;
    }

    private interface PathOp {
        Path run() throws IOException;
    }

    /**
     * Creates {@code target}'s parent directories, then runs {@code op} (the rename or link that places
     * {@code source} there). {@link #delete} removes parents it leaves empty, so a concurrent delete may take a
     * directory away between the two: seen as a directory that existed and then did not (createDirectories), or a
     * missing file (the rename or link, while {@code source} is still there). Both are retried, up to 100 times;
     * anything else is thrown.
     */
    private static void inParent(Path target, Path source, PathOp op) throws IOException {
        Path parent = target.getParent();
        for (int attempt = 1; ; attempt++) {
            try {
                Files.createDirectories(parent);
                op.run();
                return;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt >= 100 || e.getFile() == null || !parent.startsWith(Path.of(e.getFile()))) {
                    throw e; // the target exists (a link), or a parent is a file
                }
            } catch (NoSuchFileException e) {
                if (attempt >= 100 || !Files.exists(source)) {
                    throw e;
                }
            }
        }
    }

    static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems do not allow fsync on directories; the rename is still atomic
        }
    }

    @Override
    public InputStream read(String key) throws IOException {
        try {
            return Files.newInputStream(path(key));
        } catch (NoSuchFileException e) {
            throw new NoSuchObjectException(key, uri().toString());
        }
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(path(key), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchObjectException(key, uri().toString());
        }
        ch.position(Math.min(offset, ch.size()));
        return new LimitedInputStream(Channels.newInputStream(ch), length);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        Path p = path(key);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                return Optional.empty();
            }
            return Optional.of(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public ListPage list(String prefix, String pageToken) throws IOException {
        Keys.checkPrefix(prefix);
        // Start at the deepest directory the prefix names, walk it and keep the next page of keys only.
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        TreeSet<String> page = new TreeSet<>();
        if (Files.isDirectory(start)) {
            Files.walkFileTree(start, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    if (!dir.equals(start) && dir.getFileName().toString().startsWith(".")) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (!attrs.isRegularFile() || file.getFileName().toString().startsWith(".")) {
                        return FileVisitResult.CONTINUE;
                    }
                    String key = root.relativize(file).toString().replace('\\', '/');
                    if (key.startsWith(prefix) && (pageToken == null || key.compareTo(pageToken) > 0)) {
                        page.add(key);
                        if (page.size() > pageSize + 1) {
                            page.pollLast();
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    if (exc instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE; // deleted while listing
                    }
                    throw exc;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    if (exc != null && !(exc instanceof NoSuchFileException)) {
                        throw exc;
                    }
                    return FileVisitResult.CONTINUE; // a directory a delete emptied and removed while listing
                }
            });
        }
        String next = null;
        if (page.size() > pageSize) {
            page.pollLast();
            next = page.last();
        }
        List<ObjectInfo> objects = new ArrayList<>(page.size());
        for (String key : page) {
            stat(key).ifPresent(objects::add);
        }
        return new ListPage(objects, next);
    }

    @Override
    public void delete(String key) throws IOException {
        Path p = path(key);
        Files.deleteIfExists(p);
        // remove empty parent directories up to the root, so deleted backups leave no empty trees
        Path dir = p.getParent();
        while (dir != null && !dir.equals(root) && dir.startsWith(root)) {
            try {
                Files.delete(dir);
            } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                break;
            }
            dir = dir.getParent();
        }
    }

    @Override
    public int removeStaleUploads(String prefix, Duration gracePeriod) throws IOException {
        int n = 0;
        Instant cutoff = Instant.now().minus(gracePeriod);
        Path tmpDir = root.resolve(TMP_DIR);
        if (!Files.isDirectory(tmpDir)) {
            return 0;
        }
        String namePrefix = prefix.replace('/', '+');
        try (var s = Files.list(tmpDir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.getFileName().toString().startsWith(namePrefix)
                        && !Files.getLastModifiedTime(p).toInstant().isAfter(cutoff) && Files.deleteIfExists(p)) {
                    n++;
                }
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "LocalSink[" + root + "]";
    }
}
