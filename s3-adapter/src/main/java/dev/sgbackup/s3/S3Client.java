package dev.sgbackup.s3;

import dev.sgbackup.spi.Backoff;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSink;
import org.w3c.dom.Element;

/**
 * Signed S3 requests with retries: exponential backoff with full jitter on 5xx, 429, throttling codes,
 * connection resets and timeouts; a one-time region correction from {@code x-amz-bucket-region}; a 200 whose
 * body is an {@code <Error>} is an error; every failure becomes an {@link S3Exception} naming code and fix.
 */
final class S3Client {
    private static final System.Logger LOG = System.getLogger(S3Client.class.getName());
    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");
    private static final Set<String> RETRYABLE_CODES = Set.of("SlowDown", "InternalError", "ServiceUnavailable",
            "RequestTimeout", "Throttling", "ThrottlingException", "RequestLimitExceeded", "OperationAborted",
            "BadDigest", "RequestThrottled", "TooManyRequestsException", "ProvisionedThroughputExceededException");

    final OkHttpClient http;
    final CredentialsChain credentials;
    final String bucket;
    final HttpUrl customEndpoint;
    final boolean pathStyle;
    private volatile String region;
    private final AtomicBoolean regionCorrected = new AtomicBoolean();
    final Clock clock;
    final int maxAttempts;
    private final Backoff backoff;

    S3Client(OkHttpClient http, CredentialsChain credentials, String bucket, HttpUrl customEndpoint,
             boolean pathStyle, String region, Clock clock, int maxAttempts, Duration baseDelay, Duration maxDelay) {
        this.http = http;
        this.credentials = credentials;
        this.bucket = bucket;
        this.customEndpoint = customEndpoint;
        this.pathStyle = pathStyle;
        this.region = region;
        this.clock = clock;
        this.maxAttempts = maxAttempts;
        this.backoff = Backoff.of(baseDelay, maxDelay);
    }

    String region() {
        return region;
    }

    /** One S3 request to build. Query names/values and keys are raw (this class encodes them). */
    static final class Req {
        final String op;
        final String method;
        final String key;
        final List<String[]> query = new ArrayList<>();
        final List<Map.Entry<String, String>> headers = new ArrayList<>();
        Body body;
        boolean contentMd5;
        Set<Integer> accept = Set.of();

        Req(String op, String method, String key) {
            this.op = op;
            this.method = method;
            this.key = key;
        }

        Req query(String name, String value) {
            query.add(new String[] {name, value == null ? "" : value});
            return this;
        }

        Req header(String name, String value) {
            headers.add(Map.entry(name, value));
            return this;
        }

        Req body(Body b, boolean md5) {
            this.body = b;
            this.contentMd5 = md5;
            return this;
        }

        Req accept(Integer... statuses) {
            this.accept = Set.of(statuses);
            return this;
        }
    }

    /** A buffered answer: 2xx, or a status the request accepted (with S3's error code if it sent one). */
    record Result(int status, Headers headers, byte[] body, int attempts, String errorCode) {
        Element xml(String what) throws IOException {
            return Xml.parseOrThrow(body, what);
        }
    }

    Result execute(Req req) throws IOException {
        Object r = run(req, false);
        return (Result) r;
    }

    /** For object GETs: a 2xx (or accepted) response whose body the caller reads and closes. */
    Response stream(Req req) throws IOException {
        return (Response) run(req, true);
    }

    String describe(Req req) {
        return req.op + " s3://" + bucket + "/" + (req.key == null ? "" : req.key);
    }

