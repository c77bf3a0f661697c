package dev.sgbackup.store.volume;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * What {@code lstat} says of a file, as the tar writer needs it: type and permission bits, inode and device, owner
 * and group ids, link count, size, modification and status-change times (nanoseconds since the epoch). Read through
 * the {@code "unix:"} attribute view, Java's only public way to the numeric ids, the link count, the inode and the
 * ctime. (Reading them from the JDK's own {@code sun.nio.fs.UnixFileAttributes} instead, with {@code --add-opens},
 * skips the view's map of boxed values but took the same CPU on a 40,000-file re-backup: docs/dedup.md.)
 */
record FileStat(int mode, long ino, long dev, int uid, int gid, int nlink, long size, long mtimeNanos, long ctimeNanos) {
    static final String ATTRIBUTES = "unix:mode,ino,dev,uid,gid,nlink,size,lastModifiedTime,ctime";

    /** The file's own stat (a symbolic link is not followed), through the {@code "unix:"} attribute view. */
    static FileStat lstat(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        Object ctime = a.get("ctime");
        Object ino = a.get("ino");
        Object dev = a.get("dev");
        return new FileStat((Integer) a.get("mode"), ino instanceof Long i ? i : 0, dev instanceof Long d ? d : 0, (Integer) a.get("uid"),
                (Integer) a.get("gid"), (Integer) a.get("nlink"), (Long) a.get("size"), nanos((FileTime) a.get("lastModifiedTime")),
                ctime instanceof FileTime c ? nanos(c) : 0);
    }

    static long nanos(FileTime t) {
        java.time.Instant i = t.toInstant();
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000_000L), i.getNano());
    }

    /** The modification time in whole milliseconds, as {@link FileTime#toMillis()} gives it. */
    long mtimeMillis() {
        return Math.floorDiv(mtimeNanos, 1_000_000L);
    }
}
