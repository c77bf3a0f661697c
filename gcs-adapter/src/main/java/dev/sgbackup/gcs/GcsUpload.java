package dev.sgbackup.gcs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.Base64;
import java.util.zip.CRC32C;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * One job, so one file: one object being written. Bytes collect in a buffer of at most one chunk. An object that ends within the
 * first chunk goes in one multipart request (metadata with its CRC32C + media). A bigger one opens a resumable
 * session: each full buffer is PUT as a non-final chunk (a multiple of 256 KiB); the {@code 308}'s
 * {@code Range} says how much GCS persisted, and whatever it did not keep stays in the buffer and leads the
 * next chunk. A failed chunk is followed by a status query ({@code Content-Range: bytes *}{@code /*}) and the
 * upload continues from the persisted offset. The final request carries the CRC32C in {@code X-Goog-Hash}; only
 * then does the object become visible. Aborting deletes the session.
 */
final class GcsUpload implements PendingObject {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup.gcs");
    private static final MediaType JSON = MediaType.get("application/json; charset=UTF-8");
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");
    private static final MediaType RELATED = MediaType.get("multipart/related");

    private final GcsSink sink;
    private final String key;
    private final String name;
    private final CRC32C crc = new CRC32C();
    private byte[] buf;
    private int len;
    private long bufStart;
    private HttpUrl session;
    private int failures;
    private boolean committed;
    private boolean closed;
    private boolean broken;
    /** The object resource from a status query that found the upload already complete. */
    private String lastObject;
    private final OutputStream out = new Out();

    /** A precondition on the object's live generation ({@code 0}: the object must not exist), or null. */
    private final Long ifGenerationMatch;

    GcsUpload(GcsSink sink, String key, String name) {
        this(sink, key, name, null);
    }

    GcsUpload(GcsSink sink, String key, String name, Long ifGenerationMatch) {
        this.sink = sink;
        this.key = key;
        this.name = name;
        this.ifGenerationMatch = ifGenerationMatch;
        this.buf = new byte[Math.min(64 * 1024, sink.chunkSize)];
    }

    /** GCS answered 412: the {@code ifGenerationMatch} precondition did not hold (with 0: the object exists). */
    static final class PreconditionFailed extends IOException {
        PreconditionFailed(String where) {
            super("the precondition on " + where + " did not hold (it exists)");
        }
    }

    private HttpUrl.Builder withPrecondition(HttpUrl.Builder url) {
        return ifGenerationMatch == null ? url : url.addQueryParameter("ifGenerationMatch", Long.toString(ifGenerationMatch));
    }

    @Override
    public OutputStream stream() {
        return out;
    }

    private final class Out extends OutputStream {
        private final byte[] one = new byte[1];

        @Override
        public void write(int b) throws IOException {
            one[0] = (byte) b;
            write(one, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int n) throws IOException {
            java.util.Objects.checkFromIndexSize(off, n, b.length);
            checkOpen("write to");
            while (n > 0) {
                while (len == sink.chunkSize) {
                    flushChunk(); // the buffer is full and more bytes follow: this chunk is not the last
                }
                if (len == buf.length) {
                    buf = java.util.Arrays.copyOf(buf, Math.min(sink.chunkSize, buf.length * 2));
                }
                int c = Math.min(n, buf.length - len);
                System.arraycopy(b, off, buf, len, c);
                crc.update(b, off, c);
                len += c;
                off += c;
                n -= c;
            }
        }

        @Override
        public void close() {
            // closing the stream neither commits nor aborts
        }
    }

    private void checkOpen(String what) {
        if (committed) {
            throw new IllegalStateException("cannot " + what + " " + sink.where(key) + ": it is already committed");
        }
        if (closed) {
            throw new IllegalStateException("cannot " + what + " " + sink.where(key) + ": the upload was aborted (closed before commit)");
        }
        if (broken) {
            throw new IllegalStateException("cannot " + what + " " + sink.where(key) + ": an earlier upload request failed; "
                    + "close it and write the object again");
        }
    }

    long total() {
        return bufStart + len;
    }

    String crc32c() {
        long v = crc.getValue();
        byte[] b = {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        return Base64.getEncoder().encodeToString(b);
    }

    private void flushChunk() throws IOException {
        try {
            if (session == null) {
                session = startSession();
            }
            int send = (len / GcsSink.QUANTUM) * GcsSink.QUANTUM;
            Request put = new Request.Builder().url(session)
                    .header("Content-Range", "bytes " + bufStart + "-" + (bufStart + send - 1) + "/*")
                    .put(RequestBody.create(buf, OCTETS, 0, send))
                    .build();
            long before = bufStart;
            String why;
            try (Response r = sink.transport.once(put, sink.credentials)) {
                String body = r.body() == null ? "" : r.body().string();
                int code = r.code();
                if (code == 308) {
                    advance(persisted(r), before + send);
                    if (bufStart > before) {
                        failures = 0;
                        return;
                    }
                    why = "GCS persisted none of the chunk";
                } else if (code == 401 || RetryPolicy.retryable(code)) {
                    if (code == 401) {
                        sink.credentials.invalidate();
                    }
                    why = "HTTP " + code;
                } else if (code == 404 || code == 410) {
                    throw expired(code);
                } else if (code == 200 || code == 201) {
                    throw new SinkException("GCS finished the upload of " + sink.where(key) + " before its last chunk; this is a bug, report it");
                } else {
                    throw Errors.of(sink, code, body, "upload " + sink.where(key));
                }
            } catch (IOException e) {
                why = Transport.describe(e);
            }
            recover(why);
        } catch (RuntimeException | IOException e) {
            broken = true;
            throw e;
        }
    }

    /** After a failed request: count it, back off, ask GCS how much it has, and continue from there. */
    private void recover(String why) throws IOException {
        failures++;
        String what = "upload chunk of " + sink.where(key) + " at offset " + bufStart;
        if (failures >= sink.transport.retry.maxAttempts()) {
            throw new SinkException("uploading " + sink.where(key) + " failed " + failures + " times in a row at offset " + bufStart
                    + " (" + why + "); nothing was committed. Check the network and GCS status, then run the backup again");
        }
        sink.transport.backoff(failures, what, why);
        Long done = queryStatus();
        if (done == null) {
            throw new SinkException("GCS reports the upload of " + sink.where(key) + " complete before its last chunk; report this bug");
        }
    }

    /** Returns null when the object is complete (200/201), else advances to the persisted offset. */
    private Long queryStatus() throws IOException {
        Request status = new Request.Builder().url(session)
                .header("Content-Range", "bytes */*")
                .put(RequestBody.create(new byte[0], null))
                .build();
        Response r;
        try {
            r = sink.transport.call(status, sink.credentials, "status query for the upload of " + sink.where(key));
        } catch (IOException e) {
            throw new SinkException("cannot reach GCS to resume the upload of " + sink.where(key) + " (" + Transport.describe(e)
                    + "); nothing was committed. Check the network, then run the backup again", e);
        }
        try (r) {
            String body = r.body() == null ? "" : r.body().string();
            int code = r.code();
            if (code == 308) {
                advance(persisted(r), bufStart + len);
                return bufStart;
            }
            if (code == 200 || code == 201) {
                lastObject = body;
                return null;
            }
            if (code == 404 || code == 410) {
                throw expired(code);
            }
            throw Errors.of(sink, code, body, "resume the upload of " + sink.where(key));
        }
    }

    private SinkException expired(int code) {
        return new SinkException("the GCS resumable upload session for " + sink.where(key) + " has expired or was cancelled (HTTP "
                + code + ") after " + bufStart + " bytes; nothing was committed under that name. Run the backup again "
                + "(sessions live one week; a long pause or another process cancelling it ends one)");
    }

    /** The persisted size from a 308's {@code Range: bytes=0-N} (no header: nothing persisted). */
    private long persisted(Response r) {
        String range = r.header("Range");
        if (range == null) {
            return 0;
        }
        int dash = range.lastIndexOf('-');
        try {
            return Long.parseLong(range.substring(dash + 1).trim()) + 1;
        } catch (RuntimeException e) {
            throw new SinkException("GCS answered the upload of " + sink.where(key) + " with an unreadable Range header '" + range + "'");
        }
    }

    /** Drops the bytes GCS confirmed; {@code sentEnd} is the end of what was sent (more cannot be persisted). */
    private void advance(long persisted, long sentEnd) {
        if (persisted < bufStart || persisted > sentEnd) {
            throw new SinkException("GCS reports " + persisted + " bytes of " + sink.where(key) + " persisted, but " + bufStart
                    + " were already confirmed and " + sentEnd + " sent; the session is inconsistent. Nothing was "
                    + "committed; run the backup again");
        }
        int drop = (int) (persisted - bufStart);
        if (drop > 0) {
            System.arraycopy(buf, drop, buf, 0, len - drop);
            len -= drop;
            bufStart = persisted;
        }
    }

    private HttpUrl startSession() throws IOException {
        HttpUrl url = withPrecondition(sink.uploadUrl().addQueryParameter("uploadType", "resumable").addQueryParameter("name", name)).build();
        String meta = Json.write(Json.object().put("name", name));
        Request post = new Request.Builder().url(url)
                .header("X-Upload-Content-Type", "application/octet-stream")
                .post(RequestBody.create(meta, JSON))
                .build();
        try (Response r = sink.transport.call(post, sink.credentials, "start the upload of " + sink.where(key))) {
            String body = r.body() == null ? "" : r.body().string();
            if (!r.isSuccessful()) {
                throw Errors.of(sink, r.code(), body, "start the upload of " + sink.where(key));
            }
            String location = r.header("Location");
            HttpUrl s = location == null ? null : r.request().url().resolve(location);
            if (s == null) {
                throw new SinkException("GCS started an upload of " + sink.where(key) + " without a session URI (Location header); "
                        + "is the endpoint " + sink.endpoint + " really GCS?");
            }
            LOG.log(Level.DEBUG, () -> "started a resumable upload of " + sink.where(key));
            return s;
        }
    }

    @Override
    public void commit() throws IOException {
        if (committed) {
            return;
        }
        checkOpen("commit");
        try {
            if (session == null) {
                uploadInOneRequest();
            } else {
                finish();
            }
            committed = true;
            buf = null;
        } catch (RuntimeException | IOException e) {
            broken = true;
            throw e;
        }
    }

    private void uploadInOneRequest() throws IOException {
        HttpUrl url = withPrecondition(sink.uploadUrl().addQueryParameter("uploadType", "multipart")).build();
        String meta = Json.write(Json.object().put("name", name).put("crc32c", crc32c()));
        MultipartBody body = new MultipartBody.Builder()
                .setType(RELATED)
                .addPart(RequestBody.create(meta, JSON))
                .addPart(RequestBody.create(buf, OCTETS, 0, len))
                .build();
        Request post = new Request.Builder().url(url).post(body).build();
        try (Response r = sink.transport.call(post, sink.credentials, "upload " + sink.where(key))) {
            String text = r.body() == null ? "" : r.body().string();
            if (r.code() == 412 && ifGenerationMatch != null) {
                throw new PreconditionFailed(sink.where(key));
            }
            if (!r.isSuccessful()) {
                throw Errors.of(sink, r.code(), text, "upload " + sink.where(key));
            }
            verify(text);
        }
    }

    private void finish() throws IOException {
        long total = total();
        String hash = "crc32c=" + crc32c();
        while (true) {
            String range = len > 0 ? "bytes " + bufStart + "-" + (bufStart + len - 1) + "/" + total : "bytes */" + total;
            Request put = new Request.Builder().url(session)
                    .header("Content-Range", range)
                    .header("X-Goog-Hash", hash)
                    .put(RequestBody.create(buf, OCTETS, 0, len))
                    .build();
            long before = bufStart;
            String why;
            try (Response r = sink.transport.once(put, sink.credentials)) {
                String body = r.body() == null ? "" : r.body().string();
                int code = r.code();
                if (code == 200 || code == 201) {
                    verify(body);
                    return;
                }
                if (code == 308) {
                    advance(persisted(r), total);
                    if (bufStart > before) {
                        failures = 0;
                        continue; // GCS kept part of the last request: send the rest
                    }
                    why = "GCS persisted none of the final request";
                } else if (code == 401 || RetryPolicy.retryable(code)) {
                    if (code == 401) {
                        sink.credentials.invalidate();
                    }
                    why = "HTTP " + code;
                } else if (code == 404 || code == 410) {
                    throw expired(code);
                } else {
                    throw Errors.of(sink, code, body, "finish the upload of " + sink.where(key));
                }
            } catch (IOException e) {
                why = Transport.describe(e);
            }
            failures++;
            if (failures >= sink.transport.retry.maxAttempts()) {
                throw new SinkException("finishing the upload of " + sink.where(key) + " failed " + failures + " times in a row ("
                        + why + "); nothing was committed. Check the network and GCS status, then run the backup again");
            }
            sink.transport.backoff(failures, "finish the upload of " + sink.where(key), why);
            if (queryStatus() == null) {
                verify(lastObject); // the final request had succeeded; only its answer was lost
                return;
            }
        }
    }

    /** Checks GCS's object resource against what was written; a mismatch deletes the object again. */
    private void verify(String objectJson) throws IOException {
        JsonNode j;
        try {
            j = Json.parse(objectJson);
        } catch (IOException e) {
            return; // e.g. an emulator that answers without a body: nothing to compare
        }
        if (j == null || !j.isObject()) {
            return;
        }
        long size = j.path("size").asLong(-1);
        String theirs = Json.text(j, "crc32c");
        boolean sizeBad = j.has("size") && size != total();
        boolean crcBad = theirs != null && !theirs.equals(crc32c());
        if (sizeBad || crcBad) {
            try {
                sink.delete(key);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "could not delete the damaged object " + sink.where(key) + ": " + e.getMessage());
            }
            throw new IntegrityException("GCS stored " + sink.where(key) + " with " + (sizeBad ? "size " + size + " instead of " + total()
                    : "CRC32C " + theirs + " instead of " + crc32c()) + "; the object was deleted again. Run the backup again");
        }
    }

    @Override
    public void close() throws IOException {
        if (committed || closed) {
            closed = true;
            return;
        }
        closed = true;
        buf = null;
        if (session != null) {
            HttpUrl s = session;
            session = null;
            // an interrupted thread (Ctrl-C) still gets one attempt at cancelling the session
            boolean interrupted = Thread.interrupted();
            Request cancel = new Request.Builder().url(s).delete().build();
            try (Response r = sink.transport.once(cancel, sink.credentials)) {
                // GCS answers 499 for a cancelled session; 404/410 mean it is already gone
                if (r.code() != 499 && r.code() != 404 && r.code() != 410 && !r.isSuccessful()) {
                    LOG.log(Level.DEBUG, () -> "cancelling the upload of " + sink.where(key) + " answered HTTP " + r.code()
                            + "; the session expires by itself within a week and was never visible");
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.DEBUG, () -> "cancelling the upload of " + sink.where(key) + " failed (" + e.getClass().getSimpleName()
                        + "); the session expires by itself within a week and was never visible");
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public String toString() {
        return "GcsUpload[" + sink.where(key) + ", " + total() + " bytes" + (committed ? ", committed" : closed ? ", aborted" : "") + "]";
    }
}
