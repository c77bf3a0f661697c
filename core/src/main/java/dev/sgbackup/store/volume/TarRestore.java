package dev.sgbackup.store.volume;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Restores one volume tar into a directory: staging, the swap into place, and rollback. Writing the entries is
 * {@link EntryWriter}'s job, deciding which entries may be written {@link EntryPolicy}'s.
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

    private final String storeName;
    private final Path requestedTarget;
    private final RestoreInput in;
    private final boolean replace;

    private Path target;
    private Path stage;
    private Path aside;
    private boolean hadLostFound;
    private EntryWriter writer;

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
        writer = new EntryWriter(storeName, stage, in);
        try {
            writer.probeProcess();
            long t0 = System.nanoTime();
            try (InputStream raw = new ReadAhead(in.open(artifact), "sgbackup-restore-" + storeName)) {
                writer.extract(raw, target);
            }
            long t1 = System.nanoTime();
            FileTrees.sync(stage);
            LOG.log(System.Logger.Level.DEBUG, "extracted {0} entries in {1} ms, synced in {2} ms", writer.entries,
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
        if (writer.rootAttrs() != null) {
            try {
                writer.applyRootAttrs(target);
            } catch (IOException | RuntimeException e) {
                in.warn("restored " + target + ", but could not set its own mode/owner/time: " + e);
            }
        }
        try {
            FileTrees.force(target);
        } catch (IOException e) {
            in.warn("restored " + target + ", but the final sync of the directory failed: " + e);
        }
        LOG.log(System.Logger.Level.DEBUG, "restored {0} entries, {1} bytes into {2}", writer.entries, writer.bytes,
                target);
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

    /** Validates without writing: names, link names, and the hash at the end (for dry runs). */
    static long validate(String storeName, InputStream raw) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
        TarArchiveInputStream tar = new TarArchiveInputStream(buffered, "UTF-8");
        TarArchiveEntry e;
        long n = 0;
        while ((e = tar.getNextEntry()) != null) {
            EntryPolicy.relative(storeName, e.getName(), e.getName(), "");
            if (e.isLink()) {
                EntryPolicy.relative(storeName, e.getLinkName(), e.getName(), "is a hard link to '" + e.getLinkName() + "', ");
            }
            n++;
        }
        buffered.transferTo(OutputStream.nullOutputStream());
        return n;
    }

    static String randomId() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
