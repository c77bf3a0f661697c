package dev.sgbackup.s3;

import dev.sgbackup.sink.MutableClock;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.put;
import static com.github.tomakehurst.wiremock.client.WireMock.putRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Credential chain order and refresh, region and endpoint resolution, part sizes. */
class CredentialsAndConfigTest {
    @TempDir
    Path home;
    WireMockServer wm;
    final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void start() {
        wm = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
        wm.start();
        env.put("AWS_EC2_METADATA_DISABLED", "true");
    }

    @AfterEach
    void stop() {
        wm.stop();
    }

    CredentialsChain chain(S3Credentials explicit, Clock clock) {
        return new CredentialsChain(explicit, env::get, home, new OkHttpClient(), clock, "us-east-1");
    }

    CredentialsChain chain() {
        return chain(null, Clock.systemUTC());
    }

    void writeProfiles() throws Exception {
        Files.createDirectories(home.resolve(".aws"));
        Files.writeString(home.resolve(".aws/credentials"), """
                [default]
                aws_access_key_id = AKIDPROFILEDEFAULT
                aws_secret_access_key = profile-default-secret

                [work]
                aws_access_key_id=AKIDPROFILEWORK
                aws_secret_access_key=profile-work-secret
                aws_session_token=profile-work-token
                """);
        Files.writeString(home.resolve(".aws/config"), """
                [default]
                region = us-west-2
                [profile work]
                region = eu-north-1
                [sso-session x]
                region = nowhere-1
                """);
    }

    @Test
    void explicitBeatsEnvironmentBeatsProfile() throws Exception {
        writeProfiles();
        env.put("AWS_ACCESS_KEY_ID", "AKIDENV");
        env.put("AWS_SECRET_ACCESS_KEY", "env-secret");
        env.put("AWS_SESSION_TOKEN", "env-token");
        assertThat(chain(S3Credentials.of("AKIDEXPLICIT", "explicit-secret"), Clock.systemUTC()).get().accessKeyId())
                .isEqualTo("AKIDEXPLICIT");
        S3Credentials fromEnv = chain().get();
        assertThat(fromEnv.accessKeyId()).isEqualTo("AKIDENV");
        assertThat(fromEnv.sessionToken()).isEqualTo("env-token");
        env.remove("AWS_ACCESS_KEY_ID");
        assertThat(chain().get().accessKeyId()).isEqualTo("AKIDPROFILEDEFAULT");
        env.put("AWS_PROFILE", "work");
        S3Credentials work = chain().get();
        assertThat(work.accessKeyId()).isEqualTo("AKIDPROFILEWORK");
        assertThat(work.sessionToken()).isEqualTo("profile-work-token");
        assertThat(work.toString()).contains("AKIDPROFILEWORK").doesNotContain("profile-work-secret")
                .doesNotContain("profile-work-token");
    }

    @Test
    void halfSetEnvironmentAndMissingProfileAreClearErrors() throws Exception {
        env.put("AWS_ACCESS_KEY_ID", "AKIDENV");
        assertThatThrownBy(() -> chain().get()).isInstanceOf(SinkException.class)
                .hasMessageContaining("AWS_SECRET_ACCESS_KEY is not");
        env.remove("AWS_ACCESS_KEY_ID");
        env.put("AWS_PROFILE", "nope");
        assertThatThrownBy(() -> chain().get()).hasMessageContaining("AWS_PROFILE is 'nope'")
                .hasMessageContaining("no such profile");
    }

    @Test
    void nothingFoundListsWhatWasTried() {
        assertThatThrownBy(() -> chain().get()).isInstanceOf(SinkException.class)
                .hasMessageContaining("no AWS credentials found").hasMessageContaining("environment")
                .hasMessageContaining("web identity").hasMessageContaining("profile 'default'")
                .hasMessageContaining("container").hasMessageContaining("AWS_EC2_METADATA_DISABLED")
                .hasMessageContaining("Fix:");
    }

