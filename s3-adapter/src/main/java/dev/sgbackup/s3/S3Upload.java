package dev.sgbackup.s3;

import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.w3c.dom.Element;

/**
 * One object being written. Small objects (the whole stream fits in the first part) are sent with one PUT on
 * commit; larger ones become a multipart upload whose parts go up in parallel while the caller writes.
 * Visible only after CompleteMultipartUpload; on close without commit, or any failure, the upload is aborted.
 */
final class S3Upload implements PendingObject {
    static final long MIB = 1024 * 1024;
    static final int MAX_PARTS = 10_000;
    private static final System.Logger LOG = System.getLogger(S3Upload.class.getName());

    private final S3Sink sink;
    private final S3Client client;
    private final String key;
    private final long expectedSize;
    private final Semaphore inFlight;
    private final List<Future<?>> futures = new ArrayList<>();
    private final ConcurrentSkipListMap<Integer, String[]> done = new ConcurrentSkipListMap<>(); // etag, md5 hex
    private final Map<Integer, byte[]> md5s = new java.util.concurrent.ConcurrentHashMap<>();
    private final OutputStream stream = new Out();
    private final java.util.Set<Thread> running = new java.util.HashSet<>(); // guarded by itself
    private PartBuffer current;
    private int partNumber = 1;
    private long total;
    private String uploadId;
    private volatile Throwable failure;
    private boolean committed;
    private boolean closed;

    S3Upload(S3Sink sink, String key, long expectedSize) {
        this.sink = sink;
        this.client = sink.client;
        this.key = key;
        this.expectedSize = expectedSize;
        this.inFlight = new Semaphore(sink.parallelism);
        this.current = new PartBuffer(sink.pool);
    }

    /** The part size for part {@code n} (1-based), per the rules in the issue. */
    static long partSize(long minPart, long expectedSize, int n) {
        if (expectedSize >= 0) {
            long base = Math.max(minPart, (expectedSize + 8999) / 9000);
            if (n <= 9000) {
                return base;
            }
            // more bytes than announced: keep going, doubling every 100 parts so 10,000 parts still suffice
            return base << Math.min(10, (n - 9001) / 100 + 1);
        }
        return minPart << Math.min(10, (n - 1) / 1000);
    }

    private long currentPartSize() {
        return partSize(sink.minPartSize, expectedSize, partNumber);
    }

    @Override
    public OutputStream stream() {
        return stream;
    }

    private final class Out extends OutputStream {
        private final byte[] one = new byte[1];

        @Override
        public void write(int b) throws IOException {
            one[0] = (byte) b;
            write(one, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            checkWritable();
            while (len > 0) {
                long room = currentPartSize() - current.size();
                int n = (int) Math.min(len, room);
                current.write(b, off, n);
                total += n;
                off += n;
                len -= n;
                if (current.size() >= currentPartSize()) {
                    handOff();
                }
            }
        }

        @Override
        public void close() {
            // closing the stream does not commit
        }
    }

    private void checkWritable() throws IOException {
        if (committed) {
            throw new IOException("s3://" + client.bucket + "/" + key + " is already committed; create a new object");
        }
        if (closed) {
            throw new IOException("upload of s3://" + client.bucket + "/" + key + " was closed (aborted)");
        }
        rethrowFailure();
    }

    private void rethrowFailure() throws IOException {
        Throwable f = failure;
        if (f != null) {
            if (f instanceof S3Exception s) {
                throw s;
            }
            throw new IOException("uploading s3://" + client.bucket + "/" + key + " failed: " + f.getMessage(), f);
        }
    }

    /** Sends the full current part in the background and starts a new one. */
    private void handOff() throws IOException {
        if (partNumber > MAX_PARTS) {
            throw new IOException("s3://" + client.bucket + "/" + key + " needs more than " + MAX_PARTS
                    + " parts: the expected size " + expectedSize + " was far too small; pass the real size or -1");
        }
        if (uploadId == null) {
            uploadId = createMultipart();
        }
        acquireSlot();
        PartBuffer part = current;
        int number = partNumber++;
        current = new PartBuffer(sink.pool);
        String id = uploadId;
        futures.add(sink.executor.submit(() -> {
            synchronized (running) {
                running.add(Thread.currentThread());
            }
            try {
                if (failure == null) {
                    uploadPart(id, number, part);
                }
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                }
            } finally {
                synchronized (running) {
                    running.remove(Thread.currentThread());
                    Thread.interrupted(); // an abort's interrupt must not leak into the pool thread's next task
                }
                part.release();
                inFlight.release();
            }
        }));
    }

    private void acquireSlot() throws IOException {
        try {
            while (!inFlight.tryAcquire(200, TimeUnit.MILLISECONDS)) {
                rethrowFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while uploading s3://" + client.bucket + "/" + key);
        }
        try {
            rethrowFailure();
        } catch (IOException | RuntimeException e) {
            inFlight.release();
            throw e;
        }
    }

    private String createMultipart() throws IOException {
        Instant started = client.clock.instant();
        S3Client.Req req = new S3Client.Req("CreateMultipartUpload", "POST", key).query("uploads", "");
        S3Client.Result r = client.execute(req);
        String id = Xml.text(r.xml("CreateMultipartUpload"), "UploadId");
        if (id == null || id.isBlank()) {
            throw new IOException("S3 CreateMultipartUpload for s3://" + client.bucket + "/" + key
                    + " answered without an UploadId");
        }
        if (r.attempts() > 1) {
            // an earlier attempt may have created an upload whose answer was lost: abort those extras
            try {
                sink.abortUploads(key, started.minusSeconds(300), id, true);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "could not check for extra uploads of {0}: {1}", key,
                        e.getMessage());
            }
        }
        return id;
    }

