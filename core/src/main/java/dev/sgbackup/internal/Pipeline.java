package dev.sgbackup.internal;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.transform.Transform;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * The byte pipeline around one artifact: plain bytes → hash → transforms → hash → sink, and back, with both
 * hashes checked when the reader reaches the end of the artifact.
 */
final class Pipeline {
    private Pipeline() {
    }

    /** Counts and hashes bytes passing through an output stream. */
    static final class MeasuringOutputStream extends FilterOutputStream {
        private final Hasher hasher; // null: count only
        private final LongConsumer progress;
        private long count;

        public MeasuringOutputStream(OutputStream out, LongConsumer progress) {
            this(out, progress, true);
        }

        /** @param hash whether to compute the SHA-256 (else {@link #sha256()} may not be called) */
        public MeasuringOutputStream(OutputStream out, LongConsumer progress, boolean hash) {
            super(out);
            this.progress = progress;
            this.hasher = hash ? Hashing.sha256().newHasher() : null;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            if (hasher != null) {
                hasher.putByte((byte) b);
            }
            count++;
            progress.accept(1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            if (hasher != null) {
                hasher.putBytes(b, off, len);
            }
            count += len;
            progress.accept(len);
        }

        public long count() {
            return count;
        }

        /** The hex SHA-256; call once, after the last write. */
        public String sha256() {
            return hasher.hash().toString();
        }
    }

    /** An output stream whose close() only flushes (so transforms cannot close the sink's stream early). */
    static OutputStream nonClosing(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }

    /** Marks exceptions raised by the sink itself, to tell them from damaged bytes. */
    static final class SinkReadException extends IOException {
        SinkReadException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private static final class MeasuringInputStream extends FilterInputStream {
        private final Hasher hasher; // null: count only
        private final boolean fromSink;
        private long count;

        MeasuringInputStream(InputStream in, boolean fromSink) {
            this(in, fromSink, true);
        }

        MeasuringInputStream(InputStream in, boolean fromSink, boolean hash) {
            super(in);
            this.fromSink = fromSink;
            this.hasher = hash ? Hashing.sha256().newHasher() : null;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException e) {
                throw fromSink && !(e instanceof SinkReadException) ? new SinkReadException(e) : e;
            }
            if (n > 0) {
                if (hasher != null) {
                    hasher.putBytes(b, off, n);
                }
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(n, 8192)];
            long done = 0;
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        void drain() throws IOException {
            byte[] buf = new byte[1 << 16];
            while (read(buf, 0, buf.length) >= 0) {
                // hash the rest of the stored bytes
            }
        }
    }

    /**
     * Opens an artifact for reading its plain bytes. At the end of the stream both the stored and plain
     * sizes and SHA-256 are compared with the manifest; a mismatch, or bytes the transforms cannot decode,
     * throw {@link IntegrityException} naming the artifact instead of returning -1.
     *
     * @param resolver maps a transform id from the manifest to its transform
     * @param progress called with plain byte counts as they are read
     */
    static InputStream open(BackupSink sink, String backupId, String store, ArtifactInfo a,
                                   Function<String, Transform> resolver, LongConsumer progress) throws IOException {
        InputStream raw = sink.read(a.key());
        MeasuringInputStream stored = new MeasuringInputStream(raw, true);
        InputStream in = stored;
        List<String> ts = a.transforms();
        Transform.ArtifactContext ctx = new Transform.ArtifactContext(backupId, a.key());
        try {
            for (int i = ts.size() - 1; i >= 0; i--) {
                in = resolver.apply(ts.get(i)).unwrap(in, ctx);
            }
        } catch (IOException e) {
            raw.close();
            throw damaged(store, a, e);
        }
        return checked(sink, store, a, stored, new MeasuringInputStream(in, false), progress);
    }

    /**
     * Opens a deduplicated artifact for reading its plain bytes from {@code chunks} (the repository's stream of its
     * chunks, whose tree object was checked against the manifest when it was opened). At the end, the plain size and
     * SHA-256 are compared with the manifest as for {@link #open}; damage met on the way throws
     * {@link IntegrityException} naming the artifact, and the chunk and pack.
     */
    static InputStream openChunked(BackupSink sink, String store, ArtifactInfo a, InputStream chunks, LongConsumer progress) {
        // not hashed here: the chunks are checked against their ids, and the content table against a.sha256()
        return checked(sink, store, a, null, new MeasuringInputStream(chunks, true, false), progress);
    }

    /** The plain stream, checked at its end against the manifest; {@code stored} null: no stored bytes to check. */
    private static InputStream checked(BackupSink sink, String store, ArtifactInfo a, MeasuringInputStream stored,
                                       MeasuringInputStream plain, LongConsumer progress) {
        String name = store + "/" + a.name();
        return new InputStream() {
            private boolean verified;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n <= 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n;
                try {
                    n = plain.read(b, off, len);
                } catch (SinkReadException e) {
                    throw new SinkException("reading artifact " + name + " (" + a.key() + ") from " + sink.uri() + " failed: "
                            + e.getMessage(), e.getCause());
                } catch (IOException e) {
                    throw damaged(store, a, e);
                } catch (IntegrityException e) {
                    if (stored != null) {
                        throw e; // the transforms name the artifact themselves
                    }
                    throw new IntegrityException("artifact " + name + " (" + a.key() + ") is damaged: " + e.getMessage(), e);
                }
                if (n > 0) {
                    progress.accept(n);
                    if (plain.count > a.size()) {
                        throw new IntegrityException("artifact " + name + " (" + a.key() + ") is damaged: it decodes to more than the "
                                + a.size() + " bytes the manifest records");
                    }
                }
                if (n < 0 && !verified) {
                    verify();
                }
                return n;
            }

            private void verify() throws IOException {
                if (stored != null) {
                    verifyStored();
                }
                if (plain.count != a.size() || (plain.hasher != null && !plain.hasher.hash().toString().equals(a.sha256()))) {
                    throw new IntegrityException("artifact " + name + " (" + a.key() + ") is damaged: its content does not match the manifest's SHA-256");
                }
                verified = true;
            }

            private void verifyStored() throws IOException {
                try {
                    stored.drain();
                } catch (SinkReadException e) {
                    throw new SinkException("reading artifact " + name + " from " + sink.uri() + " failed: " + e.getMessage(), e.getCause());
                }
                if (stored.count != a.storedSize() || !stored.hasher.hash().toString().equals(a.storedSha256())) {
                    throw new IntegrityException("artifact " + name + " (" + a.key() + ") is damaged: stored bytes do not match the manifest ("
                            + stored.count + " bytes read, " + a.storedSize() + " recorded, SHA-256 differs); restore another backup");
                }
            }

            @Override
            public void close() throws IOException {
                plain.close();
            }
        };
    }

    private static IntegrityException damaged(String store, ArtifactInfo a, IOException e) {
        return new IntegrityException("artifact " + store + "/" + a.name() + " (" + a.key() + ") is damaged: it cannot be decoded ("
                + e.getMessage() + "); restore another backup");
    }

    /** Attributes are kept small: the manifest is read whole. */
    static Map<String, String> checkAttributes(Map<String, String> attributes) {
        long total = attributes.entrySet().stream().mapToLong(e -> e.getKey().length() + (long) e.getValue().length()).sum();
        if (total > 1_000_000) {
            throw new IllegalArgumentException("artifact attributes too large (" + total + " characters); keep them small");
        }
        return attributes;
    }
}
