package dev.sgbackup.dedup;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads chunks back from packs with ranged reads ({@link BackupSink#read(String, long, long)}: native ranges on
 * local, S3, GCS and memory sinks) and verifies each against its id after decryption and decompression.
 * Not thread-safe (one decoder); use one reader per thread. Holds no native memory between calls: each call
 * releases its decoder's zstd context (one per call, so a run of small chunks shares one), so nothing needs closing.
 */
final class PackReader {
    private final Repo repo;
    private final BlobCodec codec;

    PackReader(Repo repo) {
        this.repo = repo;
        this.codec = new BlobCodec(repo.keys(), Compression.none());
    }

    /**
     * The plaintext of the chunk {@code e} locates.
     *
     * @throws IntegrityException naming pack and chunk if the bytes are missing, damaged or not the chunk's
     */
    byte[] read(IndexEntry e) throws IOException {
        try {
            return readOne(e);
        } finally {
            codec.releaseDecompression();
        }
    }

    /**
     * The plaintexts of {@code entries}, in order, checked as {@link #read} does, with one decompression context for
     * all of them (making one costs about as much as decoding a small chunk); chunks stored back to back in one pack
     * (each entry's offset is where the one before it ends) share a ranged read, so a run of them is one read.
     */
    List<byte[]> readAll(List<IndexEntry> entries) throws IOException {
        List<byte[]> plain = new ArrayList<>(entries.size());
        try {
            for (int i = 0, j; i < entries.size(); i = j) {
                j = i + 1;
                while (j < entries.size() && entries.get(j).pack().equals(entries.get(i).pack())
                        && entries.get(j).offset() == (long) entries.get(j - 1).offset() + entries.get(j - 1).length()) {
                    j++;
                }
                if (j == i + 1) {
                    plain.add(readOne(entries.get(i)));
                } else {
                    plain.addAll(decodeRun(entries.subList(i, j)));
                }
            }
        } finally {
            codec.releaseDecompression();
        }
        return plain;
    }

    private byte[] readOne(IndexEntry e) throws IOException {
        String where = "chunk " + e.id() + " in pack " + e.pack();
        byte[] stored;
        try (InputStream in = repo.sink().read(repo.layout().pack(e.pack()), e.offset(), e.length())) {
            stored = in.readNBytes(e.length());
        } catch (NoSuchObjectException x) {
            throw new IntegrityException(where + ": the pack is missing from " + repo.sink().uri(), x);
        }
        if (stored.length != e.length()) {
            throw new IntegrityException(where + ": the pack ends after " + (e.offset() + stored.length)
                    + " bytes, the chunk needs " + ((long) e.offset() + e.length()) + "; the pack is truncated");
        }
        return codec.decode(e, stored, where);
    }

    /** A run of two or more back-to-back chunks, read with one ranged read; the caller releases the codec. */
    private List<byte[]> decodeRun(List<IndexEntry> run) throws IOException {
        IndexEntry first = run.get(0);
        IndexEntry last = run.get(run.size() - 1);
        long length = (long) last.offset() + last.length() - first.offset();
        String where = "chunks " + first.id() + " … " + last.id() + " in pack " + first.pack();
        byte[] stored;
        try (InputStream in = repo.sink().read(repo.layout().pack(first.pack()), first.offset(), length)) {
            stored = in.readNBytes((int) length);
        } catch (NoSuchObjectException x) {
            throw new IntegrityException(where + ": the pack is missing from " + repo.sink().uri(), x);
        }
        List<byte[]> plain = new ArrayList<>(run.size());
        for (IndexEntry e : run) {
            int from = (int) (e.offset() - first.offset());
            String one = "chunk " + e.id() + " in pack " + e.pack();
            if (from + e.length() > stored.length) {
                throw new IntegrityException(one + ": the pack ends after " + (first.offset() + stored.length) + " bytes, the chunk"
                        + " needs " + ((long) e.offset() + e.length()) + "; the pack is truncated");
            }
            plain.add(codec.decode(e, Arrays.copyOfRange(stored, from, from + e.length()), one));
        }
        return plain;
    }

    /** The entries a pack's own header lists (for rebuilding a lost index); reads only the pack's tail. */
    List<IndexEntry> header(String pack) throws IOException {
        String key = repo.layout().pack(pack);
        long size = repo.sink().stat(key).map(ObjectInfo::size)
                .orElseThrow(() -> new IntegrityException("pack " + pack + " is missing from " + repo.sink().uri()));
        if (size < PackFormat.TRAILER_BYTES) {
            throw new IntegrityException("pack " + pack + " has only " + size + " bytes; it is damaged");
        }
        byte[] trailer = readRange(key, size - PackFormat.TRAILER_BYTES, PackFormat.TRAILER_BYTES);
        int headerLength = PackFormat.headerLength(trailer, pack, size);
        byte[] header = readRange(key, size - PackFormat.TRAILER_BYTES - headerLength, headerLength);
        return PackFormat.parseHeader(header, pack, size, repo.keys());
    }

    /**
     * Reads a whole pack (streaming) and checks that its bytes hash to its name: a pack damaged, truncated or
     * stored under another pack's name fails, naming the pack. For verify's "read data".
     */
    void verifyPack(String pack) throws IOException {
        MessageDigest md = Crypto.sha256();
        try (InputStream in = repo.sink().read(repo.layout().pack(pack))) {
            byte[] b = new byte[1 << 16];
            for (int n; (n = in.read(b)) > 0; ) {
                md.update(b, 0, n);
            }
        } catch (NoSuchObjectException x) {
            throw new IntegrityException("pack " + pack + " is missing from " + repo.sink().uri(), x);
        }
        if (!Crypto.hex(md.digest()).equals(pack)) {
            throw new IntegrityException("pack " + pack + " does not hash to its name: it is damaged or another pack's bytes");
        }
    }

    private byte[] readRange(String key, long offset, int length) throws IOException {
        try (InputStream in = repo.sink().read(key, offset, length)) {
            return in.readNBytes(length);
        }
    }
}
