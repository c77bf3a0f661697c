package dev.sgbackup.store.volume;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.BackupOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Streams a directory tree as one POSIX (PAX) tar. Depth-first, children sorted by name, directories before
 * their contents; memory holds the children of the directories on the current path (and the first name of
 * each multiply-linked file), never the whole tree.
 */
final class TarWriter {
    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;
    static final int S_IFIFO = 0010000;
    static final int S_IFSOCK = 0140000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;

    private static final int COPY_BUFFER = 1 << 20;

    private record FileKey(long dev, long ino) {
    }

    private record Frame(Path dir, String prefix, Iterator<String> children) {
    }

    private final Path root;
    private final Excludes excludes;
    private final BackupOutput out;
    private final byte[] buffer = new byte[COPY_BUFFER];
    private final ByteBuffer byteBuffer = ByteBuffer.wrap(buffer);
    private final Map<FileKey, String> firstNames = new HashMap<>();

    long files;
    long directories;
    long symlinks;
    long hardLinks;
    long bytes;
    long skipped;
    /** Files unchanged since the parent backup, not read (deduplicated backups). */
    long reused;
    /** The stream entries are marked in (a deduplicated backup's), or null. */
    private BackupOutput.ArtifactStream marks;
    private final java.io.ByteArrayOutputStream scratch = new java.io.ByteArrayOutputStream(1024);
    private final byte[] headerBlock = new byte[TarConstants.DEFAULT_RCDSIZE];
    private static final byte[] PADDING = new byte[TarConstants.DEFAULT_RCDSIZE];
    /**
     * The names of the headers {@link #header} formats itself are ASCII (it checks): this encodes them without the
     * charset encoder the library's UTF-8 encoding makes per name, once per file of an unchanged tree.
     */
    private static final org.apache.commons.compress.archivers.zip.ZipEncoding ASCII =
            new org.apache.commons.compress.archivers.zip.ZipEncoding() {
                @Override
                public boolean canEncode(String name) {
                    return true;
                }

                @Override
                public ByteBuffer encode(String name) {
                    return ByteBuffer.wrap(name.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }

                @Override
                public String decode(byte[] data) {
                    return new String(data, java.nio.charset.StandardCharsets.US_ASCII);
                }
            };

    TarWriter(Path root, Excludes excludes, BackupOutput out) {
        this.root = root;
        this.excludes = excludes;
        this.out = out;
    }

    /**
     * Writes the tar of the tree to {@code sink} and finishes the archive (does not close {@code sink}). The
     * walk, file reads and tar formatting run on this thread; for a full backup, writes into {@code sink} (the
     * engine's hashing and compression) on a second one; for a deduplicated one, straight into it, on this thread
     * (its file marks must fall between the right bytes).
     */
    void write(BackupOutput.ArtifactStream sink) throws IOException {
        if (out.deduplicated()) {
            // Entries are marked for deduplication: the marks must fall between the right bytes, so no queue, and
            // 512-byte blocks, so that every complete record has reached the stream when an entry is marked.
            marks = sink;
            writeTar(sink, TarConstants.DEFAULT_RCDSIZE);
            return;
        }
        WriteBehind behind = new WriteBehind(sink, "sgbackup-backup-" + root.getFileName());
        try {
            writeTar(behind, TarConstants.DEFAULT_BLKSIZE);
            behind.finish();
        } catch (IOException | RuntimeException | Error e) {
            behind.abort();
            throw e;
        }
    }

    private static TarArchiveOutputStream tar(OutputStream sink, int blockSize) {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(sink, blockSize, "UTF-8");
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
        return tar;
    }

    /**
     * The bytes the archive stream writes for {@code e}'s header: one ustar block when nothing needs a PAX record (an
     * ASCII name shorter than 100 bytes, sizes and ids in range: what {@code putArchiveEntry} writes then), else made
     * on a scratch stream (PAX records included).
     */
    private byte[] header(TarArchiveEntry e) throws IOException {
        String name = e.getName();
        boolean simple = name.length() < TarConstants.NAMELEN && e.getSize() <= TarConstants.MAXSIZE
                && e.getLongUserId() <= TarConstants.MAXID && e.getLongGroupId() <= TarConstants.MAXID;
        for (int i = 0; simple && i < name.length(); i++) {
            simple = name.charAt(i) < 0x80;
        }
        if (simple) {
            e.writeEntryHeader(headerBlock, ASCII, false);
            return headerBlock;
        }
        scratch.reset();
        tar(scratch, TarConstants.DEFAULT_RCDSIZE).putArchiveEntry(e); // dropped unfinished: it holds nothing else
        return scratch.toByteArray();
    }

    private void writeTar(OutputStream sink, int blockSize) throws IOException {
        TarArchiveOutputStream tar = tar(sink, blockSize);

        FileStat rootAttrs = FileStat.lstat(root);
        List<String> rootChildren = list(root, "");
        putEntry(tar, entry("./", TarConstants.LF_DIR, rootAttrs));
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(root, "", rootChildren.iterator()));
        while (!stack.isEmpty()) {
            Frame frame = stack.peek();
            if (!frame.children().hasNext()) {
                stack.pop();
                continue;
            }
            out.checkCancelled();
            String name = frame.children().next();
            String rel = frame.prefix() + name;
            if (excludes.excluded(rel, name)) {
                continue;
            }
            Path path = frame.dir().resolve(name);
            FileStat attrs;
            try {
                attrs = FileStat.lstat(path);
            } catch (NoSuchFileException e) {
                vanished(rel);
                continue;
            }
            int mode = attrs.mode();
            switch (mode & S_IFMT) {
                case S_IFDIR -> {
                    List<String> children;
                    try {
                        children = list(path, rel);
                    } catch (NoSuchFileException | NotDirectoryException e) {
                        vanished(rel + "/");
                        continue;
                    }
                    putEntry(tar, entry(rel + "/", TarConstants.LF_DIR, attrs));
                    directories++;
                    stack.push(new Frame(path, rel + "/", children.iterator()));
                }
                case S_IFREG -> writeFile(tar, path, rel, attrs);
                case S_IFLNK -> {
                    String target;
                    try {
                        target = Files.readSymbolicLink(path).toString();
                    } catch (NoSuchFileException e) {
                        vanished(rel);
                        continue;
                    }
                    if (target.indexOf('\uFFFD') >= 0) {
                        skipped++;
                        out.warn("skipped symbolic link " + rel + ": its target is not valid UTF-8");
                        continue;
                    }
                    TarArchiveEntry e = entry(rel, TarConstants.LF_SYMLINK, attrs);
                    e.setLinkName(target);
                    putEntry(tar, e);
                    symlinks++;
                }
                default -> {
                    skipped++;
                    out.warn("skipped " + kind(mode) + " " + rel + " (only files, directories and links are backed up)");
                }
            }
        }
        tar.finish();
    }