    String stsAnswer(Instant expiry, String ak) {
        return "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                + "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>" + ak + "</AccessKeyId>"
                + "<SecretAccessKey>sts-secret</SecretAccessKey><SessionToken>sts-token</SessionToken>"
                + "<Expiration>" + expiry + "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                + "</AssumeRoleWithWebIdentityResponse>";
    }

    @Test
    void webIdentityComesBeforeProfilesAndIsRefreshedBeforeExpiry() throws Exception {
        writeProfiles();
        Path token = home.resolve("token");
        Files.writeString(token, "eyJ-the-oidc-token\n");
        env.put("AWS_WEB_IDENTITY_TOKEN_FILE", token.toString());
        env.put("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/backup");
        env.put("AWS_ROLE_SESSION_NAME", "s1");
        env.put("AWS_ENDPOINT_URL_STS", wm.baseUrl());
        Instant now = Instant.parse("2026-11-25T12:00:00Z");
        wm.stubFor(post(urlEqualTo("/")).willReturn(aResponse().withStatus(200)
                .withBody(stsAnswer(now.plusSeconds(3600), "ASIASTS1"))));
        MutableClock clock = new MutableClock(now);
        CredentialsChain c = chain(null, clock);
        S3Credentials first = c.get();
        assertThat(first.accessKeyId()).isEqualTo("ASIASTS1");
        assertThat(first.sessionToken()).isEqualTo("sts-token");
        assertThat(first.expiration()).isEqualTo(now.plusSeconds(3600));
        clock.now = now.plusSeconds(3600 - 400); // more than 5 minutes left: cached
        assertThat(c.get()).isSameAs(first);
        wm.verify(1, postRequestedFor(urlEqualTo("/")));
        clock.now = now.plusSeconds(3600 - 200); // less than 5 minutes left: refreshed
        c.get();
        wm.verify(2, postRequestedFor(urlEqualTo("/"))
                .withRequestBody(containing("Action=AssumeRoleWithWebIdentity"))
                .withRequestBody(containing("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbackup"))
                .withRequestBody(containing("WebIdentityToken=eyJ-the-oidc-token"))
                .withRequestBody(containing("RoleSessionName=s1")));
    }

    @Test
    void webIdentityRejectedByStsSaysWhy() throws Exception {
        Path token = home.resolve("token");
        Files.writeString(token, "bad");
        env.put("AWS_WEB_IDENTITY_TOKEN_FILE", token.toString());
        env.put("AWS_ROLE_ARN", "arn:aws:iam::1:role/r");
        env.put("AWS_ENDPOINT_URL", wm.baseUrl());
        wm.stubFor(post(urlEqualTo("/")).willReturn(aResponse().withStatus(403).withBody(
                "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>Incorrect token audience</Message>"
                        + "</Error></ErrorResponse>")));
        assertThatThrownBy(() -> chain().get()).isInstanceOf(SinkException.class)
                .hasMessageContaining("InvalidIdentityToken: Incorrect token audience")
                .hasMessageContaining("trust policy");
    }

    @Test
    void containerCredentialsWithAuthorizationToken() throws Exception {
        env.put("AWS_CONTAINER_CREDENTIALS_FULL_URI", wm.baseUrl() + "/v2/creds");
        env.put("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-auth");
        wm.stubFor(get(urlEqualTo("/v2/creds")).withHeader("Authorization", equalTo("ecs-auth"))
                .willReturn(aResponse().withStatus(200).withBody("{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":"
                        + "\"ecs-secret\",\"Token\":\"ecs-token\",\"Expiration\":\"2099-01-01T00:00:00Z\"}")));
        S3Credentials c = chain().get();
        assertThat(c.accessKeyId()).isEqualTo("ASIAECS");
        assertThat(c.expiration()).isEqualTo(Instant.parse("2099-01-01T00:00:00Z"));
    }

