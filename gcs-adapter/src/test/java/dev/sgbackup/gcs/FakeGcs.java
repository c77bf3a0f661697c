package dev.sgbackup.gcs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;
import okio.Buffer;

/**
 * A stateful fake of the GCS JSON API subset sgbackup uses, plus an OAuth2 token endpoint and a GCE metadata
 * server, on MockWebServer. It behaves like GCS where it matters: bytes are kept on disk; a non-final chunk
 * must be a multiple of 256 KiB, only whole 256 KiB units are persisted and, when asked, less than was sent;
 * 308 with Range; ranged media downloads; paginated lists (no "items" on an empty page); the final request's
 * X-Goog-Hash CRC32C is checked; nothing is visible before the final request; service-account JWTs are
 * verified against the registered public keys. Faults are scripted per request kind.
 */
public final class FakeGcs implements Closeable {
    static final int Q = 256 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Kind { TOKEN, METADATA, START, CHUNK, FINAL, STATUS, CANCEL, MULTIPART, MEDIA, META, LIST, DELETE }

    enum Fault { STATUS, DISCONNECT, OVERCLAIM, PARTIAL_THEN_DISCONNECT, COMMIT_THEN_DISCONNECT, DISCONNECT_DURING_BODY }

    record Scripted(Kind kind, Fault fault, int status, String body) {
    }

    static final class Obj {
        Path file;
        long size;
        String crc32c;
        long generation;
        Instant updated;
    }

    static final class Session {
        final String id;
        final String bucket;
        final String name;
        final Path file;
        final CRC32C crc = new CRC32C();
        long persisted;
        boolean finalized;
        boolean expired;
        boolean cancelled;
        int chunks;
        Obj result;

        Session(String id, String bucket, String name, Path file) {
            this.id = id;
            this.bucket = bucket;
            this.name = name;
            this.file = file;
        }
    }

    final MockWebServer server = new MockWebServer();
    final Path dir;
    private final Map<String, TreeMap<String, Obj>> buckets = new HashMap<>();
    private final Set<String> forbidden = ConcurrentHashMap.newKeySet();
    final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final List<Scripted> faults = new ArrayList<>();
    final Map<Kind, AtomicInteger> counts = new ConcurrentHashMap<>();
    final List<String> log = new CopyOnWriteArrayList<>();
    final AtomicInteger authorizationHeaders = new AtomicInteger();
    final AtomicInteger finalsWithoutHash = new AtomicInteger();
    final AtomicLong maxChunk = new AtomicLong();
    private final AtomicLong generations = new AtomicLong(1_700_000_000_000_000L);

    // behaviour knobs
    public volatile int shortPersistEvery; // every n-th non-final chunk keeps 256 KiB less than it could
    volatile boolean shortPersistFinalOnce;
    volatile int expireAfterChunks; // sessions expire after this many chunks (0 = never)
    volatile boolean corruptNextChunk;
    volatile boolean corruptNextDownload;
    volatile boolean ignoreHash; // like an emulator that does not check X-Goog-Hash
    volatile boolean strictHash = true; // stricter than GCS: the final request must carry X-Goog-Hash
    volatile boolean requireAuth;
    volatile long tokenLifetimeSeconds = 3600;
    private final Map<String, Instant> tokens = new ConcurrentHashMap<>();
    private final AtomicInteger tokenSeq = new AtomicInteger();
    private final Map<String, PublicKey> serviceAccounts = new ConcurrentHashMap<>();
    private final Map<String, String[]> users = new ConcurrentHashMap<>();
    volatile boolean metadataServer = true;

