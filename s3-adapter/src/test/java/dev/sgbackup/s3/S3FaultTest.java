package dev.sgbackup.s3;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.delete;
import static com.github.tomakehurst.wiremock.client.WireMock.deleteRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.headRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.put;
import static com.github.tomakehurst.wiremock.client.WireMock.putRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.sgbackup.sink.PendingObject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Faults a real S3 shows now and then, played by WireMock: the sink retries, aborts, or fails clearly. */
class S3FaultTest {
    static final String SECRET = "fault-test-secret-0123456789";
    static final String TOKEN = "fault-test-session-token-abcdef";
    static final int PART = 64 * 1024;
    static final String KEY_PATH = "/bkt/root/data/obj";

    WireMockServer wm;
    final ByteArrayOutputStream logs = new ByteArrayOutputStream();
    Handler handler;

    @BeforeEach
    void start() {
        wm = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
        wm.start();
        Logger jul = Logger.getLogger("dev.sgbackup.s3");
        jul.setLevel(Level.ALL);
        handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                String msg = java.text.MessageFormat.format(r.getMessage(), r.getParameters() == null
                        ? new Object[0] : r.getParameters());
                synchronized (logs) {
                    logs.writeBytes((msg + "\n").getBytes());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        handler.setLevel(Level.ALL);
        jul.addHandler(handler);
    }

    @AfterEach
    void stop() {
        wm.stop();
        Logger.getLogger("dev.sgbackup.s3").removeHandler(handler);
        String all = logs.toString();
        assertThat(all).as("logs").doesNotContain(SECRET).doesNotContain(TOKEN).doesNotContain("Signature=");
    }

    S3Sink.Builder builder() {
        return S3Sink.builder("bkt").prefix("root").endpoint(wm.baseUrl()).region("us-east-1")
                .credentials(S3Credentials.of("AKIDFAULT", SECRET, TOKEN)).env(Map.of())
                .retryDelays(Duration.ofMillis(1), Duration.ofMillis(20)).minPartSize(PART);
    }

    static String xml(String body) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body;
    }

    static String error(String code, String message) {
        return xml("<Error><Code>" + code + "</Code><Message>" + message + "</Message><RequestId>REQ1</RequestId></Error>");
    }

    static byte[] data(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    void stubMultipart(String uploadId) {
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploads", matching(".*"))
                .willReturn(aResponse().withStatus(200).withBody(xml("<InitiateMultipartUploadResult><Bucket>bkt</Bucket>"
                        + "<Key>root/data/obj</Key><UploadId>" + uploadId + "</UploadId></InitiateMultipartUploadResult>"))));
        for (int p = 1; p <= 3; p++) {
            wm.stubFor(put(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("" + p))
                    .withQueryParam("uploadId", equalTo(uploadId))
                    .willReturn(aResponse().withStatus(200).withHeader("ETag", "\"etag-" + p + "\"")));
        }
        wm.stubFor(delete(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo(uploadId))
                .willReturn(aResponse().withStatus(204)));
    }