    private Object run(Req req, boolean streaming) throws IOException {
        int attempt = 0;
        boolean refreshedToken = false;
        while (true) {
            attempt++;
            Request request = build(req);
            Response response;
            try {
                response = http.newCall(request).execute();
            } catch (IOException e) {
                if (Thread.currentThread().isInterrupted()
                        || (e instanceof InterruptedIOException && !(e instanceof java.net.SocketTimeoutException)
                        && "interrupted".equals(e.getMessage()))) {
                    InterruptedIOException ie = new InterruptedIOException("interrupted: " + describe(req));
                    ie.initCause(e);
                    throw ie;
                }
                if (attempt >= maxAttempts) {
                    throw new S3Exception("S3 " + describe(req) + " failed after " + attempt + " attempt(s): "
                            + e + ". Fix: check the network path to " + request.url().host()
                            + " (endpoint, proxy, firewall)", null, 0, null, e);
                }
                backoff(req, attempt, e.toString());
                continue;
            }
            int status = response.code();
            if (streaming && (status / 100 == 2 || req.accept.contains(status))) {
                return response;
            }
            byte[] body;
            try (ResponseBody rb = response.body()) {
                body = rb == null ? new byte[0] : rb.bytes();
            } catch (IOException e) { // reset while reading the answer
                if (attempt >= maxAttempts) {
                    throw new S3Exception("S3 " + describe(req) + " failed after " + attempt + " attempt(s) reading"
                            + " the answer: " + e, null, status, null, e);
                }
                backoff(req, attempt, e.toString());
                continue;
            }
            Element root = status / 100 == 2 ? null : Xml.parse(body);
            if (status / 100 == 2 && body.length > 0 && startsLikeError(body)) {
                root = Xml.parse(body); // 200 with an <Error> body (CompleteMultipartUpload, CopyObject)
            }
            boolean isError = status / 100 != 2 || (root != null && Xml.localName(root).equals("Error"));
            if (!isError) {
                return new Result(status, response.headers(), body, attempt, null);
            }
            Element err = root != null && Xml.localName(root).equals("Error") ? root : null;
            String code = err != null ? Xml.text(err, "Code") : defaultCode(status);
            String message = err != null ? Xml.text(err, "Message") : null;
            String requestId = err != null && Xml.text(err, "RequestId") != null ? Xml.text(err, "RequestId")
                    : response.header("x-amz-request-id");
            String bucketRegion = response.header("x-amz-bucket-region");
            if (bucketRegion == null && err != null) {
                bucketRegion = Xml.text(err, "Region");
            }
            if (bucketRegion != null && !bucketRegion.isBlank() && !bucketRegion.equals(region)
                    && (status == 301 || status == 307 || status == 400 || status == 403)) {
                if (!regionCorrected.getAndSet(true)) {
                    LOG.log(System.Logger.Level.INFO, "bucket {0} is in region {1}, not {2}; re-signing for {1}",
                            bucket, bucketRegion, region);
                    region = bucketRegion;
                    attempt--;
                    continue;
                }
            }
            if (status / 100 != 2 && req.accept.contains(status) && !"NoSuchBucket".equals(code)) {
                return new Result(status, response.headers(), body, attempt, code);
            }
            if (("ExpiredToken".equals(code) || "TokenRefreshRequired".equals(code)) && !refreshedToken) {
                refreshedToken = true;
                credentials.invalidate();
                attempt--;
                continue;
            }
            boolean retryable = status >= 500 || status == 429 || (code != null && RETRYABLE_CODES.contains(code));
            if (retryable && attempt < maxAttempts) {
                backoff(req, attempt, status + " " + code);
                continue;
            }
            throw error(req, status, code, message, requestId, attempt, bucketRegion);
        }
    }

    private static boolean startsLikeError(byte[] body) {
        String head = new String(body, 0, Math.min(body.length, 200), java.nio.charset.StandardCharsets.UTF_8);
        return head.contains("<Error>") || head.contains("<Error ");
    }

    private static String defaultCode(int status) {
        return switch (status) {
            case 301 -> "PermanentRedirect";
            case 400 -> "BadRequest";
            case 403 -> "AccessDenied";
            case 404 -> "NotFound";
            case 412 -> "PreconditionFailed";
            case 416 -> "InvalidRange";
            case 429 -> "SlowDown";
            case 503 -> "ServiceUnavailable";
            default -> "HTTP" + status;
        };
    }

    private void backoff(Req req, int attempt, String why) throws IOException {
        long sleep = backoff.delay(attempt).toMillis();
        LOG.log(System.Logger.Level.DEBUG, "S3 {0} attempt {1} failed ({2}); retrying in {3} ms",
                describe(req), attempt, why, sleep);
        try {
            Thread.sleep(sleep);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry " + describe(req));
        }
    }

    S3Exception error(Req req, int status, String code, String message, String requestId, int attempts,
                      String bucketRegion) {
        StringBuilder sb = new StringBuilder("S3 ").append(describe(req)).append(" failed: ").append(code);
        if (message != null && !message.isBlank()) {
            sb.append(": ").append(message.strip());
        }
        sb.append(" (HTTP ").append(status);
        if (requestId != null) {
            sb.append(", request id ").append(requestId);
        }
        if (attempts > 1) {
            sb.append(", after ").append(attempts).append(" attempts");
        }
        sb.append("). Fix: ").append(hint(req, code, bucketRegion));
        return new S3Exception(sb.toString(), code, status, requestId, null);
    }

