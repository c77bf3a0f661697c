package dev.sgbackup.s3;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Keys;
import dev.sgbackup.sink.ListPage;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Response;
import org.w3c.dom.Element;

/**
 * One job, in one file of about 500 lines: the {@link BackupSink} operations over S3's object API (requests are
 * signed and sent by {@link S3Client}, uploads run in {@link S3Upload}).
 *
 * <p>A {@link BackupSink} in an S3 bucket (AWS, or any S3-compatible store: MinIO, Ceph, R2, ...), on OkHttp,
 * signed with SigV4, without the AWS SDK.
 *
 * <pre>{@code
 * BackupSink sink = S3Sink.builder("my-bucket").prefix("sourcegraph").region("eu-west-1").build();
 * BackupSink minio = S3Sink.builder("backups").endpoint("http://localhost:9000")
 *         .credentials(S3Credentials.of("minio", "minio123")).build();
 * }</pre>
 *
 * Or by URI through the core's provider lookup: {@code s3://bucket/prefix?region=eu-west-1&endpoint=...}.
 * Credentials come from the builder or the environment, in the order the AWS tools use.
 */
public final class S3Sink implements BackupSink {
    private static final System.Logger LOG = System.getLogger(S3Sink.class.getName());

    final S3Client client;
    final String bucket;
    final String root; // "" or "prefix/"
    final int listPageSize;
    final int parallelism;
    final long minPartSize;
    final PartBuffer.Pool pool;
    final ExecutorService executor;
    private final URI uri;