    private void writeFile(TarArchiveOutputStream tar, Path path, String rel, FileStat attrs)
            throws IOException {
        FileKey key = null;
        if (attrs.nlink() > 1) {
            key = new FileKey(attrs.dev(), attrs.ino());
            String first = firstNames.get(key);
            if (first != null) {
                TarArchiveEntry e = entry(rel, TarConstants.LF_LINK, attrs);
                e.setLinkName(first);
                putEntry(tar, e);
                hardLinks++;
                return;
            }
        }
        long size = attrs.size();
        BackupOutput.FileEntry marked = marks == null ? BackupOutput.FileEntry.NONE : marks.beginFile(rel, stamp(attrs));
        if (marked.reused()) {
            // unchanged since the parent backup: only the entry's header, written beside the archive stream (which
            // holds no partial record between entries); the parent's chunks stand in for content and padding
            TarArchiveEntry e = entry(rel, TarConstants.LF_NORMAL, attrs);
            e.setSize(size);
            marks.write(header(e));
            marked.content();
            marked.end();
            if (key != null) {
                firstNames.put(key, rel);
            }
            files++;
            bytes += size;
            reused++;
            return;
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            marked.end();
            vanished(rel);
            return;
        } catch (AccessDeniedException e) {
            throw new StoreException("cannot read " + path + ": permission denied; run the backup as a user that"
                    + " can read the whole volume (or exclude it)", e);
        }
        try (channel) {
            TarArchiveEntry e = entry(rel, TarConstants.LF_NORMAL, attrs);
            e.setSize(size);
            // marked (a dedup backup): the entry goes beside the archive stream, in large writes, rather than through
            // its 512-byte records; the stream holds no partial record between entries, so the bytes are the same
            OutputStream to = marks != null ? marks : tar;
            if (marks != null) {
                marks.write(header(e));
            } else {
                tar.putArchiveEntry(e);
            }
            marked.content();
            long remaining = size;
            while (remaining > 0) {
                byteBuffer.clear().limit((int) Math.min(buffer.length, remaining));
                int n = channel.read(byteBuffer);
                if (n < 0) {
                    throw sizeChanged(path, size, "shrank to " + (size - remaining) + " bytes");
                }
                to.write(buffer, 0, n);
                remaining -= n;
            }
            byteBuffer.clear().limit(1);
            if (channel.read(byteBuffer) > 0) {
                throw sizeChanged(path, size, "grew");
            }
            if (marks != null) {
                int pad = (int) ((TarConstants.DEFAULT_RCDSIZE - size % TarConstants.DEFAULT_RCDSIZE) % TarConstants.DEFAULT_RCDSIZE);
                marks.write(PADDING, 0, pad);
            } else {
                tar.closeArchiveEntry();
            }
            marked.end();
        }
        if (key != null) {
            firstNames.put(key, rel);
        }
        files++;
        bytes += size;
    }