    @Test
    void instanceMetadataV2UsesASessionToken() {
        env.remove("AWS_EC2_METADATA_DISABLED");
        env.put("AWS_EC2_METADATA_SERVICE_ENDPOINT", wm.baseUrl());
        wm.stubFor(put(urlEqualTo("/latest/api/token")).withHeader("X-aws-ec2-metadata-token-ttl-seconds",
                equalTo("21600")).willReturn(aResponse().withStatus(200).withBody("imds-session")));
        wm.stubFor(get(urlEqualTo("/latest/meta-data/iam/security-credentials/"))
                .withHeader("X-aws-ec2-metadata-token", equalTo("imds-session"))
                .willReturn(aResponse().withStatus(200).withBody("backup-role\n")));
        wm.stubFor(get(urlEqualTo("/latest/meta-data/iam/security-credentials/backup-role"))
                .withHeader("X-aws-ec2-metadata-token", equalTo("imds-session"))
                .willReturn(aResponse().withStatus(200).withBody("{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAEC2\","
                        + "\"SecretAccessKey\":\"ec2-secret\",\"Token\":\"ec2-token\",\"Expiration\":\"2099-01-01T00:00:00Z\"}")));
        assertThat(chain().get().accessKeyId()).isEqualTo("ASIAEC2");
        wm.verify(1, putRequestedFor(urlEqualTo("/latest/api/token")));
        wm.verify(getRequestedFor(urlPathEqualTo("/latest/meta-data/iam/security-credentials/backup-role")));
    }

    @Test
    void regionComesFromBuilderThenEnvironmentThenProfile() throws Exception {
        writeProfiles();
        S3Credentials k = S3Credentials.of("AKID", "s");
        assertThat(S3Sink.builder("b").credentials(k).env(env).home(home).build().region()).isEqualTo("us-west-2");
        env.put("AWS_PROFILE", "work");
        assertThat(S3Sink.builder("b").credentials(k).env(env).home(home).build().region()).isEqualTo("eu-north-1");
        env.put("AWS_DEFAULT_REGION", "ca-central-1");
        assertThat(S3Sink.builder("b").credentials(k).env(env).home(home).build().region()).isEqualTo("ca-central-1");
        env.put("AWS_REGION", "sa-east-1");
        assertThat(S3Sink.builder("b").credentials(k).env(env).home(home).build().region()).isEqualTo("sa-east-1");
        assertThat(S3Sink.builder("b").credentials(k).env(env).home(home).region("af-south-1").build().region())
                .isEqualTo("af-south-1");
        assertThat(S3Sink.builder("b").credentials(k).env(Map.of()).home(home.resolve("none")).build().region())
                .isEqualTo("us-east-1");
    }

