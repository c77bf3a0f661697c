package dev.sgbackup.store.volume;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
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
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Restores one volume tar into a directory.
 *
 * <p>Everything is extracted into a staging directory inside the target (so the final moves are renames on
 * the same file system, which matters when the target is a mount point), while the artifact is read once to
 * its end, where the engine's stream checks the hash. Only then are entries moved into place; with replace,
 * the old entries are first moved aside into a second staging directory and deleted after success. Any
 * failure before the end moves everything back and removes both staging directories.
 */
final class TarRestore {
    static final String STAGE_PREFIX = ".sgbackup-restore-";
    static final String ASIDE_PREFIX = ".sgbackup-replaced-";
    static final String LOST_FOUND = "lost+found";

    private static final System.Logger LOG = System.getLogger(TarRestore.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private record DirAttrs(String rel, Path path, int mode, long uid, long gid, FileTime mtime) {
    }

    private final String storeName;
    private final Path requestedTarget;
    private final RestoreInput in;
    private final boolean replace;
    private final byte[] buffer = new byte[1 << 20];
    @SuppressWarnings("unchecked")
    private final FileAttribute<Set<PosixFilePermission>>[] createModes = new FileAttribute[512];

    private Path target;
    private Path stage;
    private Path aside;
    private boolean hadLostFound;
    /** Relative directory (and so each of its ancestors) checked to be a real directory in the stage. */
    private String verified = "";
    private final Deque<DirAttrs> pendingDirs = new ArrayDeque<>();
    private DirAttrs rootAttrs;
    private boolean chown;
    private int myUid;
    private int myGid;
    private int umask = 022;

    long entries;
    long bytes;

    TarRestore(String storeName, Path target, RestoreInput in) {
        this.storeName = storeName;
        this.requestedTarget = target;
        this.in = in;
        this.replace = in.options().replace();
    }

    /** True for entries of a target that do not make it "not empty": an empty lost+found at its top. */
    static boolean ignorable(Path child) {
        if (!child.getFileName().toString().equals(LOST_FOUND) || !Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            return FileTrees.someChildren(child, 1, p -> false).isEmpty();
        } catch (IOException e) {
            return true; // root-only lost+found that we cannot list: a fresh file system's, not data
        }
    }

    static String notEmptyMessage(Path target, List<String> some) {
        return "restore target " + target + " is not empty (it contains " + String.join(", ", some)
                + (some.size() >= 5 ? ", ..." : "") + "); restore into an empty or new directory, or pass replace"
                + " (--replace) to swap its contents for the backup's";
    }

    void run(ArtifactInfo artifact) throws IOException {
        Path createdTop = null;
        if (!Files.exists(requestedTarget, LinkOption.NOFOLLOW_LINKS)) {
            createdTop = requestedTarget;
            while (createdTop.getParent() != null && !Files.exists(createdTop.getParent())) {
                createdTop = createdTop.getParent();
            }
            Files.createDirectories(requestedTarget);
        } else if (!Files.isDirectory(requestedTarget)) {
            throw new InvalidInputException("restore target " + requestedTarget + " exists and is not a directory;"
                    + " name a directory (or a path that does not exist yet)");
        }
        target = requestedTarget.toRealPath();
        FileTime targetMtime = Files.getLastModifiedTime(target);
        if (!replace) {
            List<String> some = FileTrees.someChildren(target, 5, TarRestore::ignorable);
            if (!some.isEmpty()) {
                throw new InvalidInputException(notEmptyMessage(target, some));
            }
        }
        hadLostFound = Files.isDirectory(target.resolve(LOST_FOUND), LinkOption.NOFOLLOW_LINKS);
        stage = Files.createDirectory(target.resolve(STAGE_PREFIX + randomId()), PRIVATE_DIR);
        try {
            probeProcess();
            long t0 = System.nanoTime();
            try (InputStream raw = new ReadAhead(in.open(artifact), "sgbackup-restore-" + storeName)) {
                extract(raw);
            }
            long t1 = System.nanoTime();
            FileTrees.sync(stage);
            LOG.log(System.Logger.Level.DEBUG, "extracted {0} entries in {1} ms, synced in {2} ms", entries,
                    (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
        } catch (IOException | RuntimeException | Error e) {
            removeAfterFailure(createdTop, targetMtime, e);
            throw e;
        }

        boolean movedIn = false;
        try {
            if (replace) {
                aside = Files.createDirectory(target.resolve(ASIDE_PREFIX + randomId()), PRIVATE_DIR);
                FileTrees.moveChildren(target, aside, this::keptInTarget);
            }
            movedIn = true;
            FileTrees.moveChildren(stage, target, p -> hadLostFound && p.getFileName().toString().equals(LOST_FOUND));
            FileTrees.force(target);
        } catch (IOException | RuntimeException | Error e) {
            rollBack(movedIn, targetMtime, e);
            throw e;
        }
        finish();
    }

    private void finish() {
        try {
            FileTrees.deleteRecursively(stage);
        } catch (IOException e) {
            in.warn("restored " + target + ", but could not remove the staging directory " + stage + ": " + e
                    + "; remove it by hand");
        }
        if (aside != null) {
            try {
                FileTrees.deleteRecursively(aside);
            } catch (IOException e) {
                in.warn("restored " + target + ", but the previous contents are still in " + aside + " (" + e
                        + "); remove that directory by hand");
            }
        }
        if (rootAttrs != null) {
            try {
                applyAttrs(target, rootAttrs.mode(), rootAttrs.uid(), rootAttrs.gid(), rootAttrs.mtime(), false);
            } catch (IOException | RuntimeException e) {
                in.warn("restored " + target + ", but could not set its own mode/owner/time: " + e);
            }
        }
        try {
            FileTrees.force(target);
        } catch (IOException e) {
            in.warn("restored " + target + ", but the final sync of the directory failed: " + e);
        }
        LOG.log(System.Logger.Level.DEBUG, "restored {0} entries, {1} bytes into {2}", entries, bytes, target);
    }

    private boolean keptInTarget(Path child) {
        String name = child.getFileName().toString();
        return child.equals(stage) || child.equals(aside) || name.equals(LOST_FOUND);
    }

    private void removeAfterFailure(Path createdTop, FileTime targetMtime, Throwable cause) {
        try {
            FileTrees.deleteRecursively(stage);
            if (createdTop != null) {
                FileTrees.deleteRecursively(createdTop);
            } else {
                Files.setLastModifiedTime(target, targetMtime);
            }
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(new StoreException("could not remove the staging directory " + stage
                    + " after the failure; the target's own entries were not touched; remove it by hand", e));
        }
    }

    private void rollBack(boolean movedIn, FileTime targetMtime, Throwable cause) {
        try {
            if (movedIn) {
                // Everything in the target that is not ours or lost+found came from the stage.
                FileTrees.moveChildren(target, stage, this::keptInTarget);
            }
            if (aside != null) {
                FileTrees.moveChildren(aside, target, p -> false);
                Files.delete(aside);
            }
            FileTrees.deleteRecursively(stage);
            Files.setLastModifiedTime(target, targetMtime);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(new StoreException("restore of " + target + " failed and could not be undone: "
                    + "restored entries may be in " + target + " and " + stage
                    + (aside != null ? ", the previous contents in " + aside : "")
                    + "; move the previous contents back by hand", e));
        }
    }

    private void probeProcess() throws IOException {
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

    private void extract(InputStream raw) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(buffered, "UTF-8");
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            in.checkCancelled();
            String name = e.getName();
            String rel = safeName(name, name, "");
            completeDirsOutside(rel);
            entries++;
            if (rel.isEmpty()) {
                if (e.isDirectory()) {
                    rootAttrs = new DirAttrs("", target, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
                            e.getLastModifiedTime());
                }
                continue;
            }
            if (e.isSymbolicLink()) {
                symlink(e, rel);
            } else if (e.isLink()) {
                hardLink(e, rel);
            } else if (e.isDirectory()) {
                directory(e, rel);
            } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
                in.warn("skipped tar entry " + name + ": devices and FIFOs are not restored");
            } else if (e.isFile()) {
                file(tar, e, rel);
            } else {
                in.warn("skipped tar entry " + name + " of unsupported type '" + (char) e.getLinkFlag() + "'");
            }
        }
        completeDirsOutside(null);
        // Read to the real end: the engine's stream checks size and hash there, before anything is moved.
        buffered.transferTo(OutputStream.nullOutputStream());
    }

    /** Validates without writing: names, link names, and the hash at the end (for dry runs). */
    static long validate(String storeName, InputStream raw) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(buffered, "UTF-8");
        TarArchiveEntry e;
        long n = 0;
        while ((e = tar.getNextEntry()) != null) {
            safeName(storeName, e.getName(), e.getName(), "");
            if (e.isLink()) {
                safeName(storeName, e.getLinkName(), e.getName(), "is a hard link to '" + e.getLinkName() + "', ");
            }
            n++;
        }
        buffered.transferTo(OutputStream.nullOutputStream());
        return n;
    }