    void stubComplete(String uploadId) {
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo(uploadId))
                .willReturn(aResponse().withStatus(200).withBody(xml("<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                        + "</CompleteMultipartUploadResult>"))));
    }

    /** Writes 2 full parts and a short third one, then commits. */
    static void writeThreeParts(S3Sink sink, byte[] d) throws Exception {
        try (PendingObject o = sink.create("data/obj")) {
            o.stream().write(d);
            o.commit();
        }
    }

    static String expectedEtag(byte[] d) throws Exception {
        MessageDigest all = MessageDigest.getInstance("MD5");
        for (int off = 0; off < d.length; off += PART) {
            all.update(MessageDigest.getInstance("MD5").digest(Arrays.copyOfRange(d, off, Math.min(d.length, off + PART))));
        }
        return SigV4.hex(all.digest()) + "-3";
    }

    @Test
    void slowDownIsRetriedWithBackoff() throws Exception {
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).inScenario("s").whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("2").willReturn(aResponse().withStatus(503).withBody(error("SlowDown", "Please reduce"))));
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).inScenario("s").whenScenarioStateIs("2")
                .willSetStateTo("3").willReturn(aResponse().withStatus(503).withBody(error("SlowDown", "Please reduce"))));
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).inScenario("s").whenScenarioStateIs("3")
                .willReturn(aResponse().withStatus(200).withHeader("ETag", "\"e\"")));
        try (S3Sink sink = builder().build(); PendingObject o = sink.create("data/obj")) {
            o.stream().write("small".getBytes());
            o.commit();
        }
        wm.verify(3, putRequestedFor(urlPathEqualTo(KEY_PATH)).withHeader("Content-MD5", matching(".+"))
                .withHeader("x-amz-security-token", equalTo(TOKEN)));
    }

    @Test
    void slowDownForeverFailsWithTheCodeAndAFix() throws Exception {
        wm.stubFor(put(urlPathEqualTo(KEY_PATH))
                .willReturn(aResponse().withStatus(503).withBody(error("SlowDown", "Please reduce your request rate."))));
        try (S3Sink sink = builder().maxAttempts(3).build()) {
            assertThatThrownBy(() -> {
                try (PendingObject o = sink.create("data/obj")) {
                    o.stream().write(1);
                    o.commit();
                }
            }).isInstanceOf(S3Exception.class).hasMessageContaining("SlowDown: Please reduce your request rate.")
                    .hasMessageContaining("after 3 attempts").hasMessageContaining("Fix:");
        }
        wm.verify(3, putRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void connectionResetDuringAPartIsRetriedAndOnlyThatPartResent() throws Exception {
        stubMultipart("u1");
        stubComplete("u1");
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("2")).inScenario("reset")
                .whenScenarioStateIs(Scenario.STARTED).willSetStateTo("ok")
                .willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("2")).inScenario("reset")
                .whenScenarioStateIs("ok").willReturn(aResponse().withStatus(200).withHeader("ETag", "\"etag-2\"")));
        byte[] d = data(2 * PART + 1000);
        try (S3Sink sink = builder().build()) {
            writeThreeParts(sink, d);
        }
        wm.verify(1, putRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("1")));
        wm.verify(2, putRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("2")));
        List<LoggedRequest> part2 = wm.findAll(putRequestedFor(urlPathEqualTo(KEY_PATH))
                .withQueryParam("partNumber", equalTo("2")));
        String md5 = java.util.Base64.getEncoder().encodeToString(
                MessageDigest.getInstance("MD5").digest(Arrays.copyOfRange(d, PART, 2 * PART)));
        assertThat(part2).allSatisfy(r -> {
            assertThat(r.getBody()).isEqualTo(Arrays.copyOfRange(d, PART, 2 * PART));
            assertThat(r.getHeader("Content-MD5")).as("per-part checksum").isEqualTo(md5);
            assertThat(r.getHeader("x-amz-content-sha256")).isEqualTo(SigV4.sha256Hex(Arrays.copyOfRange(d, PART, 2 * PART)));
        });
        wm.verify(1, postRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1"))
                .withRequestBody(containing("<PartNumber>3</PartNumber><ETag>\"etag-3\"</ETag>")));
        wm.verify(0, deleteRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void aPartFailingAfterOthersSucceededAbortsTheUpload() throws Exception {
        stubMultipart("u1");
        stubComplete("u1");
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("3"))
                .willReturn(aResponse().withStatus(403).withBody(error("AccessDenied", "Access Denied"))));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> writeThreeParts(sink, data(2 * PART + 1000)))
                    .isInstanceOf(S3Exception.class).hasMessageContaining("UploadPart")
                    .hasMessageContaining("AccessDenied").hasMessageContaining("access key AKIDFAULT")
                    .satisfies(e -> assertThat(((S3Exception) e).code()).isEqualTo("AccessDenied"));
        }
        wm.verify(1, putRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("1")));
        wm.verify(1, deleteRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
        wm.verify(0, postRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
    }

    @Test
    void closeWithoutCommitStopsRetryingPartsAndAbortsAfterThem() throws Exception {
        stubMultipart("u1");
        wm.stubFor(put(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("2"))
                .willReturn(aResponse().withStatus(503).withBody(error("SlowDown", "Please reduce"))));
        long t;
        try (S3Sink sink = builder().retryDelays(Duration.ofSeconds(3), Duration.ofSeconds(3)).build()) {
            PendingObject o = sink.create("data/obj");
            o.stream().write(data(2 * PART + 1000));
            Thread.sleep(300); // part 2 has failed once and waits to retry
            t = System.nanoTime();
            o.close();
            assertThat(sink.pool.used()).isZero();
        }
        assertThat((System.nanoTime() - t) / 1_000_000).as("close() did not wait out the back-off").isLessThan(2500);
        wm.verify(1, putRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("partNumber", equalTo("2")));
        wm.verify(1, deleteRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
        List<LoggedRequest> all = wm.getAllServeEvents().stream().map(e -> e.getRequest())
                .sorted(java.util.Comparator.comparing(LoggedRequest::getLoggedDate)).toList();
        assertThat(all.get(all.size() - 1).getMethod().getName()).as("the abort is the last request").isEqualTo("DELETE");
    }

    @Test
    void lostAnswerToCompleteIsSuccessWhenTheObjectHasTheExpectedEtag() throws Exception {
        byte[] d = data(2 * PART + 1000);
        stubMultipart("u1");
        stubLostComplete();
        wm.stubFor(head(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(200)
                .withHeader("ETag", "\"" + expectedEtag(d) + "\"").withHeader("Content-Length", "" + d.length)));
        try (S3Sink sink = builder().build()) {
            writeThreeParts(sink, d);
        }
        wm.verify(2, postRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
        wm.verify(1, headRequestedFor(urlPathEqualTo(KEY_PATH)));
        wm.verify(0, deleteRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void lostAnswerToCompleteWithAnotherObjectThereIsAFailure() throws Exception {
        stubMultipart("u1");
        stubLostComplete();
        wm.stubFor(head(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(200)
                .withHeader("ETag", "\"0123456789abcdef0123456789abcdef-3\"").withHeader("Content-Length", "5")));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> writeThreeParts(sink, data(2 * PART + 1000))).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("no longer knows upload u1")
                    .hasMessageContaining("not the expected").hasMessageContaining("Fix:");
        }
    }

    private void stubLostComplete() {
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")).inScenario("c")
                .whenScenarioStateIs(Scenario.STARTED).willSetStateTo("gone")
                .willReturn(aResponse().withFault(Fault.EMPTY_RESPONSE)));
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")).inScenario("c")
                .whenScenarioStateIs("gone").willReturn(aResponse().withStatus(404)
                        .withBody(error("NoSuchUpload", "The specified upload does not exist."))));
    }

    @Test
    void noSuchUploadOnTheFirstCompleteIsAFailure() throws Exception {
        stubMultipart("u1");
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1"))
                .willReturn(aResponse().withStatus(404).withBody(error("NoSuchUpload", "gone"))));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> writeThreeParts(sink, data(2 * PART + 1000))).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("NoSuchUpload").hasMessageContaining("prune");
        }
        wm.verify(0, headRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void completeAnswering200WithAnErrorBodyIsRetriedOrFails() throws Exception {
        stubMultipart("u1");
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")).inScenario("e")
                .whenScenarioStateIs(Scenario.STARTED).willSetStateTo("then")
                .willReturn(aResponse().withStatus(200).withBody(error("InternalError", "We encountered an internal error."))));
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")).inScenario("e")
                .whenScenarioStateIs("then").willReturn(aResponse().withStatus(200)
                        .withBody(error("AccessDenied", "Access Denied"))));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> writeThreeParts(sink, data(2 * PART + 1000))).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("CompleteMultipartUpload").hasMessageContaining("AccessDenied")
                    .hasMessageContaining("HTTP 200");
        }
        wm.verify(2, postRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
        wm.verify(1, deleteRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
    }

    @Test
    void retriedCreateAbortsTheExtraUploadItLeft() throws Exception {
        stubMultipart("u2");
        stubComplete("u2");
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploads", matching(".*")).inScenario("cr")
                .whenScenarioStateIs(Scenario.STARTED).willSetStateTo("ok")
                .willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        wm.stubFor(post(urlPathEqualTo(KEY_PATH)).withQueryParam("uploads", matching(".*")).inScenario("cr")
                .whenScenarioStateIs("ok").willReturn(aResponse().withStatus(200).withBody(xml(
                        "<InitiateMultipartUploadResult><UploadId>u2</UploadId></InitiateMultipartUploadResult>"))));
        String now = java.time.Instant.now().toString();
        wm.stubFor(get(urlPathEqualTo("/bkt")).withQueryParam("uploads", matching(".*"))
                .willReturn(aResponse().withStatus(200).withBody(xml("<ListMultipartUploadsResult><IsTruncated>false"
                        + "</IsTruncated><Upload><Key>root/data/obj</Key><UploadId>u1</UploadId><Initiated>" + now
                        + "</Initiated></Upload><Upload><Key>root/data/obj</Key><UploadId>u2</UploadId><Initiated>"
                        + now + "</Initiated></Upload><Upload><Key>root/data/obj-other</Key><UploadId>u9</UploadId>"
                        + "<Initiated>" + now + "</Initiated></Upload></ListMultipartUploadsResult>"))));
        wm.stubFor(delete(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1"))
                .willReturn(aResponse().withStatus(204)));
        try (S3Sink sink = builder().build()) {
            writeThreeParts(sink, data(2 * PART + 1000));
        }
        wm.verify(1, deleteRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u1")));
        wm.verify(0, deleteRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u2")));
        wm.verify(0, deleteRequestedFor(urlPathEqualTo(KEY_PATH + "-other")));
        wm.verify(1, postRequestedFor(urlPathEqualTo(KEY_PATH)).withQueryParam("uploadId", equalTo("u2")));
    }

    @Test
    void readTimeoutIsRetried() throws Exception {
        wm.stubFor(get(urlPathEqualTo(KEY_PATH)).inScenario("t").whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("fast").willReturn(aResponse().withStatus(200).withBody("late").withFixedDelay(3000)));
        wm.stubFor(get(urlPathEqualTo(KEY_PATH)).inScenario("t").whenScenarioStateIs("fast")
                .willReturn(aResponse().withStatus(200).withHeader("ETag", "\"e\"").withBody("hello")));
        OkHttpClient quick = new OkHttpClient.Builder().readTimeout(Duration.ofMillis(300)).build();
        try (S3Sink sink = builder().httpClient(quick).build(); InputStream in = sink.read("data/obj")) {
            assertThat(in.readAllBytes()).isEqualTo("hello".getBytes());
        }
        wm.verify(2, getRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void readBrokenMidwayResumesFromWhereItWas() throws Exception {
        // A raw socket server: the first answer promises 300,000 bytes and the connection dies after 60,000;
        // the second request must be a ranged GET for the rest, pinned to the same version by If-Match.
        byte[] d = data(300_000);
        List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < 2; i++) {
                    try (java.net.Socket s = ss.accept()) {
                        java.io.BufferedReader r = new java.io.BufferedReader(
                                new java.io.InputStreamReader(s.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1));
                        StringBuilder head = new StringBuilder();
                        for (String l = r.readLine(); l != null && !l.isEmpty(); l = r.readLine()) {
                            head.append(l.toLowerCase(java.util.Locale.ROOT)).append('\n');
                        }
                        requests.add(head.toString());
                        java.io.OutputStream out = s.getOutputStream();
                        if (i == 0) {
                            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + d.length + "\r\nETag: \"v1\"\r\n\r\n")
                                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                            out.write(d, 0, 60_000);
                            out.flush();
                            s.setSoLinger(true, 0); // reset
                        } else {
                            out.write(("HTTP/1.1 206 Partial Content\r\nContent-Length: " + (d.length - 60_000)
                                    + "\r\nETag: \"v1\"\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                            out.write(d, 60_000, d.length - 60_000);
                            out.flush();
                        }
                    } catch (java.io.IOException e) {
                        requests.add("server error " + e);
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            try (S3Sink sink = builder().endpoint("http://127.0.0.1:" + ss.getLocalPort()).build();
                 InputStream in = sink.read("data/obj")) {
                assertThat(in.readAllBytes()).isEqualTo(d);
            }
            t.join(5000);
        }
        assertThat(requests).hasSize(2);
        assertThat(requests.get(0)).doesNotContain("range:");
        assertThat(requests.get(1)).contains("range: bytes=60000-").contains("if-match: \"v1\"");
    }

    @Test
    void expiredTokenIsRetriedOnceWithFreshCredentialsThenExplained() throws Exception {
        wm.stubFor(get(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(400)
                .withBody(error("ExpiredToken", "The provided token has expired."))));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> sink.read("data/obj")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("ExpiredToken: The provided token has expired.")
                    .hasMessageContaining("get fresh credentials")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(TOKEN));
        }
        wm.verify(2, getRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void forbiddenIsAClearErrorNamingKeyAndFix() throws Exception {
        wm.stubFor(head(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(403)));
        wm.stubFor(get(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(403)
                .withBody(error("AccessDenied", "Access Denied"))));
        try (S3Sink sink = builder().build()) {
            assertThatThrownBy(() -> sink.stat("data/obj")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("HeadObject s3://bkt/root/data/obj failed: AccessDenied (HTTP 403")
                    .hasMessageContaining("Fix: allow access key AKIDFAULT");
            assertThatThrownBy(() -> sink.read("data/obj")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("AccessDenied: Access Denied").hasMessageContaining("request id REQ1")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(SECRET).doesNotContain(TOKEN)
                            .doesNotContain("<Error>"));
        }
        wm.verify(1, getRequestedFor(urlPathEqualTo(KEY_PATH)));
    }

    @Test
    void wrongRegionIsCorrectedOnceFromTheBucketRegionAndResigned() throws Exception {
        wm.stubFor(head(urlPathEqualTo(KEY_PATH)).withHeader("Authorization", containing("/us-east-1/s3/"))
                .willReturn(aResponse().withStatus(301).withHeader("x-amz-bucket-region", "eu-west-1")));
        wm.stubFor(get(urlPathEqualTo(KEY_PATH)).withHeader("Authorization", containing("/us-east-1/s3/"))
                .willReturn(aResponse().withStatus(400).withBody(error("AuthorizationHeaderMalformed",
                        "the region 'us-east-1' is wrong; expecting 'eu-west-1'").replace("</Error>",
                        "<Region>eu-west-1</Region></Error>"))));
        wm.stubFor(head(urlPathEqualTo(KEY_PATH)).withHeader("Authorization", containing("/eu-west-1/s3/"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Length", "3")
                        .withHeader("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT")));
        try (S3Sink sink = builder().build()) {
            assertThat(sink.stat("data/obj")).get().satisfies(i -> assertThat(i.size()).isEqualTo(3));
            assertThat(sink.region()).isEqualTo("eu-west-1");
        }
        wm.verify(2, headRequestedFor(urlPathEqualTo(KEY_PATH)));
        // the region is corrected once; a bucket that keeps redirecting ends in a clear error, not a loop
        wm.resetAll();
        wm.stubFor(head(urlPathEqualTo(KEY_PATH))
                .willReturn(aResponse().withStatus(301).withHeader("x-amz-bucket-region", "ap-south-1")));
        try (S3Sink sink = builder().region("eu-west-1").build()) {
            assertThatThrownBy(() -> sink.stat("data/obj")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("PermanentRedirect").hasMessageContaining("region ap-south-1");
        }
        wm.verify(2, headRequestedFor(urlPathEqualTo(KEY_PATH)));
        try (S3Sink sink = builder().build()) {
            wm.resetAll();
            wm.stubFor(get(urlPathEqualTo(KEY_PATH)).willReturn(aResponse().withStatus(400).withBody(
                    error("AuthorizationHeaderMalformed", "wrong region").replace("</Error>",
                            "<Region>eu-central-1</Region></Error>"))));
            assertThatThrownBy(() -> sink.read("data/obj")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("the bucket is in region eu-central-1");
            wm.verify(2, getRequestedFor(urlPathEqualTo(KEY_PATH)));
        }
    }

    @Test
    void anEndpointThatIgnoresIfNoneMatchIsFoundByTheProbeAndRefused() throws Exception {
        wm.stubFor(put(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching("/bkt/root/.*"))
                .willReturn(aResponse().withStatus(200).withHeader("ETag", "\"e\"")));
        wm.stubFor(delete(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching("/bkt/root/.*"))
                .willReturn(aResponse().withStatus(204)));
        try (S3Sink sink = builder().build()) {
            assertThat(sink.conditionalCreate()).isFalse();
            assertThatThrownBy(() -> sink.putIfAbsent("locks/a", new byte[] {1}))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("ignores If-None-Match");
        }
        List<LoggedRequest> puts = wm.findAll(putRequestedFor(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(
                "/bkt/root/sgbackup-probe/conditional-.*")));
        assertThat(puts).hasSize(2).allMatch(r -> "*".equals(r.getHeader("If-None-Match")));
        wm.verify(1, deleteRequestedFor(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(
                "/bkt/root/sgbackup-probe/conditional-.*")));
        wm.verify(0, putRequestedFor(urlPathEqualTo("/bkt/root/locks/a")));
    }

    @Test
    void conditionalPutRetriesAConflictAndTellsItsOwnEarlierAttemptFromAnotherWriter() throws Exception {
        // the probe: created, then 412 with the first bytes in place
        String probe = "/bkt/root/sgbackup-probe/conditional-.*";
        wm.stubFor(put(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(probe)).inScenario("probe")
                .whenScenarioStateIs(Scenario.STARTED).willReturn(aResponse().withStatus(200)).willSetStateTo("exists"));
        wm.stubFor(put(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(probe)).inScenario("probe")
                .whenScenarioStateIs("exists").willReturn(aResponse().withStatus(412).withBody(error("PreconditionFailed", "At least one"
                        + " of the pre-conditions you specified did not hold"))));
        wm.stubFor(get(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(probe))
                .willReturn(aResponse().withStatus(200).withBody("first")));
        wm.stubFor(delete(com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(probe)).willReturn(aResponse().withStatus(204)));
        // locks/a: a concurrent write (409), then created
        wm.stubFor(put(urlPathEqualTo("/bkt/root/locks/a")).inScenario("a").whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(409).withBody(error("ConditionalRequestConflict", "A conflicting operation occurred")))
                .willSetStateTo("free"));
        wm.stubFor(put(urlPathEqualTo("/bkt/root/locks/a")).inScenario("a").whenScenarioStateIs("free")
                .willReturn(aResponse().withStatus(200)));
        // locks/mine: 412, and the object holds these very bytes (the first attempt succeeded, its answer was lost)
        wm.stubFor(put(urlPathEqualTo("/bkt/root/locks/mine")).willReturn(aResponse().withStatus(412)
                .withBody(error("PreconditionFailed", "exists"))));
        wm.stubFor(get(urlPathEqualTo("/bkt/root/locks/mine")).willReturn(aResponse().withStatus(200).withBody("owner 7 token x")));
        // locks/theirs: 412, another writer's bytes
        wm.stubFor(put(urlPathEqualTo("/bkt/root/locks/theirs")).willReturn(aResponse().withStatus(412)
                .withBody(error("PreconditionFailed", "exists"))));
        wm.stubFor(get(urlPathEqualTo("/bkt/root/locks/theirs")).willReturn(aResponse().withStatus(200).withBody("owner 9 token y")));

        try (S3Sink sink = builder().build()) {
            assertThat(sink.conditionalCreate()).isTrue();
            assertThat(sink.putIfAbsent("locks/a", "owner 7 token x".getBytes())).isTrue();
            assertThat(sink.putIfAbsent("locks/mine", "owner 7 token x".getBytes())).isTrue();
            assertThat(sink.putIfAbsent("locks/theirs", "owner 7 token x".getBytes())).isFalse();
        }
        assertThat(wm.findAll(putRequestedFor(urlPathEqualTo("/bkt/root/locks/a")))).hasSize(2)
                .allMatch(r -> "*".equals(r.getHeader("If-None-Match")));
    }
}
