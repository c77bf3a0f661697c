package dev.sgbackup.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/** The sink against a real S3 server (S3Proxy, SigV4 verified by the server). */
class S3SinkRealServerTest {
    static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.get();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] readAll(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    int openUploads(S3Sink sink) throws IOException {
        Element x = sink.client.execute(new S3Client.Req("ListMultipartUploads", "GET", null).query("uploads", ""))
                .xml("ListMultipartUploads");
        return Xml.children(x, "Upload").size();
    }

    @Test
    void theProbeSaysWhetherThisServerHonoursIfNoneMatchAndLeavesNothing() throws Exception {
        try (S3Sink sink = server.sinkBuilder(server.newBucket()).build()) {
            boolean honours = sink.conditionalCreate();
            assertThat(honours).isTrue();
            assertThat(sink.listAll("").toList()).isEmpty();
        }
    }

    @Test
    void smallObjectRoundTripWithSinglePut() throws Exception {
        try (S3Sink sink = server.sinkBuilder(server.newBucket()).prefix("/Backups x/+y/").build()) {
            byte[] data = random(1234, 1);
            try (PendingObject o = sink.create("data/a-b_c.bin")) {
                o.stream().write(data);
                assertThat(sink.stat("data/a-b_c.bin")).isEmpty();
                o.commit();
            }
            assertThat(readAll(sink.read("data/a-b_c.bin"))).isEqualTo(data);
            assertThat(sink.stat("data/a-b_c.bin")).get().extracting(ObjectInfo::size).isEqualTo(1234L);
            assertThat(readAll(sink.read("data/a-b_c.bin", 10, 20))).isEqualTo(java.util.Arrays.copyOfRange(data, 10, 30));
            assertThat(readAll(sink.read("data/a-b_c.bin", 1230, 100))).hasSize(4);
            assertThat(readAll(sink.read("data/a-b_c.bin", 5000, 10))).isEmpty();
            assertThat(sink.list("data/", null).objects()).extracting(ObjectInfo::key).containsExactly("data/a-b_c.bin");
            assertThat(sink.uri().toString()).startsWith("s3://").contains("/Backups%20x/%2By?endpoint=http://127.0.0.1:");
            try (var again = new S3SinkProvider(java.util.Map.of("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY)).open(sink.uri())) {
                assertThat(readAll(again.read("data/a-b_c.bin"))).isEqualTo(data);
            }
            assertThat(openUploads(sink)).isZero();
            sink.delete("data/a-b_c.bin");
            sink.delete("data/a-b_c.bin");
            assertThatThrownBy(() -> sink.read("data/a-b_c.bin")).isInstanceOf(NoSuchObjectException.class);
        }
    }

    @Test
    void multipartUnknownLengthAndHeapBudgetSpillsToTempFiles() throws Exception {
        for (long budget : new long[] {64L << 20, 0}) {
            try (S3Sink sink = server.sinkBuilder(server.newBucket()).memoryBudget(budget).build()) {
                byte[] data = random(20 * 1024 * 1024 + 17, 2);
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                try (PendingObject o = sink.create("big")) {
                    OutputStream out = o.stream();
                    for (int i = 0; i < data.length; i += 100_000) {
                        out.write(data, i, Math.min(100_000, data.length - i));
                    }
                    o.commit();
                }
                assertThat(sink.pool.used()).isZero();
                assertThat(sink.headEtag("big")).endsWith("-3\"");
                assertThat(md.digest(readAll(sink.read("big")))).isEqualTo(md.digest(data));
                assertThat(readAll(sink.read("big", 8 * 1024 * 1024 - 5, 10)))
                        .isEqualTo(java.util.Arrays.copyOfRange(data, 8 * 1024 * 1024 - 5, 8 * 1024 * 1024 + 5));
                assertThat(openUploads(sink)).isZero();
            }
        }
    }

    @Test
    void closeWithoutCommitAbortsAndLeavesNothing() throws Exception {
        try (S3Sink sink = server.sinkBuilder(server.newBucket()).build()) {
            try (PendingObject o = sink.create("half", 30L << 20)) {
                o.stream().write(random(17 * 1024 * 1024, 3));
                assertThat(openUploads(sink)).isEqualTo(1);
            }
            assertThat(openUploads(sink)).isZero();
            assertThat(sink.stat("half")).isEmpty();
            assertThat(sink.list("", null).objects()).isEmpty();
        }
    }

    @Test
    void removeStaleUploadsAbortsOnlyOldOnes() throws Exception {
        try (S3Sink sink = server.sinkBuilder(server.newBucket()).prefix("p").build()) {
            sink.client.execute(new S3Client.Req("CreateMultipartUpload", "POST", "p/data/left-by-a-killed-process")
                    .query("uploads", ""));
            assertThat(sink.removeStaleUploads("data/", Duration.ofHours(1))).isZero();
            assertThat(openUploads(sink)).isEqualTo(1);
            Thread.sleep(1100);
            assertThat(sink.removeStaleUploads("data/", Duration.ZERO)).isEqualTo(1);
            assertThat(openUploads(sink)).isZero();
        }
    }

    @Test
    void listPaginatesAndDeleteAllRemovesInBatches() throws Exception {
        try (S3Sink sink = server.sinkBuilder(server.newBucket()).listPageSize(3).build()) {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String k = "data/k" + i;
                keys.add(k);
                try (PendingObject o = sink.create(k, 1)) {
                    o.stream().write(i);
                    o.commit();
                }
            }
            var first = sink.list("data/", null);
            assertThat(first.objects()).hasSize(3);
            assertThat(first.nextPageToken()).isNotNull();
            assertThat(sink.listAll("data/").map(ObjectInfo::key).toList()).containsExactlyElementsOf(keys);
            sink.deleteAll(keys.subList(0, 5));
            assertThat(sink.listAll("").map(ObjectInfo::key).toList()).containsExactlyElementsOf(keys.subList(5, 8));
        }
    }

    @Test
    void wrongSecretIsAClearErrorWithoutTheSecret() throws Exception {
        String bucket = server.newBucket();
        try (S3Sink sink = S3Sink.builder(bucket).endpoint(server.endpoint)
                .credentials(S3Credentials.of(S3ProxyServer.ACCESS_KEY, "not-the-secret-xyz")).env(java.util.Map.of())
                .maxAttempts(2).build()) {
            assertThatThrownBy(() -> sink.stat("x")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("HeadObject").hasMessageContaining("Fix:")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("not-the-secret-xyz"));
            S3Exception e = (S3Exception) org.assertj.core.api.Assertions.catchThrowable(() -> sink.list("", null));
            assertThat(e.code()).isEqualTo("SignatureDoesNotMatch");
            assertThat(e.getMessage()).contains("SignatureDoesNotMatch").contains("AWS_SECRET_ACCESS_KEY")
                    .doesNotContain("not-the-secret-xyz");
        }
    }

    @Test
    void missingBucketNamesTheBucketAndTheFix() throws Exception {
        try (S3Sink sink = server.sinkBuilder("no-such-bucket-here").maxAttempts(1).build()) {
            assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("NoSuchBucket").hasMessageContaining("no-such-bucket-here")
                    .hasMessageContaining("create it");
            // a read must not pretend the object is merely missing when the bucket is
            assertThatThrownBy(() -> sink.read("data/x")).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("NoSuchBucket");
            assertThatThrownBy(() -> sink.read("data/x", 0, 5)).isInstanceOf(S3Exception.class)
                    .hasMessageContaining("NoSuchBucket");
        }
    }

    @Test
    void providerOpensS3UrisFoundByServiceLoader() throws Exception {
        String bucket = server.newBucket();
        var provider = java.util.ServiceLoader.load(dev.sgbackup.sink.SinkProvider.class).stream()
                .map(java.util.ServiceLoader.Provider::get).filter(p -> p.schemes().contains("s3")).findFirst()
                .orElseThrow();
        assertThat(provider.artifact()).isEqualTo("dev.sgbackup:sgbackup-s3");
        assertThatThrownBy(() -> provider.open(java.net.URI.create("s3://" + bucket + "/p?bogus=1")))
                .hasMessageContaining("unknown parameter 'bogus'").hasMessageContaining("endpoint");
        try (var sink = provider.open(java.net.URI.create("s3://" + bucket + "/p/q?endpoint=" + server.endpoint
                + "&region=us-east-1"))) {
            assertThat(sink.uri().toString()).startsWith("s3://" + bucket + "/p/q");
            assertThat(sink.toString()).contains("path-style");
        }
    }
}
