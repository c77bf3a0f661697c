package dev.sgbackup.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sgbackup.run.SinkException;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.w3c.dom.Element;

/**
 * Finds credentials in the order the AWS tools use: explicit, environment, web identity (STS
 * AssumeRoleWithWebIdentity), shared profile files, ECS container credentials, EC2 instance metadata (IMDSv2).
 * Temporary credentials are cached and refreshed {@link #REFRESH_MARGIN} before they expire.
 * Nothing in here logs or throws a secret.
 */
final class CredentialsChain {
    static final Duration REFRESH_MARGIN = Duration.ofMinutes(5);
    private static final System.Logger LOG = System.getLogger(CredentialsChain.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final S3Credentials explicit;
    private final Function<String, String> env;
    private final Path home;
    private final OkHttpClient http;
    private final Clock clock;
    private final String region;
    private S3Credentials cached;
    private String cachedFrom;

    CredentialsChain(S3Credentials explicit, Function<String, String> env, Path home, OkHttpClient http, Clock clock,
                     String region) {
        this.explicit = explicit;
        this.env = env;
        this.home = home;
        this.http = http.newBuilder()
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(5))
                .followRedirects(false).build();
        this.clock = clock;
        this.region = region;
    }

    /** Current credentials, refreshed when they are about to expire. */
    synchronized S3Credentials get() {
        if (cached != null && !cached.expiresWithin(REFRESH_MARGIN, clock.instant())) {
            return cached;
        }
        cached = resolve();
        return cached;
    }

    /** Forgets cached credentials (S3 said ExpiredToken). */
    synchronized void invalidate() {
        if (cached != null && cached.expiration() != null) {
            cached = null;
        }
    }

    synchronized String source() {
        return cachedFrom;
    }