    private String safeName(String name, String entryName, String context) {
        return safeName(storeName, name, entryName, context);
    }

    /** The entry's path relative to the target, "" for the root; refuses anything that could leave it. */
    static String safeName(String storeName, String name, String entryName, String context) {
        if (name.isEmpty()) {
            throw refuse(storeName, entryName, context + "has an empty name");
        }
        if (name.indexOf('\0') >= 0) {
            throw refuse(storeName, entryName, context + "contains a NUL character");
        }
        if (name.startsWith("/")) {
            throw refuse(storeName, entryName, context + "is an absolute path, which would land outside the target");
        }
        StringBuilder sb = new StringBuilder(name.length());
        int start = 0;
        while (start <= name.length()) {
            int slash = name.indexOf('/', start);
            int end = slash < 0 ? name.length() : slash;
            String part = name.substring(start, end);
            if (part.equals("..")) {
                throw refuse(storeName, entryName, context + "contains '..', which could land outside the target");
            }
            if (!part.isEmpty() && !part.equals(".")) {
                if (sb.length() > 0) {
                    sb.append('/');
                }
                sb.append(part);
            }
            start = end + 1;
        }
        return sb.toString();
    }

    private IntegrityException refuse(String entryName, String why) {
        return refuse(storeName, entryName, why);
    }

