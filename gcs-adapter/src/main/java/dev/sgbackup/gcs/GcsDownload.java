package dev.sgbackup.gcs;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.NoSuchObjectException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.zip.CRC32C;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A media download ({@code alt=media}) of a byte range. When the connection breaks mid-stream it reconnects
 * from the next unread byte, pinned to the object's generation, so a replaced object is never mixed in.
 */
final class GcsDownload extends InputStream {
    private final GcsSink sink;
    private final String key;
    private final String name;
    private final long end; // exclusive; Long.MAX_VALUE = to the end of the object
    private long pos;
    private String generation;
    private Response response;
    private InputStream body;
    private int failures;
    private boolean eof;
    private boolean closed;
    /** For a whole-object read: the CRC32C GCS recorded (x-goog-hash), checked at the end. */
    private String expectedCrc;
    private final CRC32C crc = new CRC32C();

    private GcsDownload(GcsSink sink, String key, String name, long offset, long length) {
        this.sink = sink;
        this.key = key;
        this.name = name;
        this.pos = offset;
        this.end = length > Long.MAX_VALUE - offset ? Long.MAX_VALUE : offset + length;
    }

    static InputStream open(GcsSink sink, String key, String name, long offset, long length) throws IOException {
        GcsDownload d = new GcsDownload(sink, key, name, offset, length);
        d.connect(true);
        return d;
    }

    private void connect(boolean first) throws IOException {
        HttpUrl.Builder url = sink.objectUrl(name).addQueryParameter("alt", "media");
        if (generation != null) {
            url.addQueryParameter("ifGenerationMatch", generation);
        }
        Request.Builder rb = new Request.Builder().url(url.build()).get().header("Accept-Encoding", "identity");
        boolean ranged = pos > 0 || end != Long.MAX_VALUE;
        if (ranged) {
            rb.header("Range", "bytes=" + pos + "-" + (end == Long.MAX_VALUE ? "" : Long.toString(end - 1)));
        }
        Response r = sink.transport.call(rb.build(), sink.credentials, "read " + sink.where(key));
        int code = r.code();
        if (code == 200 || code == 206) {
            if (generation == null) {
                generation = r.header("x-goog-generation");
                if (pos == 0 && end == Long.MAX_VALUE && r.header("Content-Encoding") == null) {
                    expectedCrc = crc32c(r.headers("x-goog-hash"));
                }
            }
            response = r;
            body = r.body().byteStream();
            if (code == 200 && pos > 0) {
                body.skipNBytes(pos); // the server ignored the Range header
            } else if (code == 206) {
                String cr = r.header("Content-Range");
                if (cr != null && !cr.startsWith("bytes " + pos + "-")) {
                    r.close();
                    throw new SinkException("GCS answered a read of " + sink.where(key) + " from offset " + pos + " with the range '"
                            + cr + "'; the endpoint does not serve ranges correctly");
                }
            }
            return;
        }
        String text;
        try (r) {
            text = r.body() == null ? "" : r.body().string();
        }
        if (code == 416) {
            eof = true; // the range starts at or after the end of the object
            return;
        }
        if (code == 404) {
            Errors.checkBucket(sink, code, text, "read " + sink.where(key));
            if (first) {
                throw new NoSuchObjectException(key, sink.uri().toString());
            }
            throw new SinkException(sink.where(key) + " was deleted while it was being read; run the restore again");
        }
        if (code == 412) {
            throw new SinkException(sink.where(key) + " was replaced while it was being read (its generation changed); run the "
                    + "operation again");
        }
        throw Errors.of(sink, code, text, "read " + sink.where(key));
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("stream closed");
        }
        if (len == 0) {
            return 0;
        }
        while (true) {
            if (eof || pos >= end) {
                return -1;
            }
            try {
                int n = body.read(b, off, (int) Math.min(len, end - pos));
                if (n < 0) {
                    eof = true;
                    checkCrc();
                    return -1;
                }
                if (expectedCrc != null) {
                    crc.update(b, off, n);
                }
                pos += n;
                failures = 0;
                return n;
            } catch (IOException e) {
                failures++;
                closeResponse();
                if (failures >= sink.transport.retry.maxAttempts()) {
                    throw new IOException("reading " + sink.where(key) + " broke off at offset " + pos + " " + failures
                            + " times in a row (" + Transport.describe(e) + "); check the network and run again", e);
                }
                sink.transport.backoff(failures, "read " + sink.where(key) + " at offset " + pos, Transport.describe(e));
                connect(false);
            }
        }
    }

    static String crc32c(java.util.List<String> xGoogHash) {
        for (String h : xGoogHash) {
            for (String part : h.split(",")) {
                part = part.trim();
                if (part.startsWith("crc32c=")) {
                    return part.substring("crc32c=".length());
                }
            }
        }
        return null;
    }

    private void checkCrc() {
        if (expectedCrc == null) {
            return;
        }
        long v = crc.getValue();
        String actual = Base64.getEncoder().encodeToString(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
        if (!actual.equals(expectedCrc)) {
            throw new IntegrityException("the bytes read from " + sink.where(key) + " have CRC32C " + actual + " but GCS recorded "
                    + expectedCrc + " for the object: they were damaged on the way. Read it again; if it persists the stored "
                    + "object is damaged");
        }
        expectedCrc = null;
    }

    private void closeResponse() {
        if (response != null) {
            response.close();
            response = null;
            body = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        closeResponse();
    }
}