    private String hint(Req req, String code, String bucketRegion) {
        String who;
        try {
            who = "access key " + credentials.get().accessKeyId();
        } catch (RuntimeException e) {
            who = "the credentials";
        }
        String where = customEndpoint != null ? customEndpoint.toString() : "AWS region " + region;
        return switch (code == null ? "" : code) {
            case "AccessDenied", "AllAccessDisabled" -> "allow " + who + " the S3 action behind " + req.op
                    + " on bucket '" + bucket + "' (IAM policy, bucket policy, KMS key policy)";
            case "NoSuchBucket" -> "bucket '" + bucket + "' does not exist at " + where
                    + "; create it or correct the bucket name in the URI";
            case "InvalidAccessKeyId" -> who + " is unknown at " + where
                    + "; check AWS_ACCESS_KEY_ID / the profile, or the endpoint";
            case "SignatureDoesNotMatch" -> "the secret key does not belong to " + who
                    + " (or a proxy changed the request); check AWS_SECRET_ACCESS_KEY / the profile";
            case "ExpiredToken", "TokenRefreshRequired", "InvalidToken" ->
                    "the session token of " + who + " expired or is invalid; get fresh credentials";
            case "RequestTimeTooSkewed" -> "this machine's clock is off by more than 15 minutes; sync it (NTP)";
            case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException" ->
                    "the bucket is in region " + (bucketRegion != null ? bucketRegion : "(unknown)")
                            + ", not " + region + "; pass that region (builder .region(..), AWS_REGION or ?region=)";
            case "NoSuchUpload" -> "the multipart upload was aborted meanwhile (a prune with a short grace period"
                    + " or a lifecycle rule); run the backup again";
            case "InvalidBucketName" -> "'" + bucket + "' is not a valid bucket name";
            case "NotFound", "NoSuchKey" -> "the object does not exist";
            case "PreconditionFailed" -> "the object was replaced while it was being read; read it again";
            case "SlowDown", "ServiceUnavailable", "InternalError" ->
                    "S3 is overloaded; retry later or lower the upload parallelism";
            default -> "see the S3 error code reference for " + code;
        };
    }

    /** Builds and signs one attempt. */
    Request build(Req req) throws IOException {
        HttpUrl url = url(req.key, req.query);
        S3Credentials c = credentials.get();
        String amzDate = AMZ_DATE.format(clock.instant());
        String payloadHash;
        if (req.body == null) {
            payloadHash = SigV4.EMPTY_SHA256;
        } else if (url.isHttps() && req.contentMd5 && req.body.length() > 0) {
            payloadHash = SigV4.UNSIGNED_PAYLOAD; // TLS protects the body; Content-MD5 checks it
        } else {
            payloadHash = req.body.sha256Hex();
        }
        List<Map.Entry<String, String>> signed = new ArrayList<>();
        signed.add(Map.entry("host", hostHeader(url)));
        signed.add(Map.entry("x-amz-date", amzDate));
        signed.add(Map.entry("x-amz-content-sha256", payloadHash));
        if (c.sessionToken() != null) {
            signed.add(Map.entry("x-amz-security-token", c.sessionToken()));
        }
        if (req.body != null && req.contentMd5) {
            signed.add(Map.entry("content-md5", req.body.md5Base64()));
        }
        signed.addAll(req.headers);
        SigV4.Signed s = SigV4.sign(true, req.method, url.encodedPath(), url.encodedQuery(), signed, payloadHash,
                c.accessKeyId(), c.secretAccessKey(), amzDate, region, "s3");
        Request.Builder rb = new Request.Builder().url(url);
        for (Map.Entry<String, String> h : signed) {
            rb.header(h.getKey(), h.getValue());
        }
        rb.header("Authorization", s.authorization());
        rb.header("Accept-Encoding", "identity");
        RequestBody body = null;
        if (req.body != null) {
            Body b = req.body;
            body = new RequestBody() {
                @Override
                public MediaType contentType() {
                    return OCTETS;
                }

                @Override
                public long contentLength() {
                    return b.length();
                }

                @Override
                public void writeTo(BufferedSink sink) throws IOException {
                    b.writeTo(sink);
                }
            };
        } else if (req.method.equals("PUT") || req.method.equals("POST")) {
            body = RequestBody.create(new byte[0]);
        }
        rb.method(req.method, body);
        return rb.build();
    }

    static String hostHeader(HttpUrl url) {
        String host = url.host().contains(":") ? "[" + url.host() + "]" : url.host();
        return url.port() == HttpUrl.defaultPort(url.scheme()) ? host : host + ":" + url.port();
    }

    HttpUrl endpoint() {
        return customEndpoint != null ? customEndpoint : HttpUrl.get("https://s3." + region + ".amazonaws.com");
    }

    HttpUrl url(String key, List<String[]> query) {
        HttpUrl base = endpoint();
        StringBuilder path = new StringBuilder();
        String basePath = base.encodedPath();
        if (basePath.endsWith("/")) {
            basePath = basePath.substring(0, basePath.length() - 1);
        }
        path.append(basePath);
        String host = base.host().contains(":") ? "[" + base.host() + "]" : base.host();
        if (pathStyle) {
            path.append('/').append(SigV4.encode(bucket, true));
            if (key != null) {
                path.append('/').append(SigV4.encode(key, false));
            }
        } else {
            host = bucket + "." + host;
            path.append('/');
            if (key != null) {
                path.append(SigV4.encode(key, false));
            }
        }
        StringBuilder q = new StringBuilder();
        for (String[] p : query) {
            if (q.length() > 0) {
                q.append('&');
            }
            q.append(SigV4.encode(p[0], true)).append('=').append(SigV4.encode(p[1], true));
        }
        return HttpUrl.get(base.scheme() + "://" + host + ":" + base.port() + path + (q.length() > 0 ? "?" + q : ""));
    }
}