    private S3Credentials resolve() {
        List<String> tried = new ArrayList<>();
        if (explicit != null) {
            cachedFrom = "explicit";
            return explicit;
        }
        tried.add("explicit (none given to the builder)");
        String ak = env.apply("AWS_ACCESS_KEY_ID");
        String sk = env.apply("AWS_SECRET_ACCESS_KEY");
        if (ak != null && !ak.isBlank()) {
            if (sk == null || sk.isEmpty()) {
                throw new SinkException("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not;"
                        + " set both (and AWS_SESSION_TOKEN for temporary credentials) or unset AWS_ACCESS_KEY_ID");
            }
            cachedFrom = "environment";
            return new S3Credentials(ak.strip(), sk.strip(), env.apply("AWS_SESSION_TOKEN"), null);
        }
        tried.add("environment (AWS_ACCESS_KEY_ID not set)");

        String tokenFile = env.apply("AWS_WEB_IDENTITY_TOKEN_FILE");
        String roleArn = env.apply("AWS_ROLE_ARN");
        if (tokenFile != null && !tokenFile.isBlank() && roleArn != null && !roleArn.isBlank()) {
            cachedFrom = "web identity (" + roleArn + ")";
            return webIdentity(Path.of(tokenFile), roleArn);
        }
        tried.add("web identity (AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set)");

        AwsProfiles profiles = new AwsProfiles(env, home);
        String pak = profiles.get("aws_access_key_id");
        String psk = profiles.get("aws_secret_access_key");
        if (pak != null && psk != null) {
            cachedFrom = "profile '" + profiles.profile + "'";
            return new S3Credentials(pak, psk, profiles.get("aws_session_token"), null);
        }
        String explicitProfile = env.apply("AWS_PROFILE");
        if (explicitProfile != null && !explicitProfile.isBlank()) {
            throw new SinkException("AWS_PROFILE is '" + profiles.profile + "' but " + (profiles.profileExists()
                    ? "that profile has no aws_access_key_id/aws_secret_access_key (role_arn, sso and"
                    + " credential_process profiles are not supported)"
                    : "no such profile exists in " + profiles.credentialsFile + " or " + profiles.configFile)
                    + "; fix the profile or unset AWS_PROFILE");
        }
        tried.add("profile '" + profiles.profile + "' in " + profiles.credentialsFile + " and " + profiles.configFile);

        String rel = env.apply("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        String full = env.apply("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if ((rel != null && !rel.isBlank()) || (full != null && !full.isBlank())) {
            String url = rel != null && !rel.isBlank() ? "http://169.254.170.2" + rel : full;
            cachedFrom = "container credentials";
            return container(url);
        }
        tried.add("container credentials (AWS_CONTAINER_CREDENTIALS_* not set)");

        if (!"true".equalsIgnoreCase(String.valueOf(env.apply("AWS_EC2_METADATA_DISABLED")))) {
            S3Credentials c = imds();
            if (c != null) {
                cachedFrom = "EC2 instance metadata";
                return c;
            }
            tried.add("EC2 instance metadata (no answer)");
        } else {
            tried.add("EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)");
        }
        throw new SinkException("no AWS credentials found; tried: " + String.join(", ", tried)
                + ". Fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or pass"
                + " S3Sink.builder(bucket).credentials(S3Credentials.of(...))");
    }

    private S3Credentials webIdentity(Path tokenFile, String roleArn) {
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new SinkException("cannot read the web identity token file " + tokenFile
                    + " (AWS_WEB_IDENTITY_TOKEN_FILE): " + e.getMessage() + "; check the path and its permissions", e);
        }
        String session = env.apply("AWS_ROLE_SESSION_NAME");
        if (session == null || session.isBlank()) {
            session = "sgbackup-" + clock.millis();
        }
        String endpoint = env.apply("AWS_ENDPOINT_URL_STS");
        if (endpoint == null || endpoint.isBlank()) {
            endpoint = env.apply("AWS_ENDPOINT_URL");
        }
        if (endpoint == null || endpoint.isBlank()) {
            endpoint = region != null ? "https://sts." + region + ".amazonaws.com" : "https://sts.amazonaws.com";
        }
        String form = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                + "&RoleArn=" + URLEncoder.encode(roleArn, StandardCharsets.UTF_8)
                + "&RoleSessionName=" + URLEncoder.encode(session, StandardCharsets.UTF_8)
                + "&WebIdentityToken=" + URLEncoder.encode(token, StandardCharsets.UTF_8);
        Request req = new Request.Builder().url(endpoint.endsWith("/") ? endpoint : endpoint + "/")
                .post(RequestBody.create(form, MediaType.get("application/x-www-form-urlencoded")))
                .header("Accept", "application/xml").build();
        IOException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            try (Response r = http.newCall(req).execute()) {
                ResponseBody b = r.body();
                byte[] bytes = b == null ? new byte[0] : b.bytes();
                Element root = Xml.parse(bytes);
                if (r.code() >= 500 && attempt < 3) {
                    continue;
                }
                if (!r.isSuccessful() || root == null) {
                    String code = null;
                    String msg = null;
                    if (root != null) {
                        Element err = Xml.children(root, "Error").stream().findFirst().orElse(root);
                        code = Xml.text(err, "Code");
                        msg = Xml.text(err, "Message");
                    }
                    throw new SinkException("STS AssumeRoleWithWebIdentity for role " + roleArn + " failed: HTTP "
                            + r.code() + (code != null ? " " + code + ": " + msg : "")
                            + "; check the role's trust policy for this identity provider and AWS_ROLE_ARN");
                }
                Element result = Xml.children(root, "AssumeRoleWithWebIdentityResult").stream().findFirst()
                        .orElse(root);
                Element creds = Xml.children(result, "Credentials").stream().findFirst().orElseThrow(() ->
                        new SinkException("STS AssumeRoleWithWebIdentity answered without Credentials"));
                return new S3Credentials(Xml.text(creds, "AccessKeyId"), Xml.text(creds, "SecretAccessKey"),
                        Xml.text(creds, "SessionToken"), parseInstant(Xml.text(creds, "Expiration")));
            } catch (IOException e) {
                last = e;
            }
        }
        throw new SinkException("STS AssumeRoleWithWebIdentity at " + HttpUrl.get(req.url().toString()).host()
                + " failed: " + last.getMessage() + "; check network access to STS or set AWS_ENDPOINT_URL_STS", last);
    }

    private S3Credentials container(String url) {
        Request.Builder rb = new Request.Builder().url(url).get();
        String tokenFile = env.apply("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        String token = env.apply("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        try {
            if (tokenFile != null && !tokenFile.isBlank()) {
                token = Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).strip();
            }
        } catch (IOException e) {
            throw new SinkException("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + tokenFile + ": "
                    + e.getMessage(), e);
        }
        if (token != null && !token.isBlank()) {
            rb.header("Authorization", token);
        }
        IOException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            try (Response r = http.newCall(rb.build()).execute()) {
                if (r.code() >= 500 && attempt < 3) {
                    continue;
                }
                if (!r.isSuccessful()) {
                    throw new SinkException("container credentials endpoint answered HTTP " + r.code()
                            + "; check the task role and AWS_CONTAINER_AUTHORIZATION_TOKEN");
                }
                return fromJson(r.body().bytes(), "container credentials endpoint");
            } catch (IOException e) {
                last = e;
            }
        }
        throw new SinkException("container credentials endpoint unreachable: " + last.getMessage()
                + "; is this running in ECS/EKS Pod Identity?", last);
    }

    private S3Credentials imds() {
        String base = env.apply("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        if (base == null || base.isBlank()) {
            base = "http://169.254.169.254";
        }
        base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        OkHttpClient quick = http.newBuilder().connectTimeout(Duration.ofSeconds(1))
                .readTimeout(Duration.ofSeconds(2)).retryOnConnectionFailure(false).build();
        try {
            String token;
            try (Response r = quick.newCall(new Request.Builder().url(base + "/latest/api/token")
                    .put(RequestBody.create(new byte[0]))
                    .header("X-aws-ec2-metadata-token-ttl-seconds", "21600").build()).execute()) {
                if (!r.isSuccessful()) {
                    return null;
                }
                token = r.body().string().strip();
            }
            String role;
            try (Response r = quick.newCall(new Request.Builder()
                    .url(base + "/latest/meta-data/iam/security-credentials/")
                    .header("X-aws-ec2-metadata-token", token).build()).execute()) {
                if (!r.isSuccessful()) {
                    return null;
                }
                role = r.body().string().strip().split("\n")[0].strip();
            }
            if (role.isEmpty()) {
                return null;
            }
            try (Response r = quick.newCall(new Request.Builder()
                    .url(base + "/latest/meta-data/iam/security-credentials/" + role)
                    .header("X-aws-ec2-metadata-token", token).build()).execute()) {
                if (!r.isSuccessful()) {
                    return null;
                }
                return fromJson(r.body().bytes(), "EC2 instance metadata");
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "EC2 instance metadata not reachable: {0}", e.toString());
            return null;
        }
    }

    private S3Credentials fromJson(byte[] body, String where) throws IOException {
        JsonNode n = JSON.readTree(body);
        if (n.hasNonNull("Code") && !"Success".equals(n.get("Code").asText())) {
            throw new SinkException(where + " answered Code=" + n.get("Code").asText()
                    + "; check the instance/task role");
        }
        if (!n.hasNonNull("AccessKeyId") || !n.hasNonNull("SecretAccessKey")) {
            throw new SinkException(where + " answered without AccessKeyId/SecretAccessKey");
        }
        String token = n.hasNonNull("Token") ? n.get("Token").asText() : null;
        Instant exp = n.hasNonNull("Expiration") ? parseInstant(n.get("Expiration").asText()) : null;
        return new S3Credentials(n.get("AccessKeyId").asText(), n.get("SecretAccessKey").asText(), token, exp);
    }

    private static Instant parseInstant(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(s.strip());
        } catch (RuntimeException e) {
            return java.time.OffsetDateTime.parse(s.strip()).toInstant();
        }
    }
}