    @Test
    void endpointsAndAddressingStyle() {
        S3Credentials k = S3Credentials.of("AKID", "s");
        S3Sink aws = S3Sink.builder("my-bucket").credentials(k).env(Map.of()).region("eu-west-1").build();
        assertThat(aws.client.url("a/b", List.of()).toString()).isEqualTo("https://my-bucket.s3.eu-west-1.amazonaws.com/a/b");
        S3Sink awsPath = S3Sink.builder("my-bucket").credentials(k).env(Map.of()).region("eu-west-1").pathStyle(true).build();
        assertThat(awsPath.client.url("a/b", List.of()).toString()).isEqualTo("https://s3.eu-west-1.amazonaws.com/my-bucket/a/b");
        env.put("AWS_ENDPOINT_URL", "http://generic:9000");
        env.put("AWS_ENDPOINT_URL_S3", "http://minio.local:9000");
        S3Sink minio = S3Sink.builder("bk").credentials(k).env(env).build();
        assertThat(minio.client.url("x", List.<String[]>of(new String[] {"uploadId", "a/b c"})).toString())
                .isEqualTo("http://minio.local:9000/bk/x?uploadId=a%2Fb%20c");
        env.remove("AWS_ENDPOINT_URL_S3");
        assertThat(S3Sink.builder("bk").credentials(k).env(env).build().client.url("x", List.of()).host()).isEqualTo("generic");
        S3Sink forcedVirtual = S3Sink.builder("bk").credentials(k).env(env).endpoint("http://r2.example:8080")
                .pathStyle(false).build();
        assertThat(forcedVirtual.client.url("x", List.of()).toString()).isEqualTo("http://bk.r2.example:8080/x");
        assertThat(S3Client.hostHeader(forcedVirtual.client.url("x", List.of()))).isEqualTo("bk.r2.example:8080");
        assertThat(forcedVirtual.toString()).contains("virtual-hosted").doesNotContain("\"s\"");
        assertThatThrownBy(() -> S3Sink.builder("bk").endpoint("not a url").env(Map.of()).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("AWS_ENDPOINT_URL_S3");
        assertThatThrownBy(() -> S3Sink.builder("bk").endpoint("http://u:p@h:1").env(Map.of()).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("must not carry credentials");
        assertThatThrownBy(() -> S3Sink.builder("a/b")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("prefix");
    }

    @Test
    void payloadIsHashedOverHttpAndUnsignedOnlyOverHttps() throws Exception {
        S3Credentials k = new S3Credentials("AKID", "the-secret", "the-token", null);
        byte[] body = "part bytes".getBytes();
        for (String ep : List.of("http://minio:9000", "https://minio:9000")) {
            S3Sink sink = S3Sink.builder("bk").credentials(k).env(Map.of()).endpoint(ep).build();
            okhttp3.Request r = sink.client.build(new S3Client.Req("UploadPart", "PUT", "k")
                    .query("partNumber", "1").query("uploadId", "u").body(Body.of(body), true));
            assertThat(r.header("x-amz-content-sha256")).isEqualTo(ep.startsWith("https")
                    ? "UNSIGNED-PAYLOAD" : SigV4.sha256Hex(body));
            assertThat(r.header("Content-MD5")).isEqualTo(Body.of(body).md5Base64());
            assertThat(r.header("x-amz-security-token")).isEqualTo("the-token");
            assertThat(r.header("Authorization")).contains("SignedHeaders=content-md5;host;x-amz-content-sha256;"
                    + "x-amz-date;x-amz-security-token").doesNotContain("the-secret");
            assertThat(r.headers().toString()).doesNotContain("the-secret");
            // requests without a body are always signed with the empty payload hash
            assertThat(sink.client.build(new S3Client.Req("HeadObject", "HEAD", "k")).header("x-amz-content-sha256"))
                    .isEqualTo(SigV4.EMPTY_SHA256);
        }
    }

    @Test
    void partSizesFollowTheRules() {
        long mib = S3Upload.MIB;
        long min = 8 * mib;
        assertThat(S3Upload.partSize(min, -1, 1)).isEqualTo(8 * mib);
        assertThat(S3Upload.partSize(min, -1, 1000)).isEqualTo(8 * mib);
        assertThat(S3Upload.partSize(min, -1, 1001)).isEqualTo(16 * mib);
        assertThat(S3Upload.partSize(min, -1, 2001)).isEqualTo(32 * mib);
        long capacity = 0;
        for (int n = 1; n <= S3Upload.MAX_PARTS; n++) {
            capacity += S3Upload.partSize(min, -1, n);
        }
        assertThat(capacity).as("unknown length: 10,000 parts hold S3's 5 TiB maximum").isGreaterThan(5L << 40);
        assertThat(S3Upload.partSize(min, 1L << 30, 1)).isEqualTo(8 * mib);
        long big = 200L << 30;
        assertThat(S3Upload.partSize(min, big, 1)).isEqualTo((big + 8999) / 9000).isGreaterThan(8 * mib);
        assertThat(S3Upload.partSize(min, big, 9000) * 9000).isGreaterThanOrEqualTo(big);
    }
}
