package dev.sgbackup.store;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * What a {@link DataStore} writes its backup to. Thread-safe: a store may write several artifacts at once
 * from its own threads (up to {@link #parallelism()}).
 */
public interface BackupOutput {

    /**
     * Starts an artifact. Its name is free text (a table name, a document name) recorded in the manifest;
     * the storage key is derived by core. Close the returned stream to finish the artifact; closing it is
     * what records the artifact. A stream abandoned because of an exception must be closed through
     * {@link ArtifactStream#abort()} or left to the engine, which then fails the backup.
     *
     * @param attributes small string facts about the artifact (e.g. row count, columns), kept in the manifest
     */
    ArtifactStream artifact(String name, Map<String, String> attributes) throws IOException;

    default ArtifactStream artifact(String name) throws IOException {
        return artifact(name, Map.of());
    }

    /** Records a fact about the store in the manifest (server version, schema fingerprint...). No secrets. */
    void property(String key, String value);

    /** Records a warning in the manifest and reports it to the listener (e.g. a file that vanished). */
    void warn(String message);

    /** How many artifacts this store may write concurrently. */
    int parallelism();

    /** Throws {@link dev.sgbackup.run.CancelledException} if the run was cancelled or the thread interrupted. */
    void checkCancelled();

    /**
     * Whether this is a deduplicated backup: artifact streams are cut into content-defined chunks stored once, so a
     * store may choose a layout that stays the same between backups (a database store copies tables in primary-key
     * order then), and its artifact streams mark files ({@link ArtifactStream#beginFile}). Known before the first
     * artifact starts.
     * Default false (a full backup).
     */
    default boolean deduplicated() {
        return false;
    }

    /** An artifact being written. */
    abstract class ArtifactStream extends OutputStream {
        /** Abandons the artifact; the backup will not be committed. */
        public abstract void abort();

        /**
         * Marks where one file's entry starts in an archive-shaped artifact (a tar of a volume), for deduplicated
         * backups: chunks then follow entries, and a file whose stamp is unchanged since the parent backup is not
         * read again. Call it before writing the entry's first byte (its header), then {@link FileEntry#content()}
         * after the header, write the content (filler if {@link FileEntry#reused()}) and padding, then
         * {@link FileEntry#end()}. In a full backup the entry is never reused and the calls change nothing. Optional: a
         * store that never calls it still deduplicates, with chunk boundaries found in its bytes alone. It does something only in
         * a {@link BackupOutput#deduplicated()} backup; the calls must be made in order with the bytes, on the writing
         * thread (a store that writes through a queue or from another thread writes directly then).
         *
         * @param path  the entry's path in the artifact (walk order: a store must write entries in the same order
         *              every time for reuse to find them)
         * @param stamp what identifies the file's content without reading it
         */
        public FileEntry beginFile(String path, FileStamp stamp) throws IOException {
            return FileEntry.NONE;
        }
    }

    /**
     * What identifies a file's content without reading it, as restic compares it: the same path with the same
     * size, modification time, status-change time and inode is taken to hold the same bytes. A change of
     * permissions or owner changes the status-change time.
     *
     * @param size          bytes
     * @param modifiedNanos modification time, nanoseconds since the epoch
     * @param changedNanos  status-change time (ctime), nanoseconds since the epoch, or 0 where the file system has none
     * @param inode         the inode number, or 0 where the file system has none
     */
    record FileStamp(long size, long modifiedNanos, long changedNanos, long inode) {
    }

    /**
     * One file's entry in an artifact: {@link ArtifactStream#beginFile} before its header, {@link #content()}
     * between its header and its content, {@link #end()} after its content and padding.
     */
    interface FileEntry {
        /** The entry of a stream that does not deduplicate: never reused. */
        FileEntry NONE = new FileEntry() {
            @Override
            public boolean reused() {
                return false;
            }

            @Override
            public void content() {
            }

            @Override
            public void end() {
            }
        };

        /**
         * True if the file's content is known from the parent backup: write the entry's header, call
         * {@link #content()} and {@link #end()}, and write no content and no padding — the file need not be opened;
         * the parent's chunks stand in for the bytes the entry would have had after its header. (Writing them as
         * filler, any bytes of the same length, is accepted too: they are discarded.) Decided when the entry begins.
         */
        boolean reused();

        /** Call after the entry's header, before its first content byte. */
        void content() throws IOException;

        /**
         * Call after the entry's last byte (content and padding). An entry that wrote nothing (the file vanished)
         * records nothing.
         */
        void end() throws IOException;
    }
}