    public FakeGcs(Path dir) throws IOException {
        this.dir = dir;
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                try {
                    return handle(request);
                } catch (Exception e) {
                    e.printStackTrace();
                    return error(500, "fake failed: " + e, "backendError");
                } finally {
                    request.getBody().clear(); // MockWebServer keeps every request: do not keep its body
                }
            }
        });
        server.start(InetAddress.getLoopbackAddress(), 0);
    }

    /** host:port, the STORAGE_EMULATOR_HOST form. */
    public String hostPort() {
        return server.getHostName() + ":" + server.getPort();
    }

    String tokenUri() {
        return server.url("/token").toString();
    }

    public synchronized FakeGcs bucket(String name) {
        buckets.computeIfAbsent(name, k -> new TreeMap<>());
        return this;
    }

    FakeGcs forbid(String bucket) {
        forbidden.add(bucket);
        return this;
    }

    void serviceAccount(String email, PublicKey key) {
        serviceAccounts.put(email, key);
    }

    /** A token the fake accepts as if it had issued it (for GcsCredentials.token). */
    void acceptToken(String token, Instant expiresAt) {
        tokens.put(token, expiresAt);
    }

    void user(String clientId, String clientSecret, String refreshToken) {
        users.put(clientId, new String[] {clientSecret, refreshToken});
    }

    synchronized void script(Kind kind, Fault fault, int times, int status) {
        for (int i = 0; i < times; i++) {
            faults.add(new Scripted(kind, fault, status, null));
        }
    }

    public synchronized void fail(Kind kind, int times, int status) {
        script(kind, Fault.STATUS, times, status);
    }

    synchronized void failWith(Kind kind, int status, String body) {
        faults.add(new Scripted(kind, Fault.STATUS, status, body));
    }

    public int count(Kind k) {
        return counts.computeIfAbsent(k, x -> new AtomicInteger()).get();
    }

    synchronized boolean exists(String bucket, String name) {
        TreeMap<String, Obj> b = buckets.get(bucket);
        return b != null && b.containsKey(name);
    }

    synchronized byte[] content(String bucket, String name) throws IOException {
        return Files.readAllBytes(buckets.get(bucket).get(name).file);
    }

    synchronized Obj object(String bucket, String name) {
        TreeMap<String, Obj> b = buckets.get(bucket);
        return b == null ? null : b.get(name);
    }

    public synchronized int objectCount() {
        return buckets.values().stream().mapToInt(Map::size).sum();
    }

    @Override
    public void close() throws IOException {
        server.shutdown();
    }

    // ---------------------------------------------------------------- dispatch

    private synchronized Scripted takeFault(Kind kind) {
        for (int i = 0; i < faults.size(); i++) {
            if (faults.get(i).kind() == kind) {
                return faults.remove(i);
            }
        }
        return null;
    }

    private MockResponse handle(RecordedRequest req) throws Exception {
        HttpUrl url = req.getRequestUrl();
        List<String> seg = url.pathSegments();
        String method = req.getMethod();
        String auth = req.getHeader("Authorization");
        if (auth != null) {
            authorizationHeaders.incrementAndGet();
        }
        Kind kind = kindOf(req, url, seg);
        log.add(kind + " " + method + " " + url.encodedPath() + (url.encodedQuery() == null ? "" : "?" + url.encodedQuery()));
        if (kind == null) {
            return error(404, "fake: no route for " + method + " " + url.encodedPath(), "notFound");
        }
        counts.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
        Scripted fault = takeFault(kind);
        if (fault != null && fault.fault() == Fault.STATUS) {
            if (fault.body() != null) {
                return new MockResponse().setResponseCode(fault.status()).setHeader("Content-Type", "application/json").setBody(fault.body());
            }
            return error(fault.status(), "scripted failure " + fault.status(),
                    fault.status() == 429 ? "rateLimitExceeded" : fault.status() >= 500 ? "backendError" : "invalid");
        }
        if (fault != null && fault.fault() == Fault.OVERCLAIM) {
            // a broken server: claims bytes it was never sent
            return new MockResponse().setResponseCode(308).setHeader("Range", "bytes=0-" + (100L * Q - 1)).setHeader("Content-Length", "0");
        }
        if (fault != null && fault.fault() == Fault.DISCONNECT) {
            return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST); // dropped before any effect
        }
        switch (kind) {
            case TOKEN:
                return token(req);
            case METADATA:
                return metadata(req);
            default:
                break;
        }
        boolean sessionRequest = kind == Kind.CHUNK || kind == Kind.FINAL || kind == Kind.STATUS || kind == Kind.CANCEL;
        if (requireAuth && !sessionRequest) {
            Instant exp = auth != null && auth.startsWith("Bearer ") ? tokens.get(auth.substring(7)) : null;
            if (exp == null || exp.isBefore(Instant.now())) {
                return error(401, "Invalid Credentials", "authError");
            }
        }
        String bucket = seg.get(seg.get(0).equals("upload") ? 4 : 3);
        if (!sessionRequest) {
            synchronized (this) {
                if (!buckets.containsKey(bucket)) {
                    return error(404, "The specified bucket does not exist.", "notFound");
                }
            }
            if (forbidden.contains(bucket)) {
                return error(403, "fake-sa@proj.iam.gserviceaccount.com does not have storage.objects." + (method.equals("GET") ? "get" : "create")
                        + " access to the Google Cloud Storage object. Permission denied on resource (or it may not exist).", "forbidden");
            }
        }
        return switch (kind) {
            case START -> start(url, bucket, req);
            case CHUNK, FINAL, STATUS -> upload(kind, url, req, fault);
            case CANCEL -> cancel(url);
            case MULTIPART -> multipart(bucket, req, fault);
            case MEDIA, META -> get(kind, bucket, seg.get(5), url, req, fault);
            case LIST -> list(bucket, url);
            case DELETE -> delete(bucket, seg.get(5));
            default -> error(500, "unreachable", "backendError");
        };
    }

    private static Kind kindOf(RecordedRequest req, HttpUrl url, List<String> seg) {
        String m = req.getMethod();
        if (seg.size() == 1 && seg.get(0).equals("token") && m.equals("POST")) {
            return Kind.TOKEN;
        }
        if (url.encodedPath().equals("/computeMetadata/v1/instance/service-accounts/default/token")) {
            return Kind.METADATA;
        }
        if (seg.size() == 6 && seg.get(0).equals("upload") && seg.get(5).equals("o")) {
            if (url.queryParameter("upload_id") != null) {
                if (m.equals("DELETE")) {
                    return Kind.CANCEL;
                }
                String cr = req.getHeader("Content-Range");
                if (cr == null || cr.equals("bytes */*")) {
                    return Kind.STATUS;
                }
                return cr.endsWith("/*") ? Kind.CHUNK : Kind.FINAL;
            }
            String type = url.queryParameter("uploadType");
            if (m.equals("POST") && "resumable".equals(type)) {
                return Kind.START;
            }
            if (m.equals("POST") && "multipart".equals(type)) {
                return Kind.MULTIPART;
            }
            return null;
        }
        if (seg.size() >= 5 && seg.get(0).equals("storage") && seg.get(1).equals("v1") && seg.get(2).equals("b") && seg.get(4).equals("o")) {
            if (seg.size() == 5 && m.equals("GET")) {
                return Kind.LIST;
            }
            if (seg.size() == 6) {
                if (m.equals("GET")) {
                    return "media".equals(url.queryParameter("alt")) ? Kind.MEDIA : Kind.META;
                }
                if (m.equals("DELETE")) {
                    return Kind.DELETE;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- auth

    private static Map<String, String> form(RecordedRequest req) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String pair : req.getBody().readUtf8().split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                f.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return f;
    }

    private MockResponse issue() {
        String t = "ya29.fake-token-" + tokenSeq.incrementAndGet();
        tokens.put(t, Instant.now().plusSeconds(tokenLifetimeSeconds));
        return json(200, JSON.createObjectNode().put("access_token", t).put("expires_in", tokenLifetimeSeconds).put("token_type", "Bearer"));
    }

    private static MockResponse oauthError(int code, String error, String description) {
        return json(code, JSON.createObjectNode().put("error", error).put("error_description", description));
    }

    private MockResponse token(RecordedRequest req) throws Exception {
        Map<String, String> f = form(req);
        String grant = f.get("grant_type");
        if ("urn:ietf:params:oauth:grant-type:jwt-bearer".equals(grant)) {
            String[] parts = f.getOrDefault("assertion", "").split("\\.");
            if (parts.length != 3) {
                return oauthError(400, "invalid_grant", "Invalid JWT: not three parts");
            }
            Base64.Decoder d = Base64.getUrlDecoder();
            JsonNode header = JSON.readTree(d.decode(parts[0]));
            JsonNode claims = JSON.readTree(d.decode(parts[1]));
            if (!"RS256".equals(header.path("alg").asText())) {
                return oauthError(400, "invalid_grant", "Invalid JWT: alg must be RS256");
            }
            PublicKey key = serviceAccounts.get(claims.path("iss").asText());
            if (key == null) {
                return oauthError(400, "invalid_grant", "Invalid grant: account not found");
            }
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initVerify(key);
            s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!s.verify(d.decode(parts[2]))) {
                return oauthError(400, "invalid_grant", "Invalid JWT Signature.");
            }
            long now = Instant.now().getEpochSecond();
            long iat = claims.path("iat").asLong(), exp = claims.path("exp").asLong();
            if (!tokenUri().equals(claims.path("aud").asText())) {
                return oauthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe (aud)");
            }
            if (!claims.path("scope").asText().contains("devstorage")) {
                return oauthError(400, "invalid_scope", "no storage scope");
            }
            if (iat > now + 60 || exp <= now || exp - iat > 3600) {
                return oauthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values");
            }
            return issue();
        }
        if ("refresh_token".equals(grant)) {
            String[] u = users.get(f.getOrDefault("client_id", ""));
            if (u == null || !u[0].equals(f.get("client_secret"))) {
                return oauthError(401, "invalid_client", "The OAuth client was not found.");
            }
            if (!u[1].equals(f.get("refresh_token"))) {
                return oauthError(400, "invalid_grant", "Token has been expired or revoked.");
            }
            return issue();
        }
        return oauthError(400, "unsupported_grant_type", "Invalid grant_type: " + grant);
    }

    private MockResponse metadata(RecordedRequest req) {
        if (!metadataServer) {
            return new MockResponse().setResponseCode(404).setBody("not a metadata server");
        }
        if (!"Google".equals(req.getHeader("Metadata-Flavor"))) {
            return new MockResponse().setResponseCode(403).setHeader("Metadata-Flavor", "Google")
                    .setBody("Missing required header \"Metadata-Flavor\"");
        }
        return issue().setHeader("Metadata-Flavor", "Google");
    }

    // ---------------------------------------------------------------- uploads

    private MockResponse start(HttpUrl url, String bucket, RecordedRequest req) throws IOException {
        String name = url.queryParameter("name");
        String body = req.getBody().readUtf8();
        if (!body.isEmpty()) {
            String n = JSON.readTree(body).path("name").asText(null);
            if (n != null) {
                name = n;
            }
        }
        if (name == null || name.isEmpty()) {
            return error(400, "Required: object name", "required");
        }
        String id = UUID.randomUUID().toString().replace("-", "");
        sessions.put(id, new Session(id, bucket, name, dir.resolve("session-" + id)));
        Files.createFile(dir.resolve("session-" + id));
        HttpUrl location = server.url("/upload/storage/v1/b/" + bucket + "/o").newBuilder()
                .addQueryParameter("uploadType", "resumable").addQueryParameter("name", name).addQueryParameter("upload_id", id).build();
        return new MockResponse().setResponseCode(200).setHeader("Location", location.toString()).setHeader("Content-Length", "0");
    }

    private MockResponse upload(Kind kind, HttpUrl url, RecordedRequest req, Scripted fault) throws IOException {
        Session s = sessions.get(url.queryParameter("upload_id"));
        if (s == null || s.expired) {
            return error(404, "Not Found: the upload session has expired", "notFound");
        }
        if (s.cancelled) {
            return error(410, "The upload session was cancelled", "gone");
        }
        synchronized (s) {
            if (kind == Kind.STATUS) {
                if (s.finalized) {
                    return json(200, objectJson(s.result, s.name, s.bucket));
                }
                return resumeIncomplete(s);
            }
            if (s.finalized) {
                return json(200, objectJson(s.result, s.name, s.bucket));
            }
            Buffer body = req.getBody();
            long n = body.size();
            String cr = req.getHeader("Content-Range");
            String spec = cr.substring("bytes ".length());
            String range = spec.substring(0, spec.indexOf('/'));
            String totalText = spec.substring(spec.indexOf('/') + 1);
            long start, endIncl;
            if (range.equals("*")) {
                start = s.persisted;
                endIncl = s.persisted - 1;
            } else {
                start = Long.parseLong(range.substring(0, range.indexOf('-')));
                endIncl = Long.parseLong(range.substring(range.indexOf('-') + 1));
            }
            if (endIncl - start + 1 != n) {
                return error(400, "Content-Range " + cr + " does not match the body size " + n, "invalid");
            }
            if (start > s.persisted) {
                return error(400, "Invalid request: the chunk starts at " + start + " but only " + s.persisted + " bytes were persisted", "invalid");
            }
            long skip = s.persisted - start;
            if (skip > n) {
                skip = n;
            }
            body.skip(skip);
            long available = n - skip;
            if (kind == Kind.CHUNK) {
                maxChunk.accumulateAndGet(n, Math::max);
                if (n % Q != 0 || n == 0) {
                    return error(400, "Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, "
                            + "except for the final request (it's recommended to be the exact multiple of 262144). The received "
                            + "request contained " + n + " bytes, which does not meet this requirement.", "invalid");
                }
                s.chunks++;
                long keep = (available / Q) * Q;
                if (shortPersistEvery > 0 && s.chunks % shortPersistEvery == 0 && keep >= 2L * Q) {
                    keep -= Q;
                }
                if (fault != null && fault.fault() == Fault.PARTIAL_THEN_DISCONNECT) {
                    keep = (available / 2 / Q) * Q;
                }
                append(s, body, keep);
                if (fault != null && fault.fault() == Fault.PARTIAL_THEN_DISCONNECT) {
                    return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
                }
                if (expireAfterChunks > 0 && s.chunks >= expireAfterChunks) {
                    s.expired = true;
                }
                return resumeIncomplete(s);
            }
            // final request
            long total = Long.parseLong(totalText);
            if (s.persisted + available != total) {
                return error(400, "Content-Range " + cr + " does not end the object: " + s.persisted + " persisted + " + available
                        + " sent != " + total, "invalid");
            }
            if (shortPersistFinalOnce && available >= 2L * Q) {
                shortPersistFinalOnce = false;
                append(s, body, (available / Q - 1) * Q);
                return resumeIncomplete(s);
            }
            append(s, body, available);
            String hash = crc32cOf(req.getHeader("X-Goog-Hash"));
            String actual = b64(s.crc.getValue());
            if (hash == null) {
                finalsWithoutHash.incrementAndGet();
                if (strictHash) {
                    return error(400, "fake: the final request carries no X-Goog-Hash crc32c", "invalid");
                }
            } else if (!hash.equals(actual) && !ignoreHash) {
                sessions.remove(s.id);
                Files.deleteIfExists(s.file);
                s.expired = true;
                return error(400, "Provided CRC32C \"" + hash + "\" doesn't match calculated CRC32C \"" + actual + "\".", "invalid");
            }
            s.finalized = true;
            s.result = commit(s.bucket, s.name, s.file, s.persisted, actual);
            if (fault != null && fault.fault() == Fault.COMMIT_THEN_DISCONNECT) {
                return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
            }
            return json(200, objectJson(s.result, s.name, s.bucket));
        }
    }

    private void append(Session s, Buffer body, long n) throws IOException {
        if (n <= 0) {
            return;
        }
        try (FileChannel ch = FileChannel.open(s.file, StandardOpenOption.WRITE)) {
            ch.position(s.persisted);
            OutputStream out = Channels.newOutputStream(ch);
            byte[] tmp = new byte[64 * 1024];
            long left = n;
            boolean corrupt = corruptNextChunk;
            corruptNextChunk = false;
            while (left > 0) {
                int c = body.read(tmp, 0, (int) Math.min(tmp.length, left));
                if (corrupt) {
                    tmp[0] ^= 0x5a; // damaged in transit: GCS stores (and hashes) what it received
                    corrupt = false;
                }
                out.write(tmp, 0, c);
                s.crc.update(tmp, 0, c);
                left -= c;
            }
            out.flush();
        }
        s.persisted += n;
    }

    private static MockResponse resumeIncomplete(Session s) {
        MockResponse r = new MockResponse().setResponseCode(308).setHeader("Content-Length", "0");
        if (s.persisted > 0) {
            r.setHeader("Range", "bytes=0-" + (s.persisted - 1));
        }
        return r;
    }

    private MockResponse cancel(HttpUrl url) throws IOException {
        Session s = sessions.get(url.queryParameter("upload_id"));
        if (s == null || s.expired) {
            return error(404, "Not Found", "notFound");
        }
        synchronized (s) {
            s.cancelled = true;
            Files.deleteIfExists(s.file);
        }
        return new MockResponse().setResponseCode(499).setBody("");
    }

    private static String crc32cOf(String xGoogHash) {
        if (xGoogHash == null) {
            return null;
        }
        for (String part : xGoogHash.split(",")) {
            part = part.trim();
            if (part.startsWith("crc32c=")) {
                return part.substring(7);
            }
        }
        return null;
    }

    static String b64(long crc) {
        byte[] b = {(byte) (crc >>> 24), (byte) (crc >>> 16), (byte) (crc >>> 8), (byte) crc};
        return Base64.getEncoder().encodeToString(b);
    }

    private synchronized Obj commit(String bucket, String name, Path file, long size, String crc) throws IOException {
        return commit(bucket, name, file, size, crc, null);
    }

    /**
     * Stores an object; with {@code ifGenerationMatch} (GCS's precondition: the live generation, 0 for "no live
     * object") checked in the same step, and null returned when it does not hold. Only the multipart upload takes
     * the precondition here; the fake's resumable sessions do not model it.
     */
    private synchronized Obj commit(String bucket, String name, Path file, long size, String crc, Long ifGenerationMatch)
            throws IOException {
        if (ifGenerationMatch != null) {
            Obj live = buckets.get(bucket).get(name);
            if ((live == null ? 0L : live.generation) != ifGenerationMatch) {
                Files.deleteIfExists(file);
                return null;
            }
        }
        Obj o = new Obj();
        o.file = dir.resolve("obj-" + UUID.randomUUID());
        Files.move(file, o.file, StandardCopyOption.ATOMIC_MOVE);
        o.size = size;
        o.crc32c = crc;
        o.generation = generations.incrementAndGet();
        o.updated = Instant.now();
        Obj old = buckets.get(bucket).put(name, o);
        if (old != null) {
            Files.deleteIfExists(old.file);
        }
        return o;
    }

    private MockResponse multipart(String bucket, RecordedRequest req, Scripted fault) throws IOException {
        String type = req.getHeader("Content-Type");
        if (type == null || !type.startsWith("multipart/related")) {
            return error(400, "multipart upload needs Content-Type multipart/related, got " + type, "invalid");
        }
        String boundary = type.substring(type.indexOf("boundary=") + 9).replace("\"", "");
        byte[] all = req.getBody().readByteArray();
        List<byte[]> parts = splitParts(all, boundary);
        if (parts.size() != 2) {
            return error(400, "multipart upload needs 2 parts, got " + parts.size(), "invalid");
        }
        JsonNode meta = JSON.readTree(parts.get(0));
        byte[] media = parts.get(1);
        String name = meta.path("name").asText(null);
        if (name == null) {
            return error(400, "Required: object name", "required");
        }
        CRC32C crc = new CRC32C();
        crc.update(media);
        String actual = b64(crc.getValue());
        String given = meta.path("crc32c").asText(null);
        if (given == null) {
            finalsWithoutHash.incrementAndGet();
            if (strictHash) {
                return error(400, "fake: the multipart metadata carries no crc32c", "invalid");
            }
        } else if (!given.equals(actual)) {
            return error(400, "Provided CRC32C \"" + given + "\" doesn't match calculated CRC32C \"" + actual + "\".", "invalid");
        }
        Path tmp = dir.resolve("mp-" + UUID.randomUUID());
        Files.write(tmp, media);
        String ifGen = req.getRequestUrl() == null ? null : req.getRequestUrl().queryParameter("ifGenerationMatch");
        Obj o = commit(bucket, name, tmp, media.length, actual, ifGen == null ? null : Long.parseLong(ifGen));
        if (o == null) {
            return error(412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
        }
        if (fault != null && fault.fault() == Fault.COMMIT_THEN_DISCONNECT) {
            return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
        }
        return json(200, objectJson(o, name, bucket));
    }

    /** Splits a multipart body; each part's headers are dropped. */
    private static List<byte[]> splitParts(byte[] all, String boundary) {
        String text = new String(all, StandardCharsets.ISO_8859_1); // byte-preserving
        String delim = "--" + boundary;
        List<byte[]> out = new ArrayList<>();
        int i = text.indexOf(delim);
        while (i >= 0) {
            int lineEnd = text.indexOf("\r\n", i);
            if (lineEnd < 0 || text.startsWith(delim + "--", i)) {
                break;
            }
            int next = text.indexOf("\r\n" + delim, lineEnd);
            String part = text.substring(lineEnd + 2, next);
            int headersEnd = part.indexOf("\r\n\r\n");
            out.add(part.substring(headersEnd + 4).getBytes(StandardCharsets.ISO_8859_1));
            i = next + 2;
        }
        return out;
    }

    // ---------------------------------------------------------------- reads

    private MockResponse get(Kind kind, String bucket, String name, HttpUrl url, RecordedRequest req, Scripted fault) throws IOException {
        Obj o;
        synchronized (this) {
            o = buckets.get(bucket).get(name);
        }
        if (o == null) {
            return error(404, "No such object: " + bucket + "/" + name, "notFound");
        }
        String ifGen = url.queryParameter("ifGenerationMatch");
        if (ifGen != null && Long.parseLong(ifGen) != o.generation) {
            return error(412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
        }
        if (kind == Kind.META) {
            return json(200, objectJson(o, name, bucket));
        }
        long start = 0, end = o.size - 1;
        int code = 200;
        String range = req.getHeader("Range");
        if (range != null && range.startsWith("bytes=")) {
            String r = range.substring(6);
            start = Long.parseLong(r.substring(0, r.indexOf('-')));
            String e = r.substring(r.indexOf('-') + 1);
            if (!e.isEmpty()) {
                end = Math.min(end, Long.parseLong(e));
            }
            if (start >= o.size) {
                return error(416, "The requested range cannot be satisfied.", "requestedRangeNotSatisfiable")
                        .setHeader("Content-Range", "bytes */" + o.size);
            }
            code = 206;
        }
        Buffer data = new Buffer();
        try (InputStream in = Files.newInputStream(o.file)) {
            in.skipNBytes(start);
            data.readFrom(in, end - start + 1);
        }
        if (corruptNextDownload && data.size() > 0) {
            corruptNextDownload = false;
            byte[] all = data.readByteArray();
            all[all.length / 2] ^= 0x01;
            data.write(all);
        }
        MockResponse r = new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/octet-stream")
                .setHeader("x-goog-generation", Long.toString(o.generation))
                .setHeader("x-goog-hash", "crc32c=" + o.crc32c)
                .setBody(data);
        if (code == 206) {
            r.setHeader("Content-Range", "bytes " + start + "-" + end + "/" + o.size);
        }
        if (fault != null && fault.fault() == Fault.DISCONNECT_DURING_BODY) {
            r.setSocketPolicy(SocketPolicy.DISCONNECT_DURING_RESPONSE_BODY);
        }
        return r;
    }

    private MockResponse list(String bucket, HttpUrl url) {
        String prefix = url.queryParameter("prefix") == null ? "" : url.queryParameter("prefix");
        int max = url.queryParameter("maxResults") == null ? 1000 : Math.min(1000, Integer.parseInt(url.queryParameter("maxResults")));
        String token = url.queryParameter("pageToken");
        String after = token == null ? null : new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        ObjectNode res = JSON.createObjectNode().put("kind", "storage#objects");
        List<Map.Entry<String, Obj>> page = new ArrayList<>();
        boolean more = false;
        synchronized (this) {
            var view = after == null ? buckets.get(bucket).tailMap(prefix, true) : buckets.get(bucket).tailMap(after, false);
            for (var e : view.entrySet()) {
                if (!e.getKey().startsWith(prefix)) {
                    break;
                }
                if (page.size() == max) {
                    more = true;
                    break;
                }
                page.add(e);
            }
        }
        if (!page.isEmpty()) {
            var items = res.putArray("items");
            for (var e : page) {
                items.add(objectJson(e.getValue(), e.getKey(), bucket));
            }
        }
        if (more) {
            res.put("nextPageToken", Base64.getUrlEncoder().encodeToString(page.get(page.size() - 1).getKey().getBytes(StandardCharsets.UTF_8)));
        }
        return json(200, res);
    }

    private synchronized MockResponse delete(String bucket, String name) throws IOException {
        Obj o = buckets.get(bucket).remove(name);
        if (o == null) {
            return error(404, "No such object: " + bucket + "/" + name, "notFound");
        }
        Files.deleteIfExists(o.file);
        return new MockResponse().setResponseCode(204);
    }

    // ---------------------------------------------------------------- helpers

    private static ObjectNode objectJson(Obj o, String name, String bucket) {
        return JSON.createObjectNode().put("kind", "storage#object").put("id", bucket + "/" + name + "/" + o.generation)
                .put("name", name).put("bucket", bucket).put("generation", Long.toString(o.generation))
                .put("size", Long.toString(o.size)).put("crc32c", o.crc32c).put("updated", o.updated.toString())
                .put("timeCreated", o.updated.toString());
    }

    static MockResponse json(int code, JsonNode body) {
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json; charset=UTF-8").setBody(body.toString());
    }

    static MockResponse error(int code, String message, String reason) {
        ObjectNode e = JSON.createObjectNode();
        ObjectNode err = e.putObject("error").put("code", code).put("message", message);
        err.putArray("errors").addObject().put("message", message).put("domain", "global").put("reason", reason);
        return json(code, e);
    }

    static void await(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
