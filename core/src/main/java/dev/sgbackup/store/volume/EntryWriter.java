package dev.sgbackup.store.volume;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.store.RestoreInput;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Writes the entries of one volume tar into a staging directory: files, directories, symbolic and hard links
 * with their mode, owner (as root) and time, each only after {@link EntryPolicy} accepted it. Reads the archive
 * to its real end, where the engine's stream checks its size and hash; moving the result into place is
 * {@link TarRestore}'s job.
 */
final class EntryWriter implements EntryPolicy.Stage {
    /** Mode, owner and time of a directory entry, applied once the archive has moved past the directory. */
    record DirAttrs(String rel, Path path, int mode, long uid, long gid, FileTime mtime) {
    }

    private final String storeName;
    private final Path stage;
    private final RestoreInput in;
    private final EntryPolicy policy;
    private final byte[] buffer = new byte[1 << 20];
    @SuppressWarnings("unchecked")
    private final FileAttribute<Set<PosixFilePermission>>[] createModes = new FileAttribute[512];
    private final Deque<DirAttrs> pendingDirs = new ArrayDeque<>();

    private DirAttrs rootAttrs;
    private boolean chown;
    private int myUid;
    private int myGid;
    private int umask = 022;

    long entries;
    long bytes;

    EntryWriter(String storeName, Path stage, RestoreInput in) {
        this.storeName = storeName;
        this.stage = stage;
        this.in = in;
        this.policy = new EntryPolicy(storeName, this);
    }

