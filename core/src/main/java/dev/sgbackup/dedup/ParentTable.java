package dev.sgbackup.dedup;

import dev.sgbackup.run.SgBackupException;
import java.io.IOException;
import java.util.List;
import java.util.function.Function;

/**
 * The content table of the same artifact in the parent backup, read forward as the new backup walks its files in
 * the same order: {@link #find} returns the parent's record for a path, if it has one. One record in memory at a time,
 * whatever the number of files. A parent that cannot be read is reported once and then ignored: the backup reads
 * every file instead.
 */
final class ParentTable {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup");
    private final TableInput in;
    private final String where;
    private ContentTable.Record current;
    private boolean done;

    private ParentTable(TableInput in, String where) {
        this.in = in;
        this.where = where;
    }

    /** The parent's table, or null (logged) if its tree object cannot be read. */
    static ParentTable open(Repo repo, Function<ChunkId, IndexEntry> lookup, String parentBackupId, String treeKey,
                            long treeSize, String treeSha256) {
        String where = "artifact " + treeKey + " of the parent backup " + parentBackupId;
        try {
            List<ChunkId> ids = TreeObject.load(repo, parentBackupId, treeKey, treeSize, treeSha256);
            return new ParentTable(new TableInput(repo, lookup, ids, where), where);
        } catch (IOException | SgBackupException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read " + where + " (" + e.getMessage() + "); every file is read");
            return null;
        }
    }

    /** The parent's FILE record for {@code path}, or null; paths must be asked for in walk order. */
    ContentTable.Record find(String path) {
        try {
            while (!done) {
                if (current == null) {
                    current = in.next();
                    if (current == null) {
                        done = true;
                        return null;
                    }
                }
                if (current.type() != ContentTable.FILE) {
                    current = null;
                    continue;
                }
                int c = ContentTable.walkOrder(current.path(), path);
                if (c < 0) {
                    current = null;
                    continue;
                }
                return c == 0 ? current : null;
            }
            return null;
        } catch (IOException | SgBackupException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read " + where + " (" + e.getMessage() + "); the remaining files are read");
            done = true;
            return null;
        }
    }
}
