package dev.sgbackup.gcs;

import dev.sgbackup.sink.MutableClock;

import static dev.sgbackup.gcs.Support.data;
import static dev.sgbackup.gcs.Support.get;
import static dev.sgbackup.gcs.Support.put;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.gcs.FakeGcs.Kind;
import dev.sgbackup.sink.BackupSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsTest {
    static final String EMAIL = "backup@proj.iam.gserviceaccount.com";
    static KeyPair keys;
    static KeyPair otherKeys;

    @TempDir
    Path tmp;
    FakeGcs fake;
    Path home;
    Map<String, String> env = new HashMap<>();

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        keys = g.generateKeyPair();
        otherKeys = g.generateKeyPair();
    }

    @BeforeEach
    void start() throws IOException {
        fake = new FakeGcs(Files.createDirectory(tmp.resolve("fake"))).bucket("bkt");
        fake.requireAuth = true;
        fake.serviceAccount(EMAIL, keys.getPublic());
        fake.user("client-1.apps.googleusercontent.com", "client-secret-xyz", "1//refresh-token-abc");
        home = Files.createDirectory(tmp.resolve("home"));
        env.put("NO_GCE_CHECK", "false");
    }

    @AfterEach
    void stop() throws IOException {
        fake.close();
    }

    static String pem(KeyPair kp) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(kp.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    Path serviceAccountFile(KeyPair kp) throws IOException {
        Path f = tmp.resolve("sa-" + System.nanoTime() + ".json");
        var json = new ObjectMapper().createObjectNode().put("type", "service_account").put("project_id", "proj")
                .put("private_key_id", "0123456789abcdef0123").put("private_key", pem(kp)).put("client_email", EMAIL)
                .put("client_id", "1234").put("token_uri", fake.tokenUri());
        Files.writeString(f, json.toString());
        return f;
    }

    Path userFile(String refreshToken) throws IOException {
        Path f = tmp.resolve("user-" + System.nanoTime() + ".json");
        var json = new ObjectMapper().createObjectNode().put("type", "authorized_user")
                .put("client_id", "client-1.apps.googleusercontent.com").put("client_secret", "client-secret-xyz")
                .put("refresh_token", refreshToken).put("token_uri", fake.tokenUri());
        Files.writeString(f, json.toString());
        return f;
    }

    GcsSink.Builder builder() {
        return GcsSink.builder("bkt").endpoint(fake.server.url("/").toString())
                .retry(4, Duration.ofMillis(1), Duration.ofMillis(4)).sleeper(new Support.RecordingSleeper())
                .environment(Support.env(env, home));
    }

    @Test
    void serviceAccountKeySignsAJwtThatTheTokenEndpointVerifiesAndTheTokenIsCached() throws IOException {
        BackupSink sink = builder().chunkSize(FakeGcs.Q).credentials(GcsCredentials.fromFile(serviceAccountFile(keys))).build();
        byte[] bytes = data(600_000, 1);
        put(sink, "a", bytes);
        put(sink, "b", data(10, 2));
        assertThat(get(sink, "a")).isEqualTo(bytes);
        assertThat(sink.list("", null).objects()).hasSize(2);
        assertThat(fake.count(Kind.TOKEN)).as("one token for all requests").isEqualTo(1);
        assertThat(fake.count(Kind.START)).isEqualTo(1);
        assertThat(fake.authorizationHeaders.get()).isGreaterThanOrEqualTo(7);
    }

    @Test
    void aKeyTheServerDoesNotKnowIsRejectedWithoutLeakingIt() throws IOException {
        Path file = serviceAccountFile(otherKeys);
        BackupSink sink = builder().credentials(GcsCredentials.fromFile(file)).build();
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class)
                .hasMessageContaining("invalid_grant").hasMessageContaining("Invalid JWT Signature")
                .hasMessageContaining(EMAIL).hasMessageContaining("create a new key")
                .satisfies(e -> assertNoSecrets(e, otherKeys));
        assertThat(fake.count(Kind.LIST)).isZero();
    }

    @Test
    void tokenEndpointHiccupsAreRetriedAndPersistentFailuresExplained() throws IOException {
        fake.fail(Kind.TOKEN, 2, 503);
        BackupSink sink = builder().credentials(GcsCredentials.fromFile(serviceAccountFile(keys))).build();
        assertThat(sink.list("", null).objects()).isEmpty();
        assertThat(fake.count(Kind.TOKEN)).isEqualTo(3);

        fake.fail(Kind.TOKEN, 10, 500);
        BackupSink other = builder().credentials(GcsCredentials.fromFile(serviceAccountFile(keys))).build();
        assertThatThrownBy(() -> other.list("", null)).isInstanceOf(SinkException.class).hasMessageContaining("HTTP 500");
    }

    @Test
    void a401RefreshesTheTokenOnce() throws IOException {
        BackupSink sink = builder().credentials(GcsCredentials.fromFile(serviceAccountFile(keys))).build();
        sink.list("", null);
        fake.fail(Kind.LIST, 1, 401);
        sink.list("", null);
        assertThat(fake.count(Kind.TOKEN)).isEqualTo(2);
        fake.fail(Kind.LIST, 2, 401);
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class).hasMessageContaining("401")
                .hasMessageContaining("ServiceAccountCredentials[" + EMAIL);
    }

    @Test
    void authorizedUserRefreshTokenAndRefreshBeforeExpiry() throws IOException {
        MutableClock clock = new MutableClock();
        BackupSink sink = builder().credentials(GcsCredentials.fromFile(userFile("1//refresh-token-abc"))).clock(clock).build();
        sink.list("", null);
        clock.now = clock.now.plus(Duration.ofMinutes(50));
        sink.list("", null);
        assertThat(fake.count(Kind.TOKEN)).as("still 10 minutes left").isEqualTo(1);
        clock.now = clock.now.plus(Duration.ofMinutes(6));
        sink.list("", null);
        assertThat(fake.count(Kind.TOKEN)).as("less than 5 minutes left: refreshed").isEqualTo(2);
    }

    @Test
    void aRevokedRefreshTokenSaysToLogInAgain() throws IOException {
        BackupSink sink = builder().credentials(GcsCredentials.fromFile(userFile("1//revoked"))).build();
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class)
                .hasMessageContaining("invalid_grant").hasMessageContaining("gcloud auth application-default login")
                .hasMessageNotContaining("1//revoked").hasMessageNotContaining("client-secret-xyz");
    }

    @Test
    void adcPrefersGoogleApplicationCredentialsThenTheWellKnownFileThenTheMetadataServer() throws IOException {
        Path gcloud = Files.createDirectories(home.resolve(".config/gcloud"));
        Files.copy(userFile("1//refresh-token-abc"), gcloud.resolve("application_default_credentials.json"));
        env.put("GCE_METADATA_HOST", fake.hostPort());

        env.put("GOOGLE_APPLICATION_CREDENTIALS", serviceAccountFile(keys).toString());
        GcsSink a = builder().build();
        assertThat(a.credentials.toString()).startsWith("ServiceAccountCredentials");
        a.list("", null);

        env.remove("GOOGLE_APPLICATION_CREDENTIALS");
        GcsSink b = builder().build();
        assertThat(b.credentials.toString()).startsWith("AuthorizedUserCredentials");
        b.list("", null);

        Files.delete(gcloud.resolve("application_default_credentials.json"));
        GcsSink c = builder().build();
        assertThat(c.credentials.toString()).startsWith("MetadataServerCredentials");
        c.list("", null);
        assertThat(fake.count(Kind.METADATA)).isEqualTo(1);
        assertThat(fake.count(Kind.TOKEN)).isEqualTo(2);

        // CLOUDSDK_CONFIG moves gcloud's directory
        Path custom = Files.createDirectories(tmp.resolve("gcloud-config"));
        Files.copy(userFile("1//refresh-token-abc"), custom.resolve("application_default_credentials.json"));
        env.put("CLOUDSDK_CONFIG", custom.toString());
        assertThat(builder().build().credentials.toString()).startsWith("AuthorizedUserCredentials").contains(custom.toString());
    }

    @Test
    void theMetadataServerMustSayItIsOne() {
        fake.metadataServer = false;
        env.put("GCE_METADATA_HOST", fake.hostPort());
        GcsSink sink = builder().build();
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class)
                .hasMessageContaining("not a GCE metadata server").hasMessageContaining("GOOGLE_APPLICATION_CREDENTIALS");
    }

    @Test
    void noCredentialsAnywhereSaysWhatWasTried() throws IOException {
        int closedPort;
        try (var s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        env.put("GCE_METADATA_HOST", "127.0.0.1:" + closedPort);
        GcsSink sink = builder().build();
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class)
                .hasMessageContaining("no Google credentials found").hasMessageContaining("GOOGLE_APPLICATION_CREDENTIALS is not set")
                .hasMessageContaining("application_default_credentials.json").hasMessageContaining("gcloud auth application-default login");
        env.put("NO_GCE_CHECK", "true");
        assertThatThrownBy(() -> builder().build()).isInstanceOf(InvalidInputException.class).hasMessageContaining("NO_GCE_CHECK");
        env.put("GOOGLE_APPLICATION_CREDENTIALS", tmp.resolve("missing.json").toString());
        assertThatThrownBy(() -> builder().build()).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("missing.json").hasMessageContaining("does not exist");
    }

    @Test
    void badKeyFilesSayWhatIsWrongAndNeverQuoteTheKey() throws IOException {
        String key = pem(keys);
        Path notJson = tmp.resolve("broken.json");
        Files.writeString(notJson, "{\"type\": \"service_account\", \"private_key\": \"" + key.replace("\n", "\\n") + "\", oops}");
        assertThatThrownBy(() -> GcsCredentials.fromFile(notJson)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not valid JSON").hasMessageContaining("line 1")
                .satisfies(e -> assertNoSecrets(e, keys));

        Path noKey = tmp.resolve("nokey.json");
        Files.writeString(noKey, "{\"type\": \"service_account\", \"client_email\": \"a@b\"}");
        assertThatThrownBy(() -> GcsCredentials.fromFile(noKey)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no 'private_key'");

        Path badPem = tmp.resolve("badpem.json");
        Files.writeString(badPem, "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nAAAAnotakey\\n-----END PRIVATE KEY-----\"}");
        assertThatThrownBy(() -> GcsCredentials.fromFile(badPem)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not a PEM-encoded PKCS#8 RSA key").hasMessageNotContaining("AAAAnotakey");

        Path external = tmp.resolve("external.json");
        Files.writeString(external, "{\"type\": \"external_account\"}");
        assertThatThrownBy(() -> GcsCredentials.fromFile(external)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'external_account'").hasMessageContaining("supported: service_account");

        assertThatThrownBy(() -> GcsCredentials.fromFile(tmp.resolve("absent.json"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void explicitTokenAndTokenSource() throws IOException {
        fake.acceptToken("ya29.explicit", Instant.now().plusSeconds(3600));
        BackupSink sink = builder().credentials(GcsCredentials.token("ya29.explicit")).build();
        put(sink, "t", data(5, 1));
        assertThat(fake.count(Kind.TOKEN)).isZero();

        AtomicInteger calls = new AtomicInteger();
        fake.acceptToken("ya29.from-source", Instant.now().plusSeconds(3600));
        BackupSink fromSource = builder().credentials(GcsCredentials.tokenSource(() -> {
            calls.incrementAndGet();
            return new AccessToken("ya29.from-source", Instant.now().plusSeconds(3600));
        })).build();
        fromSource.list("", null);
        fromSource.list("", null);
        assertThat(calls).hasValue(1);

        AtomicInteger shortCalls = new AtomicInteger();
        BackupSink shortLived = builder().credentials(GcsCredentials.tokenSource(() -> {
            shortCalls.incrementAndGet();
            return new AccessToken("ya29.from-source", Instant.now().plusSeconds(120));
        })).build();
        shortLived.list("", null);
        shortLived.list("", null);
        assertThat(shortCalls).as("a token with under 5 minutes left is fetched again").hasValue(2);

        BackupSink wrong = builder().credentials(GcsCredentials.token("ya29.unknown")).build();
        assertThatThrownBy(() -> wrong.list("", null)).isInstanceOf(SinkException.class).hasMessageContaining("401")
                .hasMessageNotContaining("ya29.unknown");
    }

    @Test
    void storageEmulatorHostMeansNoAuth() throws IOException {
        fake.requireAuth = false;
        env.put("STORAGE_EMULATOR_HOST", "http://" + fake.hostPort());
        env.put("GOOGLE_APPLICATION_CREDENTIALS", tmp.resolve("never-read.json").toString());
        GcsSink sink = GcsSink.builder("bkt").environment(Support.env(env, home)).build();
        put(sink, "e", data(10, 1));
        assertThat(fake.authorizationHeaders).hasValue(0);
        assertThat(sink.toString()).contains("endpoint http://" + fake.hostPort());
        env.put("STORAGE_EMULATOR_HOST", fake.hostPort());
        assertThat(Support.get(GcsSink.builder("bkt").environment(Support.env(env, home)).build(), "e")).hasSize(10);
    }

    @Test
    void toStringsNeverShowSecrets() throws IOException {
        AccessToken t = new AccessToken("ya29.very-secret", Instant.now());
        assertThat(t.toString()).doesNotContain("very-secret").contains("redacted");
        assertThat(GcsCredentials.token("ya29.very-secret").toString()).doesNotContain("very-secret");
        GcsCredentials sa = GcsCredentials.fromFile(serviceAccountFile(keys));
        assertThat(sa.toString()).contains(EMAIL).doesNotContain("PRIVATE KEY")
                .doesNotContain(Base64.getEncoder().encodeToString(keys.getPrivate().getEncoded()).substring(100, 140));
        GcsCredentials user = GcsCredentials.fromFile(userFile("1//refresh-token-abc"));
        assertThat(user.toString()).doesNotContain("refresh-token-abc").doesNotContain("client-secret-xyz");
    }

    static void assertNoSecrets(Throwable e, KeyPair kp) {
        String encoded = Base64.getEncoder().encodeToString(kp.getPrivate().getEncoded());
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            assertThat(m).doesNotContain("PRIVATE KEY").doesNotContain(encoded.substring(200, 240)).doesNotContain("assertion=");
        }
    }
}
