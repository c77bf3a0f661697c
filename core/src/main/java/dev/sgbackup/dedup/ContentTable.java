package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.store.BackupOutput.FileStamp;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The content table of one deduplicated artifact: the records that say which chunks, in which order, make up the
 * artifact's bytes, and which of them hold which file. The table is itself stored as chunks (cut by
 * {@link #PARAMS}, and before the first record of every directory, so that a directory whose files did not change
 * yields the same table chunks as in the parent backup); the artifact's tree object lists the table's chunks.
 *
 * <p>Records, all integers big-endian:
 * <pre>
 * SEGMENT (1) ‖ count (uint32) ‖ count × [chunk id (32) ‖ length (uint32)]
 * FILE    (2) ‖ pathLength (uint32) ‖ path (UTF-8) ‖ size (int64) ‖ mtime ns (int64) ‖ ctime ns (int64) ‖ inode (int64)
 *             ‖ count (uint32) ‖ count × [chunk id (32) ‖ length (uint32)]
 * INLINE  (3) ‖ length (uint32) ‖ bytes
 * </pre>
 * The artifact's bytes are those of every record, in order: a SEGMENT's and a FILE's chunks, an INLINE's own bytes.
 * A FILE record covers one file's content (with the archive's padding after it); the bytes between contents (archive
 * headers, directories, links, the end of the archive: up to {@link #MAX_INLINE} bytes at a time) are INLINE, so
 * they cost no chunk of their own and compress together with the table. An artifact that marks no files (a
 * database table) is INLINE up to {@link #MAX_INLINE} bytes, then SEGMENTs of at most {@link #MAX_SEGMENT_CHUNKS}
 * chunks each.
 */
final class ContentTable {
    /** Table chunk sizes: small, since a changed file changes the chunk its record is in. */
    static final ChunkParams PARAMS = new ChunkParams(4 * 1024, 16 * 1024, 64 * 1024, 2);
    static final int SEGMENT = 1;
    static final int FILE = 2;
    static final int MAX_SEGMENT_CHUNKS = 4096;
    static final int INLINE = 3;
    /** Bytes between contents kept in the table; beyond this they are chunked (a stream that marks no files). */
    static final int MAX_INLINE = 64 * 1024;

    private ContentTable() {
    }

    /** One chunk of the artifact: its id and plain length. */
    record Chunk(ChunkId id, int length) {
    }

    /**
     * One record: {@code path} and {@code stamp} only for a FILE, {@code inline} only for an INLINE (whose
     * {@code chunks} are empty).
     */
    record Record(int type, String path, FileStamp stamp, byte[] inline, List<Chunk> chunks) {
        static Record segment(List<Chunk> chunks) {
            return new Record(SEGMENT, null, null, null, List.copyOf(chunks));
        }

        static Record file(String path, FileStamp stamp, List<Chunk> chunks) {
            return new Record(FILE, path, stamp, null, List.copyOf(chunks));
        }

        static Record inline(byte[] bytes) {
            return new Record(INLINE, null, null, bytes, List.of());
        }

        /** The artifact bytes this record stands for. */
        long length() {
            if (type == INLINE) {
                return inline.length;
            }
            long n = 0;
            for (Chunk c : chunks) {
                n += c.length();
            }
            return n;
        }

        @Override
        public String toString() {
            return switch (type) {
                case FILE -> "FILE " + path + " (" + chunks.size() + " chunks)";
                case INLINE -> "INLINE (" + inline.length + " bytes)";
                default -> "SEGMENT (" + chunks.size() + " chunks)";
            };
        }
    }

    static void write(DataOutputStream out, Record r) throws IOException {
        out.writeByte(r.type());
        if (r.type() == FILE) {
            byte[] path = r.path().getBytes(StandardCharsets.UTF_8);
            out.writeInt(path.length);
            out.write(path);
            out.writeLong(r.stamp().size());
            out.writeLong(r.stamp().modifiedNanos());
            out.writeLong(r.stamp().changedNanos());
            out.writeLong(r.stamp().inode());
        } else if (r.type() == INLINE) {
            out.writeInt(r.inline().length);
            out.write(r.inline());
            return;
        }
        out.writeInt(r.chunks().size());
        byte[] id = new byte[ChunkId.BYTES];
        for (Chunk c : r.chunks()) {
            c.id().copyTo(id, 0);
            out.write(id);
            out.writeInt(c.length());
        }
    }

    /**
     * The next record, or null at the end of the table.
     *
     * @param where names the table in errors
     */
    static Record read(DataInputStream in, String where) throws IOException {
        int type = in.read();
        if (type < 0) {
            return null;
        }
        try {
            String path = null;
            FileStamp stamp = null;
            if (type == INLINE) {
                int n = in.readInt();
                if (n < 0 || n > MAX_INLINE) {
                    throw new IntegrityException("the content table of " + where + " is damaged: an inline record of " + n + " bytes");
                }
                byte[] bytes = in.readNBytes(n);
                if (bytes.length != n) {
                    throw new EOFException();
                }
                return Record.inline(bytes);
            }
            if (type == FILE) {
                int n = in.readInt();
                if (n < 0 || n > 1 << 20) {
                    throw new IntegrityException("the content table of " + where + " is damaged: a path of " + n + " bytes");
                }
                path = new String(in.readNBytes(n), StandardCharsets.UTF_8);
                stamp = new FileStamp(in.readLong(), in.readLong(), in.readLong(), in.readLong());
            } else if (type != SEGMENT) {
                throw new IntegrityException("the content table of " + where + " is damaged: unknown record type " + type);
            }
            int count = in.readInt();
            if (count < 0 || count > 1 << 24) {
                throw new IntegrityException("the content table of " + where + " is damaged: a record of " + count + " chunks");
            }
            List<Chunk> chunks = new ArrayList<>(Math.min(count, 4096));
            byte[] id = new byte[ChunkId.BYTES];
            for (int i = 0; i < count; i++) {
                in.readFully(id);
                int length = in.readInt();
                if (length <= 0) {
                    throw new IntegrityException("the content table of " + where + " is damaged: a chunk of " + length + " bytes");
                }
                chunks.add(new Chunk(ChunkId.of(id.clone()), length));
            }
            return new Record(type, path, stamp, null, chunks);
        } catch (EOFException e) {
            throw new IntegrityException("the content table of " + where + " is damaged: it ends inside a record", e);
        }
    }

    /** The order a volume walk visits paths in: name by name, each level sorted as strings ('/' before any character). */
    static int walkOrder(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y) {
                if (x == '/') {
                    return -1;
                }
                if (y == '/') {
                    return 1;
                }
                return Character.compare(x, y);
            }
        }
        return Integer.compare(a.length(), b.length());
    }

    /** The directory part of a path ("" at the top). */
    static String directory(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }
}
