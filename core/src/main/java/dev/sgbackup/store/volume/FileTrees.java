package dev.sgbackup.store.volume;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/** Tree operations that never follow symbolic links and never hold a whole tree in memory. */
final class FileTrees {
    private static final int BATCH = 1024;
    private static final Set<PosixFilePermission> OWNER_RWX = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

    private FileTrees() {
    }

    /** Deletes {@code path} and, if it is a real directory, everything in it. Symlinks are deleted, not followed. */
    static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(path, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                // a restored read-only directory (0555) would stop a non-root user from emptying it
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
                if (!perms.containsAll(OWNER_RWX)) {
                    perms.addAll(OWNER_RWX);
                    Files.setPosixFilePermissions(dir, perms);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                if (exc instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw exc;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /**
     * Renames every child of {@code from} that {@code skip} does not match into {@code to} (same file system:
     * one atomic rename each). Lists in batches and re-lists, so a directory is never read while it changes.
     *
     * @return how many entries were moved
     */
    static long moveChildren(Path from, Path to, Predicate<Path> skip) throws IOException {
        long moved = 0;
        while (true) {
            List<Path> batch = new ArrayList<>();
            try (DirectoryStream<Path> stream = Files.newDirectoryStream(from)) {
                for (Path child : stream) {
                    if (!skip.test(child)) {
                        batch.add(child);
                        if (batch.size() == BATCH) {
                            break;
                        }
                    }
                }
            }
            if (batch.isEmpty()) {
                return moved;
            }
            for (Path child : batch) {
                Files.move(child, to.resolve(child.getFileName().toString()), StandardCopyOption.ATOMIC_MOVE);
                moved++;
            }
        }
    }

    /**
     * Makes everything written under {@code root} durable, once, after all of it was written (never a sync per
     * file while extracting). First choice: {@code sync -f root}, i.e. syncfs(2) of root's file system, which
     * flushes all of it with one device cache flush, as {@code tar -x && sync} does. Java has no syncfs, hence
     * the coreutils process. Where that is missing (a distroless image), a streaming pass fsyncs each file and
     * directory instead: correct, but slower, as each fsync flushes the device cache again.
     */
    static void sync(Path root) throws IOException {
        if (!syncFileSystem(root)) {
            fsyncTree(root);
        }
    }

    /** Runs {@code sync -f dir}; false if that is not possible here (no coreutils sync, or an old one). */
    static boolean syncFileSystem(Path dir) {
        try {
            Process p = new ProcessBuilder("sync", "-f", dir.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.sgbackup.run.CancelledException("restore interrupted while syncing " + dir, e);
        }
    }

    /** fsync of every regular file and directory under {@code root}, streaming (nothing collected). */
    static void fsyncTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    force(file);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                force(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** fsync of one file or directory (Linux allows it on a read-only descriptor). */
    static void force(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Up to {@code max} names in {@code dir} that {@code ignore} does not match. */
    static List<String> someChildren(Path dir, int max, Predicate<Path> ignore) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path child : stream) {
                if (!ignore.test(child)) {
                    names.add(child.getFileName().toString());
                    if (names.size() == max) {
                        break;
                    }
                }
            }
        }
        return names;
    }
}