    private void uploadPart(String id, int number, PartBuffer part) throws IOException {
        S3Client.Req req = new S3Client.Req("UploadPart", "PUT", key)
                .query("partNumber", Integer.toString(number)).query("uploadId", id)
                .body(part, true);
        S3Client.Result r = client.execute(req);
        String etag = r.headers().get("ETag");
        if (etag == null) {
            throw new IOException("S3 UploadPart " + number + " of s3://" + client.bucket + "/" + key
                    + " answered without an ETag");
        }
        byte[] md5 = part.md5();
        md5s.put(number, md5);
        done.put(number, new String[] {etag, SigV4.hex(md5)});
    }

    @Override
    public synchronized void commit() throws IOException {
        if (committed) {
            return;
        }
        if (closed) {
            throw new IOException("upload of s3://" + client.bucket + "/" + key + " was closed (aborted); cannot commit");
        }
        rethrowFailure();
        try {
            if (uploadId == null) {
                S3Client.Req req = new S3Client.Req("PutObject", "PUT", key).body(current, true);
                client.execute(req);
                current.release();
            } else {
                if (current.size() > 0) {
                    handOff();
                }
                current.release();
                waitForParts();
                rethrowFailure();
                complete();
            }
            committed = true;
        } catch (IOException | RuntimeException | Error e) {
            abortQuietly(e);
            throw e;
        }
    }

    private void waitForParts() throws IOException {
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while uploading s3://" + client.bucket + "/" + key);
            } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                // the task records its own failure
            }
        }
    }

    /** The ETag S3 gives a completed multipart object: MD5 of the parts' MD5s, a dash, the part count. */
    String expectedMultipartEtag() {
        MessageDigest m = SigV4.md5();
        for (byte[] d : md5s.values().isEmpty() ? List.<byte[]>of()
                : new java.util.TreeMap<>(md5s).values()) {
            m.update(d);
        }
        return SigV4.hex(m.digest()) + "-" + md5s.size();
    }

    private void complete() throws IOException {
        StringBuilder xml = new StringBuilder("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        int expect = 1;
        for (Map.Entry<Integer, String[]> e : done.entrySet()) {
            if (e.getKey() != expect++) {
                throw new IOException("part " + (expect - 1) + " of s3://" + client.bucket + "/" + key + " is missing");
            }
            xml.append("<Part><PartNumber>").append(e.getKey()).append("</PartNumber><ETag>")
                    .append(Xml.escape(e.getValue()[0])).append("</ETag></Part>");
        }
        xml.append("</CompleteMultipartUpload>");
        if (done.size() != partNumber - 1) {
            throw new IOException("only " + done.size() + " of " + (partNumber - 1) + " parts of s3://"
                    + client.bucket + "/" + key + " were uploaded");
        }
        S3Client.Req req = new S3Client.Req("CompleteMultipartUpload", "POST", key).query("uploadId", uploadId)
                .body(Body.of(xml.toString().getBytes(StandardCharsets.UTF_8)), false).accept(404);
        S3Client.Result r = client.execute(req);
        if (r.status() == 404) {
            String expected = expectedMultipartEtag();
            if (r.attempts() > 1 && "NoSuchUpload".equals(r.errorCode())) {
                // our earlier attempt may have completed it and only the answer was lost: check the object
                String etag = sink.headEtag(key);
                if (etag != null && etag.replace("\"", "").equalsIgnoreCase(expected)) {
                    LOG.log(System.Logger.Level.DEBUG, "CompleteMultipartUpload of {0} retried; the object has the"
                            + " expected ETag {1}", key, expected);
                    uploadId = null;
                    return;
                }
                throw new S3Exception("S3 CompleteMultipartUpload s3://" + client.bucket + "/" + key
                        + " was retried and S3 no longer knows upload " + uploadId + ", but the object "
                        + (etag == null ? "does not exist" : "has ETag " + etag + ", not the expected " + expected)
                        + ". Fix: run the backup again (another writer or a prune removed the upload)",
                        "NoSuchUpload", 404, null, null);
            }
            throw client.error(req, 404, r.errorCode(), null, r.headers().get("x-amz-request-id"), r.attempts(),
                    null);
        }
        uploadId = null; // completed: nothing left to abort
    }

    private void abortQuietly(Throwable cause) {
        try {
            abort();
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private void abort() throws IOException {
        if (failure == null) {
            failure = new IOException("aborted");
        }
        synchronized (running) {
            running.forEach(Thread::interrupt); // stop retry back-offs and transfers of this upload's parts
        }
        waitForParts(); // parts in flight end first, so none lands after the abort
        current.release();
        if (uploadId != null) {
            String id = uploadId;
            S3Client.Req req = new S3Client.Req("AbortMultipartUpload", "DELETE", key).query("uploadId", id)
                    .accept(404);
            client.execute(req);
            uploadId = null;
            LOG.log(System.Logger.Level.DEBUG, "aborted multipart upload of {0}", key);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (committed) {
            current.release();
            return;
        }
        try {
            abort();
        } catch (IOException e) {
            throw new IOException("aborting the upload of s3://" + client.bucket + "/" + key + " failed: "
                    + e.getMessage() + "; the parts are removed by the next prune (removeStaleUploads)", e);
        }
    }

    @Override
    public String toString() {
        return "S3Upload[s3://" + client.bucket + "/" + key + ", " + total + " bytes"
                + (committed ? ", committed" : closed ? ", aborted" : "") + "]";
    }
}