    static IntegrityException refuse(String storeName, String entryName, String why) {
        return new IntegrityException("refused tar entry '" + entryName + "' of volume store '" + storeName
                + "': it " + why + "; the archive was not written by sgbackup or was altered, so nothing of it"
                + " was restored and the target was left as it was");
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

    /** True when {@code dir} is the verified directory or one of its ancestors. */
    private boolean covered(String dir) {
        return dir.isEmpty() || verified.equals(dir)
                || (verified.length() > dir.length() && verified.startsWith(dir) && verified.charAt(dir.length()) == '/');
    }

    /** Checks (and with {@code create}, makes) each directory of {@code dir} in the stage: real, never a symlink. */
    private void checkDirs(String dir, String entryName, boolean create, String context) throws IOException {
        if (covered(dir)) {
            return;
        }
        int start = 0;
        while (true) {
            int slash = dir.indexOf('/', start);
            String prefix = slash < 0 ? dir : dir.substring(0, slash);
            if (!covered(prefix)) {
                Path p = stage.resolve(prefix);
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (a.isSymbolicLink()) {
                        throw refuse(entryName, context + "would be written through the symbolic link '" + prefix
                                + "' (an earlier entry)");
                    }
                    if (!a.isDirectory()) {
                        throw refuse(entryName, context + "needs '" + prefix + "' to be a directory, but an earlier"
                                + " entry made it a file");
                    }
                } catch (NoSuchFileException missing) {
                    if (!create) {
                        throw refuse(entryName, context + "refers to '" + prefix + "', which no earlier entry created");
                    }
                    Files.createDirectory(p);
                }
            }
            if (slash < 0) {
                break;
            }
            start = slash + 1;
        }
        if (create) {
            verified = dir;
        }
    }

    private Path place(String rel, String entryName) throws IOException {
        int slash = rel.lastIndexOf('/');
        checkDirs(slash < 0 ? "" : rel.substring(0, slash), entryName, true, "");
        return stage.resolve(rel);
    }

    private void directory(TarArchiveEntry e, String rel) throws IOException {
        Path p = place(rel, e.getName());
        try {
            Files.createDirectory(p);
        } catch (FileAlreadyExistsException exists) {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                throw refuse(e.getName(), "would be written through the symbolic link '" + rel + "' (an earlier entry)");
            }
            if (!a.isDirectory()) {
                throw refuse(e.getName(), "is a directory, but an earlier entry made '" + rel + "' a file");
            }
        }
        verified = rel;
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
            throw refuse(e.getName(), "appears a second time (refusing to overwrite the earlier entry)");
        }
        applyAttrs(p, mode, e.getLongUserId(), e.getLongGroupId(), e.getLastModifiedTime(), true);
        bytes += size;
    }

    private void symlink(TarArchiveEntry e, String rel) throws IOException {
        String linkTarget = e.getLinkName();
        if (linkTarget.isEmpty() || linkTarget.indexOf('\0') >= 0) {
            throw refuse(e.getName(), "is a symbolic link with an empty or invalid target");
        }
        Path p = place(rel, e.getName());
        try {
            Files.createSymbolicLink(p, Path.of(linkTarget));
        } catch (FileAlreadyExistsException exists) {
            throw refuse(e.getName(), "appears a second time (refusing to overwrite the earlier entry)");
        } catch (InvalidPathException invalid) {
            throw refuse(e.getName(), "is a symbolic link with an invalid target");
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

    private void hardLink(TarArchiveEntry e, String rel) throws IOException {
        String linkName = e.getLinkName();
        String context = "is a hard link to '" + linkName + "' and ";
        String linkRel = safeName(linkName, e.getName(), context);
        if (linkRel.isEmpty()) {
            throw refuse(e.getName(), context + "links to the target directory itself");
        }
        int slash = linkRel.lastIndexOf('/');
        checkDirs(slash < 0 ? "" : linkRel.substring(0, slash), e.getName(), false, context);
        Path existing = stage.resolve(linkRel);
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(existing, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException missing) {
            throw refuse(e.getName(), context + "no earlier entry has that name");
        }
        if (a.isDirectory()) {
            throw refuse(e.getName(), context + "that is a directory");
        }
        Path p = place(rel, e.getName());
        try {
            Files.createLink(p, existing);
        } catch (FileAlreadyExistsException exists) {
            throw refuse(e.getName(), "appears a second time (refusing to overwrite the earlier entry)");
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

    static String randomId() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
