package dev.sgbackup.store.volume;

import dev.sgbackup.run.IntegrityException;
import java.io.IOException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * The path-safety policy of a volume restore: decides which tar entries may be written, and where, so that
 * nothing of an archive lands outside the target.
 *
 * <p>Refused (an {@link IntegrityException} that names the entry, which fails the whole restore):
 * <ul>
 *   <li>names that are empty, contain a NUL character, are absolute, or contain a {@code ..} component;</li>
 *   <li>symbolic links with an empty target or one with a NUL character (their targets are otherwise kept as
 *   they are: a link is never followed while restoring);</li>
 *   <li>hard links whose link name breaks the name rules, names the target directory itself, names something
 *   no earlier entry created, or names a directory;</li>
 *   <li>any entry that would be written through a symbolic link an earlier entry planted, or below something an
 *   earlier entry made a file; a directory entry over an earlier file;</li>
 *   <li>a second entry of a name that already exists (nothing is overwritten).</li>
 * </ul>
 * Skipped with a warning: character and block devices, FIFOs and entries of unknown type. {@code .} components
 * and repeated slashes are dropped; a name that is only those is the target directory itself.
 *
 * <p>The decisions that depend on earlier entries ask a {@link Stage} what is already there; the policy itself
 * writes nothing except, through {@link Stage#makeDirectory}, the missing parents of an accepted entry.
 */
final class EntryPolicy {
    /** What an earlier entry left at a name. */
    enum Existing { MISSING, DIRECTORY, SYMLINK, OTHER }

    /** The directory entries are written into, as far as the policy needs to see it. */
    interface Stage {
        /** What is at {@code rel}, never following a symbolic link. */
        Existing at(String rel) throws IOException;

        /** Makes the directory {@code rel}, whose parent exists. */
        void makeDirectory(String rel) throws IOException;
    }

    /** What to do with an entry. */
    enum Action { ROOT, DIRECTORY, FILE, SYMLINK, HARD_LINK, SKIP }

    /**
     * The decision for one entry.
     *
     * @param rel      the entry's path relative to the target, "" for the target itself
     * @param linkRel  for a hard link, the relative path of the entry it links to
     * @param warning  for a skipped entry, why
     */
    record Decision(Action action, String rel, String linkRel, String warning) {
    }

    private final String storeName;
    private final Stage stage;
    /** Relative directory (and so each of its ancestors) checked to be a real directory in the stage. */
    private String verified = "";

    EntryPolicy(String storeName, Stage stage) {
        this.storeName = storeName;
        this.stage = stage;
    }

    /** The checks that need only the entry itself: its name, type and link name. */
    Decision decide(TarArchiveEntry e) {
        String name = e.getName();
        String rel = relative(storeName, name, name, "");
        if (rel.isEmpty()) {
            return new Decision(Action.ROOT, rel, null, null);
        }
        if (e.isSymbolicLink()) {
            String linkTarget = e.getLinkName();
            if (linkTarget.isEmpty() || linkTarget.indexOf('\0') >= 0) {
                throw refuse(name, "is a symbolic link with an empty or invalid target");
            }
            return new Decision(Action.SYMLINK, rel, null, null);
        }
        if (e.isLink()) {
            String context = hardLinkContext(e);
            String linkRel = relative(storeName, e.getLinkName(), name, context);
            if (linkRel.isEmpty()) {
                throw refuse(name, context + "links to the target directory itself");
            }
            return new Decision(Action.HARD_LINK, rel, linkRel, null);
        }
        if (e.isDirectory()) {
            return new Decision(Action.DIRECTORY, rel, null, null);
        }
        if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            return new Decision(Action.SKIP, rel, null, "skipped tar entry " + name + ": devices and FIFOs are not restored");
        }
        if (e.isFile()) {
            return new Decision(Action.FILE, rel, null, null);
        }
        return new Decision(Action.SKIP, rel, null,
                "skipped tar entry " + name + " of unsupported type '" + (char) e.getLinkFlag() + "'");
    }

    private static String hardLinkContext(TarArchiveEntry e) {
        return "is a hard link to '" + e.getLinkName() + "' and ";
    }

    /**
     * Makes sure every parent directory of {@code rel} is a real directory in the stage (creating missing ones),
     * never a symbolic link or file an earlier entry planted.
     */
    void parentsOf(String rel, String entryName) throws IOException {
        checkDirs(parent(rel), entryName, true, "");
    }

    /** A directory entry found {@code rel} taken: fine if it is a directory (an earlier entry or parent). */
    void directoryExists(String rel, String entryName) throws IOException {
        Existing x = stage.at(rel);
        if (x == Existing.SYMLINK) {
            throw refuse(entryName, "would be written through the symbolic link '" + rel + "' (an earlier entry)");
        }
        if (x != Existing.DIRECTORY) {
            throw refuse(entryName, "is a directory, but an earlier entry made '" + rel + "' a file");
        }
    }

    /** {@code rel} is now a real directory of the stage. */
    void directoryMade(String rel) {
        verified = rel;
    }

    /** The entry a hard link names must already be in the stage, reached through real directories, not one. */
    void hardLinkSource(TarArchiveEntry e, String linkRel) throws IOException {
        String context = hardLinkContext(e);
        checkDirs(parent(linkRel), e.getName(), false, context);
        Existing x = stage.at(linkRel);
        if (x == Existing.MISSING) {
            throw refuse(e.getName(), context + "no earlier entry has that name");
        }
        if (x == Existing.DIRECTORY) {
            throw refuse(e.getName(), context + "that is a directory");
        }
    }

    /** The refusal for an entry whose name an earlier entry already took. */
    IntegrityException duplicate(String entryName) {
        return refuse(entryName, "appears a second time (refusing to overwrite the earlier entry)");
    }

    /** The refusal for a symbolic link whose target the file system cannot take. */
    IntegrityException invalidLinkTarget(String entryName) {
        return refuse(entryName, "is a symbolic link with an invalid target");
    }

    private static String parent(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? "" : rel.substring(0, slash);
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
                switch (stage.at(prefix)) {
                    case SYMLINK -> throw refuse(entryName, context + "would be written through the symbolic link '"
                            + prefix + "' (an earlier entry)");
                    case OTHER -> throw refuse(entryName, context + "needs '" + prefix + "' to be a directory, but an"
                            + " earlier entry made it a file");
                    case MISSING -> {
                        if (!create) {
                            throw refuse(entryName, context + "refers to '" + prefix + "', which no earlier entry created");
                        }
                        stage.makeDirectory(prefix);
                    }
                    case DIRECTORY -> {
                    }
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

    IntegrityException refuse(String entryName, String why) {
        return refuse(storeName, entryName, why);
    }

    /** The entry's path relative to the target, "" for the root; refuses anything that could leave it. */
    static String relative(String storeName, String name, String entryName, String context) {
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

    static IntegrityException refuse(String storeName, String entryName, String why) {
        return new IntegrityException("refused tar entry '" + entryName + "' of volume store '" + storeName
                + "': it " + why + "; the archive was not written by sgbackup or was altered, so nothing of it"
                + " was restored and the target was left as it was");
    }
}