    private S3Sink(Builder b, S3Client client, URI uri) {
        this.client = client;
        this.bucket = b.bucket;
        this.root = b.prefix.isEmpty() ? "" : b.prefix + "/";
        this.listPageSize = b.listPageSize;
        this.parallelism = b.parallelism;
        this.minPartSize = b.minPartSize;
        this.pool = new PartBuffer.Pool(b.memoryBudget, b.tempDir);
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor ex = new ThreadPoolExecutor(b.parallelism, b.parallelism, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "sgbackup-s3-upload-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ex.allowCoreThreadTimeOut(true);
        this.executor = ex;
        this.uri = uri;
    }

    /** Starts a sink on {@code bucket}. */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    /** Options of an {@link S3Sink}; every one has a default that works on AWS. */
    public static final class Builder {
        private final String bucket;
        private String prefix = "";
        private String region;
        private String endpoint;
        private Boolean pathStyle;
        private S3Credentials credentials;
        private OkHttpClient httpClient;
        private long memoryBudget = 64L * 1024 * 1024;
        private int parallelism = 4;
        private int listPageSize = 1000;
        private int maxAttempts = 8;
        private Path tempDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Function<String, String> env = System::getenv;
        private Path home = Path.of(System.getProperty("user.home"));
        private Clock clock = Clock.systemUTC();
        private Duration baseDelay = Duration.ofMillis(200);
        private Duration maxDelay = Duration.ofSeconds(20);
        private long minPartSize = 8 * S3Upload.MIB;

        private Builder(String bucket) {
            if (bucket == null || bucket.isBlank() || bucket.contains("/") || bucket.length() > 255) {
                throw new InvalidInputException("bucket name '" + bucket + "' is not valid; give just the bucket,"
                        + " e.g. S3Sink.builder(\"my-bucket\").prefix(\"path/inside\")");
            }
            this.bucket = bucket;
        }

        /** Key prefix inside the bucket (no leading or trailing slash needed). */
        public Builder prefix(String prefix) {
            String p = prefix == null ? "" : prefix.strip();
            this.prefix = dev.sgbackup.sink.Keys.trimSlashes(p);
            return this;
        }

        /** AWS region; default from AWS_REGION, AWS_DEFAULT_REGION, the profile, else us-east-1 (corrected once). */
        public Builder region(String region) {
            this.region = region;
            return this;
        }

        /** Endpoint of an S3-compatible store, e.g. {@code http://localhost:9000}; implies path-style. */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        public Builder endpoint(URI endpoint) {
            return endpoint(endpoint.toString());
        }

        /** Forces path-style ({@code host/bucket/key}) or virtual-hosted ({@code bucket.host/key}) addressing. */
        public Builder pathStyle(boolean pathStyle) {
            this.pathStyle = pathStyle;
            return this;
        }

        /** Explicit credentials (otherwise: environment, web identity, profile, container, instance metadata). */
        public Builder credentials(S3Credentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        public Builder credentials(String accessKeyId, String secretAccessKey) {
            return credentials(S3Credentials.of(accessKeyId, secretAccessKey));
        }

        /** An OkHttpClient to share (its pool, dispatcher, proxy and TLS settings). */
        public Builder httpClient(OkHttpClient client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Heap for buffering parts across all uploads of this sink (default 64 MiB); beyond it, temp files. */
        public Builder memoryBudget(long bytes) {
            if (bytes < 0) {
                throw new InvalidInputException("memoryBudget must be >= 0, was " + bytes);
            }
            this.memoryBudget = bytes;
            return this;
        }

        /** Parts uploaded at the same time (default 4). */
        public Builder parallelism(int parts) {
            if (parts < 1 || parts > 64) {
                throw new InvalidInputException("parallelism must be 1..64, was " + parts);
            }
            this.parallelism = parts;
            return this;
        }

        /** Keys per ListObjectsV2 page (1..1000, default 1000). */
        public Builder listPageSize(int keys) {
            if (keys < 1 || keys > 1000) {
                throw new InvalidInputException("listPageSize must be 1..1000 (S3's max-keys), was " + keys);
            }
            this.listPageSize = keys;
            return this;
        }

        /** Attempts per request before giving up (default 8). */
        public Builder maxAttempts(int attempts) {
            if (attempts < 1) {
                throw new InvalidInputException("maxAttempts must be >= 1, was " + attempts);
            }
            this.maxAttempts = attempts;
            return this;
        }

        /** Where parts beyond the memory budget are buffered (default java.io.tmpdir). */
        public Builder tempDir(Path dir) {
            this.tempDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        Builder env(Map<String, String> vars) {
            this.env = vars::get;
            return this;
        }

        Builder home(Path home) {
            this.home = home;
            return this;
        }

        Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        Builder retryDelays(Duration base, Duration max) {
            this.baseDelay = base;
            this.maxDelay = max;
            return this;
        }

        Builder minPartSize(long bytes) {
            this.minPartSize = bytes;
            return this;
        }

        public S3Sink build() {
            String reg = firstNonBlank(region, env.apply("AWS_REGION"), env.apply("AWS_DEFAULT_REGION"));
            if (reg == null) {
                reg = new AwsProfiles(env, home).get("region");
            }
            if (reg == null || reg.isBlank()) {
                reg = "us-east-1";
            }
            String ep = firstNonBlank(endpoint, env.apply("AWS_ENDPOINT_URL_S3"), env.apply("AWS_ENDPOINT_URL"));
            HttpUrl epUrl = null;
            if (ep != null) {
                epUrl = HttpUrl.parse(ep.strip());
                if (epUrl == null) {
                    throw new InvalidInputException("endpoint '" + ep + "' is not an http(s) URL; use e.g."
                            + " http://localhost:9000 (from the builder, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)");
                }
                if (!epUrl.username().isEmpty() || !epUrl.password().isEmpty()) {
                    throw new InvalidInputException("endpoint must not carry credentials; pass them with"
                            + " .credentials(..) or the environment");
                }
            }
            boolean ps = pathStyle != null ? pathStyle : epUrl != null || bucket.contains(".");
            OkHttpClient base = httpClient != null ? httpClient : new OkHttpClient.Builder()
                    .connectTimeout(Duration.ofSeconds(10)).readTimeout(Duration.ofSeconds(60))
                    .writeTimeout(Duration.ofSeconds(60)).build();
            // No redirects (S3's 301 means "wrong region"), and no silent re-sends inside OkHttp: every retry goes
            // through S3Client, which must know that a request was sent twice (CompleteMultipartUpload).
            OkHttpClient http = base.newBuilder().followRedirects(false).followSslRedirects(false)
                    .retryOnConnectionFailure(false)
                    .socketFactory(base.socketFactory() instanceof NoDelaySocketFactory ? base.socketFactory()
                            : new NoDelaySocketFactory(base.socketFactory()))
                    .build();
            CredentialsChain chain = new CredentialsChain(credentials, env, home, http, clock, reg);
            S3Client c = new S3Client(http, chain, bucket, epUrl, ps, reg, clock, maxAttempts, baseDelay, maxDelay);
            StringBuilder u = new StringBuilder("s3://").append(bucket).append('/').append(SigV4.encode(prefix, false));
            if (epUrl != null) {
                u.append("?endpoint=").append(SigV4.encode(epUrl.toString().replaceAll("/$", ""), false)
                        .replace("%3A", ":"));
            }
            return new S3Sink(this, c, URI.create(u.toString()));
        }

        private static String firstNonBlank(String... s) {
            for (String x : s) {
                if (x != null && !x.isBlank()) {
                    return x.strip();
                }
            }
            return null;
        }
    }

    @Override
    public URI uri() {
        return uri;
    }

    /** The region requests are signed for (after a correction from {@code x-amz-bucket-region}). */
    public String region() {
        return client.region();
    }

    private String full(String key) {
        return root + Keys.check(key);
    }

    @Override
    public PendingObject create(String key) {
        return new S3Upload(this, full(key), -1);
    }

    @Override
    public PendingObject create(String key, long expectedSize) {
        return new S3Upload(this, full(key), expectedSize < 0 ? -1 : expectedSize);
    }

    @Override
    public InputStream read(String key) throws IOException {
        return open(key, 0, -1);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        if (offset < 0 || length < 0) {
            throw new InvalidInputException("offset and length must be >= 0, were " + offset + ", " + length);
        }
        if (length == 0) {
            if (stat(key).isEmpty()) {
                throw new NoSuchObjectException(key, uri.toString());
            }
            return InputStream.nullInputStream();
        }
        long end = offset + length - 1;
        if (end < 0) {
            end = Long.MAX_VALUE - 1;
        }
        return open(key, offset, end);
    }

    private InputStream open(String key, long start, long endInclusive) throws IOException {
        ObjectStream s = new ObjectStream(this, key, full(key), start, endInclusive);
        if (!s.open()) {
            return InputStream.nullInputStream();
        }
        return s;
    }

    /** GET with a range, for {@link ObjectStream}. Null for a range starting past the end. */
    Response get(String key, String fullKey, long start, long endInclusive, String ifMatch) throws IOException {
        S3Client.Req req = new S3Client.Req("GetObject", "GET", fullKey).accept(416);
        if (start > 0 || endInclusive >= 0) {
            req.header("range", "bytes=" + start + "-" + (endInclusive >= 0 ? endInclusive : ""));
        }
        if (ifMatch != null) {
            req.header("if-match", ifMatch);
        }
        Response r;
        try {
            r = client.stream(req);
        } catch (S3Exception e) {
            if (e.httpStatus() == 404 && !"NoSuchBucket".equals(e.code())) {
                throw new NoSuchObjectException(key, uri.toString());
            }
            throw e;
        }
        if (r.code() == 416) {
            r.close();
            return null;
        }
        return r;
    }

    /**
     * {@code PutObject} with {@code If-None-Match: *}: 200 creates, 412 (Precondition Failed) means the key exists.
     * A 409 (ConditionalRequestConflict: a write or delete of the key ran at the same time) is retried, as AWS
     * advises. A 412 whose object holds exactly these bytes is this writer's own earlier attempt (a retried
     * request whose first answer was lost), so it answers true; callers make their content unique (a lock names
     * its owner and a random token). Refused when the endpoint ignores the header ({@link #conditionalCreate()}).
     */
    @Override
    public boolean putIfAbsent(String key, byte[] content) throws IOException {
        if (!conditionalCreate()) {
            throw new UnsupportedOperationException(uri + " ignores If-None-Match on PutObject (checked by writing a probe object"
                    + " twice): sgbackup cannot coordinate several writers on it; use AWS S3, MinIO, R2 or another endpoint that"
                    + " honours conditional writes");
        }
        return conditionalPut(key, content);
    }

    private boolean conditionalPut(String key, byte[] content) throws IOException {
        String k = full(key);
        for (int attempt = 1; ; attempt++) {
            S3Client.Result r = client.execute(new S3Client.Req("PutObject", "PUT", k).header("If-None-Match", "*")
                    .body(Body.of(content), true).accept(409, 412));
            if (r.status() == 412) {
                try (InputStream in = read(key)) {
                    return java.util.Arrays.equals(in.readNBytes(content.length + 1), content);
                } catch (dev.sgbackup.sink.NoSuchObjectException gone) {
                    continue; // deleted since: try again
                }
            }
            if (r.status() == 409) {
                if (attempt >= 5) {
                    throw new IOException("PutObject of s3://" + client.bucket + "/" + k + " with If-None-Match kept meeting a"
                            + " concurrent write (409 ConditionalRequestConflict, " + attempt + " attempts)");
                }
                continue;
            }
            return true;
        }
    }

    private volatile Boolean conditional;

    /**
     * Whether the endpoint honours {@code If-None-Match: *} on PutObject. Checked once per sink: a probe object is
     * created twice under {@code sgbackup-probe/}; an endpoint that lets the second write replace the first ignores
     * the header. The probe is deleted.
     */
    @Override
    public boolean conditionalCreate() throws IOException {
        Boolean c = conditional;
        if (c == null) {
            synchronized (this) {
                c = conditional;
                if (c == null) {
                    String probe = "sgbackup-probe/conditional-" + java.util.UUID.randomUUID();
                    try {
                        boolean first = conditionalPut(probe, "first".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        boolean second = conditionalPut(probe, "second".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        c = first && !second;
                    } finally {
                        delete(probe);
                    }
                    conditional = c;
                }
            }
        }
        return c;
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        S3Client.Result r = client.execute(new S3Client.Req("HeadObject", "HEAD", full(key)).accept(404));
        if (r.status() == 404) {
            return Optional.empty();
        }
        String len = r.headers().get("Content-Length");
        String lm = r.headers().get("Last-Modified");
        Instant t = lm == null ? Instant.EPOCH
                : ZonedDateTime.parse(lm, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        return Optional.of(new ObjectInfo(key, len == null ? 0 : Long.parseLong(len), t));
    }

    String headEtag(String fullKey) throws IOException {
        S3Client.Result r = client.execute(new S3Client.Req("HeadObject", "HEAD", fullKey).accept(404));
        return r.status() == 404 ? null : r.headers().get("ETag");
    }

    @Override
    public ListPage list(String prefix, String pageToken) throws IOException {
        S3Client.Req req = new S3Client.Req("ListObjectsV2", "GET", null).query("list-type", "2")
                .query("max-keys", Integer.toString(listPageSize)).query("prefix", root + Keys.checkPrefix(prefix));
        if (pageToken != null) {
            req.query("continuation-token", pageToken);
        }
        Element x = client.execute(req).xml("ListObjectsV2");
        List<ObjectInfo> out = new ArrayList<>();
        for (Element c : Xml.children(x, "Contents")) {
            String k = Xml.text(c, "Key");
            if (k == null || !k.startsWith(root)) {
                continue;
            }
            String lm = Xml.text(c, "LastModified");
            out.add(new ObjectInfo(k.substring(root.length()), Long.parseLong(Xml.text(c, "Size").strip()),
                    lm == null ? Instant.EPOCH : Instant.parse(lm.strip())));
        }
        String next = "true".equals(Xml.text(x, "IsTruncated")) ? Xml.text(x, "NextContinuationToken") : null;
        if (next != null && next.isEmpty()) {
            next = null;
        }
        return new ListPage(out, next);
    }

    @Override
    public void delete(String key) throws IOException {
        client.execute(new S3Client.Req("DeleteObject", "DELETE", full(key)).accept(404));
    }

    @Override
    public void deleteAll(Collection<String> keys) throws IOException {
        List<String> all = new ArrayList<>(keys);
        for (int i = 0; i < all.size(); i += 1000) {
            List<String> batch = all.subList(i, Math.min(all.size(), i + 1000));
            StringBuilder xml = new StringBuilder("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
            for (String k : batch) {
                xml.append("<Object><Key>").append(Xml.escape(full(k))).append("</Key></Object>");
            }
            xml.append("</Delete>");
            S3Client.Req req = new S3Client.Req("DeleteObjects", "POST", null).query("delete", "")
                    .body(Body.of(xml.toString().getBytes(StandardCharsets.UTF_8)), true);
            Element r = client.execute(req).xml("DeleteObjects");
            List<String> errors = new ArrayList<>();
            for (Element e : Xml.children(r, "Error")) {
                if (!"NoSuchKey".equals(Xml.text(e, "Code"))) {
                    errors.add(Xml.text(e, "Key") + ": " + Xml.text(e, "Code") + " " + Xml.text(e, "Message"));
                }
            }
            if (!errors.isEmpty()) {
                throw new S3Exception("S3 DeleteObjects in s3://" + bucket + " failed for " + errors.size()
                        + " key(s), e.g. " + errors.subList(0, Math.min(3, errors.size()))
                        + ". Fix: allow s3:DeleteObject on the bucket and retry", "DeleteObjectsError", 200, null, null);
            }
        }
    }

    @Override
    public int removeStaleUploads(String prefix, Duration gracePeriod) throws IOException {
        Instant threshold = client.clock.instant().minus(gracePeriod);
        return abortUploads(root + Keys.checkPrefix(prefix), threshold, null, false);
    }

    /**
     * Aborts multipart uploads under {@code keyOrPrefix}: stale mode (extras=false) those initiated before
     * {@code threshold}; extras mode those of exactly this key initiated after it, except {@code keepId}.
     */
    int abortUploads(String keyOrPrefix, Instant threshold, String keepId, boolean extras) throws IOException {
        int aborted = 0;
        String keyMarker = null;
        String idMarker = null;
        while (true) {
            S3Client.Req req = new S3Client.Req("ListMultipartUploads", "GET", null).query("uploads", "")
                    .query("prefix", keyOrPrefix);
            if (keyMarker != null) {
                req.query("key-marker", keyMarker);
                if (idMarker != null) {
                    req.query("upload-id-marker", idMarker);
                }
            }
            Element x = client.execute(req).xml("ListMultipartUploads");
            for (Element u : Xml.children(x, "Upload")) {
                String k = Xml.text(u, "Key");
                String id = Xml.text(u, "UploadId");
                String init = Xml.text(u, "Initiated");
                Instant started = init == null ? Instant.EPOCH : Instant.parse(init.strip());
                boolean abort = extras
                        ? k.equals(keyOrPrefix) && !id.equals(keepId) && !started.isBefore(threshold)
                        : started.isBefore(threshold);
                if (abort) {
                    client.execute(new S3Client.Req("AbortMultipartUpload", "DELETE", k).query("uploadId", id)
                            .accept(404));
                    aborted++;
                    LOG.log(System.Logger.Level.INFO, "aborted {0} multipart upload {1} of s3://{2}/{3} started {4}",
                            extras ? "extra" : "stale", id, bucket, k, started);
                }
            }
            if (!"true".equals(Xml.text(x, "IsTruncated"))) {
                return aborted;
            }
            keyMarker = Xml.text(x, "NextKeyMarker");
            idMarker = Xml.text(x, "NextUploadIdMarker");
            if (keyMarker == null || keyMarker.isEmpty()) {
                return aborted;
            }
        }
    }

    @Override
    public void close() {
        executor.shutdown();
    }

    @Override
    public String toString() {
        return "S3Sink[" + uri + ", region=" + client.region() + ", " + (client.pathStyle ? "path-style" : "virtual-hosted")
                + (client.customEndpoint != null ? ", endpoint=" + client.customEndpoint : "") + "]";
    }
}
