package dev.sgbackup.gcs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.FormBody;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The credential kinds behind {@link GcsCredentials}'s factories, and the ADC lookup. One job (turning what the
 * environment holds into access tokens), so one file.
 */
final class Credentials {
    static final String SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";
    static final String DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
    /** Refresh this long before a token expires (Google's libraries use a few minutes too). */
    static final Duration REFRESH_MARGIN = Duration.ofMinutes(5);

    private Credentials() {
    }

    /** Environment variables, home directory and OS of the process; replaced in tests. */
    record Env(Map<String, String> vars, Path home, String os) {
        static Env system() {
            return new Env(System.getenv(), Path.of(System.getProperty("user.home")), System.getProperty("os.name", ""));
        }

        String get(String name) {
            String v = vars.get(name);
            return v == null || v.isBlank() ? null : v.trim();
        }

        /** gcloud's well-known ADC file. */
        Path wellKnownFile() {
            String config = get("CLOUDSDK_CONFIG");
            Path dir;
            if (config != null) {
                dir = Path.of(config);
            } else if (os.toLowerCase(Locale.ROOT).startsWith("windows") && get("APPDATA") != null) {
                dir = Path.of(get("APPDATA"), "gcloud");
            } else {
                dir = home.resolve(".config").resolve("gcloud");
            }
            return dir.resolve("application_default_credentials.json");
        }
    }

    /** Credentials that call a token endpoint; the sink gives them its transport (client, retries). */
    interface NeedsTransport {
        GcsCredentials withTransport(Transport transport, Clock clock);
    }

    static final GcsCredentials NONE = new GcsCredentials() {
        @Override
        public AccessToken currentToken() {
            return null;
        }

        @Override
        public String toString() {
            return "GcsCredentials.none()";
        }
    };

    record Fixed(AccessToken token) implements GcsCredentials {
        @Override
        public AccessToken currentToken() {
            return token;
        }

        @Override
        public String toString() {
            return "GcsCredentials.token(<redacted>)";
        }
    }

    /** Caches a token and fetches a new one {@link #REFRESH_MARGIN} before it expires. */
    abstract static class Cached implements GcsCredentials {
        final Clock clock;
        private AccessToken cached;

        Cached(Clock clock) {
            this.clock = clock;
        }

        abstract AccessToken fetch() throws IOException;

        @Override
        public synchronized AccessToken currentToken() throws IOException {
            if (cached == null || !clock.instant().plus(REFRESH_MARGIN).isBefore(cached.expiresAt())) {
                cached = fetch();
            }
            return cached;
        }

        @Override
        public synchronized void invalidate() {
            cached = null;
        }
    }

    static final class FromSource extends Cached {
        private final GcsCredentials.TokenSource source;

        FromSource(GcsCredentials.TokenSource source, Clock clock) {
            super(clock);
            this.source = source;
        }

        @Override
        AccessToken fetch() throws IOException {
            AccessToken t = source.fetch();
            if (t == null) {
                throw new SinkException("the token source given to GcsCredentials.tokenSource returned null; it must return a token");
            }
            return t;
        }

        @Override
        public String toString() {
            return "GcsCredentials.tokenSource(" + source.getClass().getName() + ")";
        }
    }