    /** What identifies the file's content without reading it (see {@link BackupOutput.FileStamp}). */
    static BackupOutput.FileStamp stamp(FileStat attrs) {
        return new BackupOutput.FileStamp(attrs.size(), attrs.mtimeNanos(), attrs.ctimeNanos(), attrs.ino());
    }

    private static StoreException sizeChanged(Path path, long size, String how) {
        return new StoreException("file " + path + " changed size while it was read (was " + size + " bytes, "
                + how + "); stop whatever writes to the volume (or exclude the file) and run the backup again");
    }

    private void vanished(String rel) {
        skipped++;
        out.warn("vanished during the backup, skipped: " + rel);
    }

    private void putEntry(TarArchiveOutputStream tar, TarArchiveEntry e) throws IOException {
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    /** Lists the names in {@code dir}, sorted; names that are not valid in this JVM's encoding are skipped. */
    private List<String> list(Path dir, String rel) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path child : stream) {
                String name = child.getFileName().toString();
                if (name.indexOf('\uFFFD') >= 0) {
                    skipped++;
                    out.warn("skipped " + rel + (rel.isEmpty() ? "" : "/") + name
                            + ": its name is not valid UTF-8 and cannot be read back by name");
                    continue;
                }
                names.add(name);
            }
        } catch (AccessDeniedException e) {
            throw new StoreException("cannot list " + dir + ": permission denied; run the backup as a user that"
                    + " can read the whole volume (or exclude it)", e);
        }
        names.sort(null);
        return names;
    }

    static TarArchiveEntry entry(String name, byte type, FileStat attrs) {
        TarArchiveEntry e = new TarArchiveEntry(name, type, true);
        int mode = attrs.mode();
        e.setMode((mode & S_IFMT) | (mode & 07777));
        e.setUserId(attrs.uid());
        e.setGroupId(attrs.gid());
        e.setUserName("");
        e.setGroupName("");
        // Whole seconds, as GNU tar's default format: sub-second times would add a PAX header to every entry.
        e.setModTime(FileTime.fromMillis(Math.floorDiv(attrs.mtimeMillis(), 1000L) * 1000L));
        return e;
    }

    static String kind(int mode) {
        return switch (mode & S_IFMT) {
            case S_IFIFO -> "FIFO";
            case S_IFSOCK -> "socket";
            case S_IFCHR -> "character device";
            case S_IFBLK -> "block device";
            default -> "special file";
        };
    }
}