    @Override
    public EntryPolicy.Existing at(String rel) throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(stage.resolve(rel), BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return a.isSymbolicLink() ? EntryPolicy.Existing.SYMLINK
                    : a.isDirectory() ? EntryPolicy.Existing.DIRECTORY : EntryPolicy.Existing.OTHER;
        } catch (NoSuchFileException missing) {
            return EntryPolicy.Existing.MISSING;
        }
    }

    @Override
    public void makeDirectory(String rel) throws IOException {
        Files.createDirectory(stage.resolve(rel));
    }

    /** The archive's own entry for the target directory, if it had one (applied after the swap). */
    DirAttrs rootAttrs() {
        return rootAttrs;
    }

    /** Learns who we are and the umask, to skip chown and chmod calls that would change nothing. */
    void probeProcess() throws IOException {
        myUid = (Integer) Files.getAttribute(stage, "unix:uid");
        myGid = (Integer) Files.getAttribute(stage, "unix:gid");
        chown = myUid == 0;
        Path probe = stage.resolve(".umask-probe");
        Files.createDirectory(probe, PosixFilePermissions.asFileAttribute(EnumSet.allOf(PosixFilePermission.class)));
        try {
            umask = ~((Integer) Files.getAttribute(probe, "unix:mode")) & 0777;
        } finally {
            Files.delete(probe);
        }
    }

    /** Extracts every entry of {@code raw} into the stage and reads it to its end. */
    void extract(InputStream raw, Path target) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(buffered, "UTF-8");
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            in.checkCancelled();
            EntryPolicy.Decision d = policy.decide(e);
            String rel = d.rel();
            completeDirsOutside(rel);
            entries++;
            switch (d.action()) {
                case ROOT -> {
                    if (e.isDirectory()) {
                        rootAttrs = new DirAttrs("", target, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
                                e.getLastModifiedTime());
                    }
                }
                case SYMLINK -> symlink(e, rel);
                case HARD_LINK -> hardLink(e, rel, d.linkRel());
                case DIRECTORY -> directory(e, rel);
                case FILE -> file(tar, e, rel);
                case SKIP -> in.warn(d.warning());
            }
        }
        completeDirsOutside(null);
        // Read to the real end: the engine's stream checks size and hash there, before anything is moved.
        buffered.transferTo(OutputStream.nullOutputStream());
    }

    /** Applies the mode and time of finished directories: those that cannot contain {@code rel}. */
    private void completeDirsOutside(String rel) throws IOException {
        while (!pendingDirs.isEmpty()) {
            DirAttrs top = pendingDirs.peek();
            if (rel != null && rel.length() > top.rel().length() && rel.startsWith(top.rel())
                    && rel.charAt(top.rel().length()) == '/') {
                return;
            }
            pendingDirs.pop();
            applyAttrs(top.path(), top.mode(), top.uid(), top.gid(), top.mtime(), false);
        }
    }

    private Path place(String rel, String entryName) throws IOException {
        policy.parentsOf(rel, entryName);
        return stage.resolve(rel);
    }

    private void directory(TarArchiveEntry e, String rel) throws IOException {
        Path p = place(rel, e.getName());
        try {
            Files.createDirectory(p);
        } catch (FileAlreadyExistsException exists) {
            policy.directoryExists(rel, e.getName());
        }
        policy.directoryMade(rel);
        pendingDirs.push(new DirAttrs(rel, p, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
                e.getLastModifiedTime()));
    }

    private void file(TarArchiveInputStream tar, TarArchiveEntry e, String rel) throws IOException {
        Path p = place(rel, e.getName());
        int mode = e.getMode() & 07777;
        long size = e.getSize();
        try (FileChannel channel = FileChannel.open(p,
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), createMode(mode))) {
            long remaining = size;
            while (remaining > 0) {
                int n = tar.read(buffer, 0, (int) Math.min(buffer.length, remaining));
                if (n < 0) {
                    throw new IntegrityException("tar entry '" + e.getName() + "' of volume store '" + storeName
                            + "' ends before its recorded size of " + size + " bytes; the archive is truncated");
                }
                ByteBuffer bb = ByteBuffer.wrap(buffer, 0, n);
                while (bb.hasRemaining()) {
                    channel.write(bb);
                }
                remaining -= n;
            }
        } catch (FileAlreadyExistsException exists) {
            throw policy.duplicate(e.getName());
        }
        applyAttrs(p, mode, e.getLongUserId(), e.getLongGroupId(), e.getLastModifiedTime(), true);
        bytes += size;
    }

    private void symlink(TarArchiveEntry e, String rel) throws IOException {
        Path p = place(rel, e.getName());
        try {
            Files.createSymbolicLink(p, Path.of(e.getLinkName()));
        } catch (FileAlreadyExistsException exists) {
            throw policy.duplicate(e.getName());
        } catch (InvalidPathException invalid) {
            throw policy.invalidLinkTarget(e.getName());
        }
        if (chown && (e.getLongUserId() != myUid || e.getLongGroupId() != myGid)) {
            Files.setAttribute(p, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
        }
        try {
            FileTime t = e.getLastModifiedTime();
            Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(t, t, null);
        } catch (IOException | UnsupportedOperationException ignored) {
            // a link's own time is cosmetic; platforms without lutimes keep the creation time
        }
    }

    private void hardLink(TarArchiveEntry e, String rel, String linkRel) throws IOException {
        policy.hardLinkSource(e, linkRel);
        Path existing = stage.resolve(linkRel);
        Path p = place(rel, e.getName());
        try {
            Files.createLink(p, existing);
        } catch (FileAlreadyExistsException exists) {
            throw policy.duplicate(e.getName());
        }
    }

    private FileAttribute<Set<PosixFilePermission>> createMode(int mode) {
        int perms = mode & 0777;
        FileAttribute<Set<PosixFilePermission>> attr = createModes[perms];
        if (attr == null) {
            attr = PosixFilePermissions.asFileAttribute(permissions(perms));
            createModes[perms] = attr;
        }
        return attr;
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] values = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE = 0400 .. 0001
        for (int i = 0; i < values.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(values[i]);
            }
        }
        return set;
    }

    /** {@link #applyAttrs(Path, int, long, long, FileTime, boolean)} of the archive's root entry to the target. */
    void applyRootAttrs(Path target) throws IOException {
        applyAttrs(target, rootAttrs.mode(), rootAttrs.uid(), rootAttrs.gid(), rootAttrs.mtime(), false);
    }

    /**
     * Owner (only as root), mode (only when creation could not give it: bits outside 0777 or masked by the
     * umask, or for directories), time. Owner before mode: chown clears set-user-id bits.
     */
    private void applyAttrs(Path p, int mode, long uid, long gid, FileTime mtime, boolean createdWithMode)
            throws IOException {
        if (chown && (uid != myUid || gid != myGid)) {
            Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
        }
        if (!createdWithMode || (mode & 07000) != 0 || (mode & umask) != 0) {
            Files.setAttribute(p, "unix:mode", mode);
        }
        // java.io.File's stat+utimes by path: NIO's setTimes opens the file, an extra open per file here.
        if (mtime != null && !p.toFile().setLastModified(mtime.toMillis())) {
            throw new IOException("cannot set the modification time of " + p);
        }
    }
}