    /** Reads a key file: service_account or authorized_user. */
    static GcsCredentials fromFile(Path file, Env env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("credentials file " + file + " does not exist; point GOOGLE_APPLICATION_CREDENTIALS "
                    + "(or GcsCredentials.fromFile) at a service account key file, or run `gcloud auth application-default login`");
        } catch (IOException e) {
            throw new InvalidInputException("credentials file " + file + " cannot be read (" + e.getClass().getSimpleName()
                    + "); check its permissions", e);
        }
        JsonNode json;
        try {
            json = Json.parse(text);
        } catch (JsonProcessingException e) {
            // no cause and no parser message: both may quote the file, which holds a private key
            var at = e.getLocation();
            throw new InvalidInputException("credentials file " + file + " is not valid JSON"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")")
                    + "; download the key again (IAM > Service accounts > Keys) or run `gcloud auth application-default login`");
        } catch (IOException e) {
            throw new InvalidInputException("credentials file " + file + " cannot be read; check it", e);
        }
        if (json == null || !json.isObject()) {
            throw new InvalidInputException("credentials file " + file + " is not a JSON object; expected a service account key "
                    + "or gcloud application_default_credentials.json");
        }
        String type = Json.text(json, "type");
        if ("service_account".equals(type)) {
            return ServiceAccount.parse(file, json);
        }
        if ("authorized_user".equals(type)) {
            return AuthorizedUser.parse(file, json);
        }
        throw new InvalidInputException("credentials file " + file + " has type " + (type == null ? "(missing)" : "'" + type + "'")
                + ", which sgbackup-gcs does not support; supported: service_account (a key file), authorized_user "
                + "(`gcloud auth application-default login`), or pass a token with GcsCredentials.tokenSource");
    }

    static String require(Path file, JsonNode json, String field, String fix) {
        String v = Json.text(json, field);
        if (v == null || v.isBlank()) {
            throw new InvalidInputException("credentials file " + file + " has no '" + field + "'; " + fix);
        }
        return v;
    }

    /** Posts a form to a token endpoint and reads {@code access_token} / {@code expires_in}. */
    static AccessToken exchange(Transport transport, Clock clock, String tokenUri, FormBody form, String who, String fix)
            throws IOException {
        HttpUrl url = HttpUrl.parse(tokenUri);
        if (url == null) {
            throw new InvalidInputException("token_uri '" + tokenUri + "' of " + who + " is not an http(s) URL; " + fix);
        }
        Request request = new Request.Builder().url(url).post(form).build();
        try (Response r = transport.call(request, null, "token request for " + who)) {
            String body = r.body() == null ? "" : r.body().string();
            if (!r.isSuccessful()) {
                String error = "", description = "";
                try {
                    JsonNode j = Json.parse(body);
                    error = Json.text(j, "error");
                    description = Json.text(j, "error_description");
                } catch (IOException | RuntimeException ignored) {
                    // not JSON: say only the status
                }
                throw new SinkException("the token endpoint " + url.host() + " refused " + who + ": HTTP " + r.code()
                        + (error == null || error.isEmpty() ? "" : " " + error)
                        + (description == null || description.isEmpty() ? "" : " (" + description + ")") + "; " + fix);
            }
            return parseToken(body, clock, "the token endpoint " + url.host());
        }
    }

    static AccessToken parseToken(String body, Clock clock, String from) {
        JsonNode j;
        try {
            j = Json.parse(body);
        } catch (IOException e) {
            throw new SinkException(from + " answered with something that is not JSON; check the endpoint address");
        }
        String token = Json.text(j, "access_token");
        if (token == null || token.isBlank()) {
            throw new SinkException(from + " answered without an access_token; check the endpoint address");
        }
        long expiresIn = j.path("expires_in").asLong(3600);
        return new AccessToken(token, clock.instant().plusSeconds(expiresIn));
    }

    /** A service account key: a JWT signed RS256 with the key, exchanged at the key's token_uri. */
    static final class ServiceAccount extends Cached implements NeedsTransport {
        final Path file;
        final String email;
        final String keyId;
        final String tokenUri;
        private final PrivateKey key;
        private final Transport transport;

        ServiceAccount(Path file, String email, String keyId, String tokenUri, PrivateKey key, Transport transport, Clock clock) {
            super(clock);
            this.file = file;
            this.email = email;
            this.keyId = keyId;
            this.tokenUri = tokenUri;
            this.key = key;
            this.transport = transport;
        }

        static ServiceAccount parse(Path file, JsonNode json) {
            String fix = "download a new JSON key for the service account (gcloud iam service-accounts keys create)";
            String email = require(file, json, "client_email", fix);
            String pem = require(file, json, "private_key", fix);
            String keyId = Json.text(json, "private_key_id");
            String tokenUri = Json.text(json, "token_uri");
            return new ServiceAccount(file, email, keyId, tokenUri == null ? DEFAULT_TOKEN_URI : tokenUri,
                    privateKey(file, pem, fix), null, Clock.systemUTC());
        }

        static PrivateKey privateKey(Path file, String pem, String fix) {
            String b64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
                    .replaceAll("\\s", "");
            if (pem.contains("BEGIN RSA PRIVATE KEY")) {
                throw new InvalidInputException("credentials file " + file + ": private_key is a PKCS#1 key; GCS key files hold "
                        + "PKCS#8 keys (BEGIN PRIVATE KEY); " + fix);
            }
            try {
                byte[] der = Base64.getDecoder().decode(b64);
                return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (IllegalArgumentException | GeneralSecurityException e) {
                // no cause: its message could describe the key material
                throw new InvalidInputException("credentials file " + file + ": private_key is not a PEM-encoded PKCS#8 RSA key; " + fix);
            }
        }

        @Override
        public GcsCredentials withTransport(Transport t, Clock c) {
            return new ServiceAccount(file, email, keyId, tokenUri, key, t, c);
        }

        String assertion(Instant now) {
            Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
            var header = Json.object().put("alg", "RS256").put("typ", "JWT");
            if (keyId != null) {
                header.put("kid", keyId);
            }
            long iat = now.getEpochSecond();
            var claims = Json.object().put("iss", email).put("scope", SCOPE).put("aud", tokenUri)
                    .put("iat", iat).put("exp", iat + 3600);
            String signingInput = b64.encodeToString(Json.write(header).getBytes(StandardCharsets.UTF_8)) + "."
                    + b64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
            try {
                Signature s = Signature.getInstance("SHA256withRSA");
                s.initSign(key);
                s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
                return signingInput + "." + b64.encodeToString(s.sign());
            } catch (GeneralSecurityException e) {
                throw new SinkException("cannot sign the token request with the key of " + email + " (" + e.getClass().getSimpleName()
                        + "); download a new key");
            }
        }

        @Override
        AccessToken fetch() throws IOException {
            Transport t = transport != null ? transport : new Transport(Transport.defaultClient(), RetryPolicy.DEFAULT, Sleeper.SYSTEM);
            FormBody form = new FormBody.Builder()
                    .add("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
                    .add("assertion", assertion(clock.instant()))
                    .build();
            return exchange(t, clock, tokenUri, form, "service account " + email + " (key file " + file + ")",
                    "the key may have been deleted or disabled, or the machine clock is off; create a new key "
                            + "(gcloud iam service-accounts keys create) and point GOOGLE_APPLICATION_CREDENTIALS at it");
        }

        @Override
        public String toString() {
            return "ServiceAccountCredentials[" + email + ", key " + (keyId == null ? "?" : keyId.substring(0, Math.min(8, keyId.length())))
                    + "…, file " + file + "]";
        }
    }

    /** gcloud's user credential: a refresh token exchanged for access tokens. */
    static final class AuthorizedUser extends Cached implements NeedsTransport {
        final Path file;
        final String clientId;
        private final String clientSecret;
        private final String refreshToken;
        final String tokenUri;
        private final Transport transport;

        AuthorizedUser(Path file, String clientId, String clientSecret, String refreshToken, String tokenUri, Transport transport,
                Clock clock) {
            super(clock);
            this.file = file;
            this.clientId = clientId;
            this.clientSecret = clientSecret;
            this.refreshToken = refreshToken;
            this.tokenUri = tokenUri;
            this.transport = transport;
        }

        static AuthorizedUser parse(Path file, JsonNode json) {
            String fix = "run `gcloud auth application-default login` again";
            String tokenUri = Json.text(json, "token_uri");
            return new AuthorizedUser(file, require(file, json, "client_id", fix), require(file, json, "client_secret", fix),
                    require(file, json, "refresh_token", fix), tokenUri == null ? DEFAULT_TOKEN_URI : tokenUri, null, Clock.systemUTC());
        }

        @Override
        public GcsCredentials withTransport(Transport t, Clock c) {
            return new AuthorizedUser(file, clientId, clientSecret, refreshToken, tokenUri, t, c);
        }

        @Override
        AccessToken fetch() throws IOException {
            Transport t = transport != null ? transport : new Transport(Transport.defaultClient(), RetryPolicy.DEFAULT, Sleeper.SYSTEM);
            FormBody form = new FormBody.Builder()
                    .add("grant_type", "refresh_token")
                    .add("client_id", clientId)
                    .add("client_secret", clientSecret)
                    .add("refresh_token", refreshToken)
                    .build();
            return exchange(t, clock, tokenUri, form, "the gcloud user credential in " + file,
                    "the refresh token may have been revoked or expired; run `gcloud auth application-default login` again");
        }

        @Override
        public String toString() {
            return "AuthorizedUserCredentials[client " + clientId + ", file " + file + "]";
        }
    }

    /** The GCE/GKE metadata server's token for the instance's (or workload's) service account. */
    static final class MetadataServer extends Cached implements NeedsTransport {
        final String host;
        private final Transport transport;
        private final String notFoundHint;

        MetadataServer(String host, String notFoundHint, Transport transport, Clock clock) {
            super(clock);
            this.host = host;
            this.notFoundHint = notFoundHint;
            this.transport = transport;
        }

        @Override
        public GcsCredentials withTransport(Transport t, Clock c) {
            return new MetadataServer(host, notFoundHint, t, c);
        }

        @Override
        AccessToken fetch() throws IOException {
            Transport base = transport != null ? transport : new Transport(Transport.defaultClient(), RetryPolicy.DEFAULT, Sleeper.SYSTEM);
            // a short connect timeout and few attempts: off GCE there is nobody at this address
            Transport t = new Transport(base.client.newBuilder().connectTimeout(2, TimeUnit.SECONDS).readTimeout(10, TimeUnit.SECONDS).build(),
                    new RetryPolicy(Math.min(3, base.retry.maxAttempts()), base.retry.initial(), base.retry.max()), base.sleeper);
            HttpUrl url = HttpUrl.parse("http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token");
            if (url == null) {
                throw new InvalidInputException("GCE_METADATA_HOST '" + host + "' is not a host[:port]; unset it or fix it");
            }
            Request request = new Request.Builder().url(url).header("Metadata-Flavor", "Google").build();
            Response r;
            try {
                r = t.call(request, null, "metadata server token request");
            } catch (IOException e) {
                throw new SinkException("no Google credentials found: " + notFoundHint + ", and the GCE/GKE metadata server at "
                        + host + " did not answer (" + Transport.describe(e) + "). Fix: set GOOGLE_APPLICATION_CREDENTIALS to a "
                        + "service account key file, run `gcloud auth application-default login`, or run on GCE/GKE", e);
            }
            try (r) {
                String body = r.body() == null ? "" : r.body().string();
                if (!"Google".equals(r.header("Metadata-Flavor"))) {
                    throw new SinkException("no Google credentials found: " + notFoundHint + ", and " + host
                            + " is not a GCE metadata server (no Metadata-Flavor: Google header). Fix: set GOOGLE_APPLICATION_CREDENTIALS "
                            + "to a service account key file or run `gcloud auth application-default login`");
                }
                if (!r.isSuccessful()) {
                    throw new SinkException("the GCE metadata server refused a token: HTTP " + r.code()
                            + (r.code() == 404 ? " (no service account attached to this instance or workload)" : "")
                            + "; attach a service account with Storage access (GKE: configure Workload Identity)");
                }
                return parseToken(body, clock, "the metadata server " + host);
            }
        }

        @Override
        public String toString() {
            return "MetadataServerCredentials[" + host + "]";
        }
    }

    /** ADC: GOOGLE_APPLICATION_CREDENTIALS, then gcloud's well-known file, then the metadata server. */
    static GcsCredentials applicationDefault(Env env) {
        String path = env.get("GOOGLE_APPLICATION_CREDENTIALS");
        if (path != null) {
            Path file = Path.of(path);
            if (!Files.exists(file)) {
                throw new InvalidInputException("GOOGLE_APPLICATION_CREDENTIALS names " + file + ", which does not exist; "
                        + "fix the path or unset the variable");
            }
            return fromFile(file, env);
        }
        Path wellKnown = env.wellKnownFile();
        if (Files.isRegularFile(wellKnown)) {
            return fromFile(wellKnown, env);
        }
        String hint = "GOOGLE_APPLICATION_CREDENTIALS is not set and " + wellKnown + " does not exist";
        if ("true".equalsIgnoreCase(env.get("NO_GCE_CHECK"))) {
            throw new InvalidInputException("no Google credentials found: " + hint + " (and NO_GCE_CHECK=true skips the metadata "
                    + "server). Fix: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file or run "
                    + "`gcloud auth application-default login`");
        }
        String host = env.get("GCE_METADATA_HOST");
        return new MetadataServer(host == null ? "metadata.google.internal" : host, hint, null, Clock.systemUTC());
    }
}
