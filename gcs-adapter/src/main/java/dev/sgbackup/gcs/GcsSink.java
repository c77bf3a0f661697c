package dev.sgbackup.gcs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Keys;
import dev.sgbackup.sink.ListPage;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A {@link BackupSink} on a Google Cloud Storage bucket, over the GCS JSON API with OkHttp (no Google client
 * libraries).
 *
 * <pre>{@code
 * BackupSink sink = GcsSink.builder("my-bucket").prefix("sourcegraph/prod").build();   // ADC
 * BackupSink test = GcsSink.builder("b").emulatorHost("localhost:4443").build();      // an emulator, no auth
 * }</pre>
 *
 * Writes go through resumable upload sessions in chunks (a multiple of 256 KiB, 8 MiB by default) and are
 * visible only once the final chunk, which carries the object's CRC32C, succeeds; objects that fit in one
 * chunk go in a single multipart request. Safe for concurrent use.
 *
 * <p>One job, so one file (about 410 lines): the {@link BackupSink} operations over the GCS JSON API. One object's
 * upload is {@code GcsUpload}'s, credentials are {@code Credentials}'s.
 */
public final class GcsSink implements BackupSink {
    static final int QUANTUM = 256 * 1024;
    static final int DEFAULT_CHUNK = 32 * QUANTUM; // 8 MiB
    static final String DEFAULT_ENDPOINT = "https://storage.googleapis.com";
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]");

    final String bucket;
    final String prefix;
    final HttpUrl endpoint;
    final GcsCredentials credentials;
    final Transport transport;
    final int chunkSize;
    final int listPageSize;
    private final boolean emulator;
    private final boolean ownsClient;

    private GcsSink(Builder b, HttpUrl endpoint, GcsCredentials credentials, Transport transport, boolean emulator) {
        this.ownsClient = b.httpClient == null;
        this.bucket = b.bucket;
        this.prefix = b.prefix;
        this.endpoint = endpoint;
        this.credentials = credentials;
        this.transport = transport;
        this.chunkSize = b.chunkSize;
        this.listPageSize = b.listPageSize;
        this.emulator = emulator;
    }

    /** Starts configuring a sink for {@code bucket} (a GCS bucket name, without {@code gs://}). */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    @Override
    public URI uri() {
        return URI.create("gs://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix));
    }

    @Override
    public String toString() {
        return "GcsSink[" + uri() + (emulator || !endpoint.toString().startsWith(DEFAULT_ENDPOINT) ? ", endpoint " + endpoint : "")
                + ", " + credentials + ", chunk " + (chunkSize / 1024) + " KiB]";
    }

    String objectName(String key) {
        Keys.check(key);
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    String keyOf(String objectName) {
        return prefix.isEmpty() ? objectName : objectName.substring(prefix.length() + 1);
    }

    HttpUrl.Builder objectsUrl() {
        return endpoint.newBuilder().addPathSegments("storage/v1/b").addPathSegment(bucket).addPathSegment("o");
    }

    HttpUrl.Builder objectUrl(String name) {
        return objectsUrl().addPathSegment(name);
    }

    HttpUrl.Builder uploadUrl() {
        return endpoint.newBuilder().addPathSegments("upload/storage/v1/b").addPathSegment(bucket).addPathSegment("o");
    }

    String where(String key) {
        return "gs://" + bucket + "/" + objectName(key);
    }

    @Override
    public PendingObject create(String key) throws IOException {
        return new GcsUpload(this, key, objectName(key));
    }

    @Override
    public PendingObject create(String key, long expectedSize) throws IOException {
        return create(key);
    }

    /**
     * An upload with {@code ifGenerationMatch=0}: GCS creates the object only if it has no live generation, else
     * answers 412. A 412 whose object holds exactly these bytes is this writer's own earlier attempt (a retried
     * request whose first answer was lost), so it answers true; callers make their content unique.
     */
    @Override
    public boolean putIfAbsent(String key, byte[] content) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try (GcsUpload u = new GcsUpload(this, key, objectName(key), 0L)) {
                u.stream().write(content);
                u.commit();
                return true;
            } catch (GcsUpload.PreconditionFailed exists) {
                try (InputStream in = read(key)) {
                    return java.util.Arrays.equals(in.readNBytes(content.length + 1), content);
                } catch (dev.sgbackup.sink.NoSuchObjectException gone) {
                    if (attempt >= 5) {
                        throw new IOException("creating " + where(key) + " only if absent: it kept appearing and vanishing ("
                                + attempt + " attempts)", gone);
                    }
                }
            }
        }
    }

    /** Always: GCS honours {@code ifGenerationMatch=0} on uploads. */
    @Override
    public boolean conditionalCreate() {
        return true;
    }

    @Override
    public InputStream read(String key) throws IOException {
        return read(key, 0, Long.MAX_VALUE);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("offset and length must be >= 0, got " + offset + " and " + length);
        }
        if (length == 0) {
            objectInfo(key).orElseThrow(() -> new NoSuchObjectException(key, uri().toString()));
            return InputStream.nullInputStream();
        }
        return GcsDownload.open(this, key, objectName(key), offset, length);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        return objectInfo(key).map(j -> info(keyOf(j.path("name").asText()), j));
    }

    Optional<JsonNode> objectInfo(String key) throws IOException {
        String name = objectName(key);
        Request request = new Request.Builder().url(objectUrl(name).build()).get().build();
        try (Response r = transport.call(request, credentials, "stat " + where(key))) {
            String body = r.body() == null ? "" : r.body().string();
            if (r.code() == 404) {
                Errors.checkBucket(this, r.code(), body, "read " + where(key));
                return Optional.empty();
            }
            if (!r.isSuccessful()) {
                throw Errors.of(this, r.code(), body, "read the metadata of " + where(key));
            }
            return Optional.of(Json.parse(body));
        }
    }

    static ObjectInfo info(String key, JsonNode j) {
        String updated = Json.text(j, "updated");
        return new ObjectInfo(key, j.path("size").asLong(), updated == null ? Instant.EPOCH : Instant.parse(updated));
    }

    @Override
    public ListPage list(String keyPrefix, String pageToken) throws IOException {
        Keys.checkPrefix(keyPrefix);
        String namePrefix = prefix.isEmpty() ? (keyPrefix == null ? "" : keyPrefix) : prefix + "/" + (keyPrefix == null ? "" : keyPrefix);
        HttpUrl.Builder url = objectsUrl()
                .addQueryParameter("maxResults", Integer.toString(listPageSize))
                .addQueryParameter("fields", "items(name,size,updated),nextPageToken");
        if (!namePrefix.isEmpty()) {
            url.addQueryParameter("prefix", namePrefix);
        }
        if (pageToken != null) {
            url.addQueryParameter("pageToken", pageToken);
        }
        Request request = new Request.Builder().url(url.build()).get().build();
        try (Response r = transport.call(request, credentials, "list " + uri())) {
            String body = r.body() == null ? "" : r.body().string();
            if (!r.isSuccessful()) {
                throw Errors.of(this, r.code(), body, "list gs://" + bucket + "/" + namePrefix);
            }
            JsonNode j = Json.parse(body);
            List<ObjectInfo> objects = new ArrayList<>();
            for (JsonNode item : j.path("items")) {
                String name = item.path("name").asText();
                if (!prefix.isEmpty() && !name.startsWith(prefix + "/")) {
                    continue;
                }
                objects.add(info(keyOf(name), item));
            }
            String next = Json.text(j, "nextPageToken");
            return new ListPage(objects, next == null || next.isEmpty() ? null : next);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        Request request = new Request.Builder().url(objectUrl(objectName(key)).build()).delete().build();
        try (Response r = transport.call(request, credentials, "delete " + where(key))) {
            String body = r.body() == null ? "" : r.body().string();
            if (r.code() == 404) {
                Errors.checkBucket(this, r.code(), body, "delete " + where(key));
                return;
            }
            if (!r.isSuccessful()) {
                throw Errors.of(this, r.code(), body, "delete " + where(key));
            }
        }
    }

    /** Releases pooled connections of the client this sink made itself (a client you passed in is left alone). */
    @Override
    public void close() {
        if (ownsClient) {
            transport.client.connectionPool().evictAll();
        }
    }

    /**
     * GCS keeps no listable record of unfinished resumable sessions: they are never visible and expire after a
     * week, so there is nothing to remove.
     */
    @Override
    public int removeStaleUploads(String prefix, Duration gracePeriod) {
        return 0;
    }

    /** Configures a {@link GcsSink}; {@link #build()} checks the settings. */
    public static final class Builder {
        private final String bucket;
        private String prefix = "";
        private GcsCredentials credentials;
        private OkHttpClient httpClient;
        private String endpoint;
        private String emulatorHost;
        private int chunkSize = DEFAULT_CHUNK;
        private int listPageSize = 1000;
        private RetryPolicy retry = RetryPolicy.DEFAULT;
        private Sleeper sleeper = Sleeper.SYSTEM;
        private Credentials.Env env;
        private Clock clock = Clock.systemUTC();

        private Builder(String bucket) {
            this.bucket = Objects.requireNonNull(bucket, "bucket");
        }

        /** Key prefix inside the bucket ("folder"), without leading or trailing slashes; default none. */
        public Builder prefix(String prefix) {
            String p = Objects.requireNonNull(prefix, "prefix");
            this.prefix = dev.sgbackup.sink.Keys.trimSlashes(p);
            return this;
        }

        /** Where tokens come from; default: {@link GcsCredentials#applicationDefault()} (or none for an emulator). */
        public Builder credentials(GcsCredentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        /** Your own OkHttpClient (its pool, proxy, timeouts); redirects and OkHttp's silent retries are turned off. */
        public Builder httpClient(OkHttpClient client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /** The JSON API endpoint, default {@code https://storage.googleapis.com} (e.g. a private endpoint). */
        public Builder endpoint(String endpoint) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            return this;
        }

        /**
         * Talk to an emulator at {@code host:port} (or {@code http://host:port}) without authorization, like
         * Google's clients do for {@code STORAGE_EMULATOR_HOST}.
         */
        public Builder emulatorHost(String hostPort) {
            this.emulatorHost = Objects.requireNonNull(hostPort, "hostPort");
            return this;
        }

        /** Upload chunk size: a multiple of 256 KiB (GCS's rule), default 8 MiB; one chunk of memory per open upload. */
        public Builder chunkSize(int bytes) {
            if (bytes < QUANTUM || bytes % QUANTUM != 0) {
                throw new InvalidInputException("GCS chunk size must be a positive multiple of 256 KiB (262144 bytes), got "
                        + bytes + "; use e.g. " + DEFAULT_CHUNK);
            }
            this.chunkSize = bytes;
            return this;
        }

        /** Objects per list request (GCS's maxResults, 1..1000); default 1000. */
        public Builder listPageSize(int size) {
            if (size < 1 || size > 1000) {
                throw new InvalidInputException("GCS list page size must be 1..1000, got " + size);
            }
            this.listPageSize = size;
            return this;
        }

        /**
         * Retries of 408/429/5xx and connection failures: at most {@code maxAttempts} tries per request, waiting
         * {@code initialBackoff} doubling up to {@code maxBackoff}, with jitter. Default 7, 1 s, 32 s.
         */
        public Builder retry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
            this.retry = new RetryPolicy(maxAttempts, initialBackoff, maxBackoff);
            return this;
        }

        Builder sleeper(Sleeper sleeper) {
            this.sleeper = sleeper;
            return this;
        }

        Builder environment(Credentials.Env env) {
            this.env = env;
            return this;
        }

        Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        public GcsSink build() {
            if (!BUCKET.matcher(bucket).matches()) {
                throw new InvalidInputException("'" + bucket + "' is not a GCS bucket name (3-222 characters of a-z, 0-9, '.', '_', '-'); "
                        + "write gs://BUCKET/prefix");
            }
            if (prefix.contains("//")) {
                throw new InvalidInputException("prefix '" + prefix + "' contains an empty path segment ('//'); remove it");
            }
            Credentials.Env e = env != null ? env : Credentials.Env.system();
            String emu = emulatorHost;
            if (emu == null && endpoint == null && credentials == null) {
                emu = e.get("STORAGE_EMULATOR_HOST");
            }
            HttpUrl url;
            boolean emulator = emu != null;
            if (emulator) {
                String u = emu.contains("://") ? emu : "http://" + emu;
                url = HttpUrl.parse(u);
                if (url == null) {
                    throw new InvalidInputException("emulator host '" + emu + "' is not host:port or http://host:port; "
                            + "fix STORAGE_EMULATOR_HOST");
                }
            } else {
                String ep = endpoint == null ? DEFAULT_ENDPOINT : endpoint;
                url = HttpUrl.parse(ep);
                if (url == null) {
                    throw new InvalidInputException("GCS endpoint '" + ep + "' is not an http(s) URL");
                }
            }
            // drop a trailing slash so path segments append cleanly
            HttpUrl.Builder ub = url.newBuilder();
            List<String> segs = new ArrayList<>(url.pathSegments());
            while (!segs.isEmpty() && segs.get(segs.size() - 1).isEmpty()) {
                segs.remove(segs.size() - 1);
            }
            ub.encodedPath("/");
            for (String s : segs) {
                ub.addPathSegment(s);
            }
            url = ub.build();
            Transport transport = new Transport(httpClient != null ? httpClient : Transport.defaultClient(), retry, sleeper);
            GcsCredentials creds = credentials;
            if (creds == null) {
                creds = emulator ? Credentials.NONE : Credentials.applicationDefault(e);
            }
            if (creds instanceof Credentials.NeedsTransport n) {
                creds = n.withTransport(transport, clock);
            }
            return new GcsSink(this, url, creds, transport, emulator);
        }

        @Override
        public String toString() {
            return "GcsSink.Builder[gs://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix) + "]";
        }
    }
}
