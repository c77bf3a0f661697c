package dev.sgbackup.s3;

import java.io.IOException;
import java.io.InputStream;
import okhttp3.Response;

/**
 * The body of a GET. If the connection breaks mid-way, it asks again for the rest (a ranged GET pinned to
 * the same version with If-Match) instead of failing the whole read.
 */
final class ObjectStream extends InputStream {
    private final S3Sink sink;
    private final String key;
    private final String fullKey;
    private final long start;
    private final long endInclusive;
    private long pos;
    private String etag;
    private Response response;
    private InputStream in;
    private boolean closed;
    private int resumes;

    ObjectStream(S3Sink sink, String key, String fullKey, long start, long endInclusive) {
        this.sink = sink;
        this.key = key;
        this.fullKey = fullKey;
        this.start = start;
        this.endInclusive = endInclusive;
    }

    /** False if the range starts past the end of the object. */
    boolean open() throws IOException {
        Response r = sink.get(key, fullKey, start + pos, endInclusive, etag);
        if (r == null) {
            return false;
        }
        if (etag == null) {
            etag = r.header("ETag");
        }
        response = r;
        in = r.body().byteStream();
        return true;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream of s3://" + sink.bucket + "/" + fullKey + " is closed");
        }
        if (len == 0) {
            return 0;
        }
        while (true) {
            try {
                if (in == null) {
                    return -1;
                }
                int n = in.read(b, off, len);
                if (n > 0) {
                    pos += n;
                }
                return n;
            } catch (IOException e) {
                if (Thread.currentThread().isInterrupted() || ++resumes >= sink.client.maxAttempts
                        || e instanceof dev.sgbackup.sink.NoSuchObjectException) {
                    throw e;
                }
                release();
                if (!open()) {
                    in = null;
                }
            }
        }
    }

    private void release() {
        if (response != null) {
            response.close();
            response = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        release();
    }
}
