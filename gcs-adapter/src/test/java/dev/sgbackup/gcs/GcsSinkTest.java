package dev.sgbackup.gcs;

import static dev.sgbackup.gcs.Support.data;
import static dev.sgbackup.gcs.Support.get;
import static dev.sgbackup.gcs.Support.put;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.gcs.FakeGcs.Fault;
import dev.sgbackup.gcs.FakeGcs.Kind;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ListPage;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GcsSinkTest {
    static final int Q = FakeGcs.Q;

    @TempDir
    Path tmp;
    FakeGcs fake;
    Support.RecordingSleeper sleeper = new Support.RecordingSleeper();

    @BeforeEach
    void start() throws IOException {
        fake = new FakeGcs(tmp).bucket("bkt");
    }

    @AfterEach
    void stop() throws IOException {
        fake.close();
    }

    GcsSink.Builder builder() {
        return GcsSink.builder("bkt").prefix("sg/prod").emulatorHost(fake.hostPort())
                .chunkSize(Q).retry(5, Duration.ofMillis(100), Duration.ofSeconds(1)).sleeper(sleeper)
                .environment(Support.env(Map.of(), tmp));
    }

    GcsSink sink() {
        return builder().build();
    }

    @Test
    void smallObjectGoesInOneMultipartRequestWithItsCrc32c() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(1000, 1);
        put(sink, "manifests/a.json", bytes);
        assertThat(fake.count(Kind.MULTIPART)).isEqualTo(1);
        assertThat(fake.count(Kind.START)).isZero();
        assertThat(fake.finalsWithoutHash).hasValue(0);
        assertThat(fake.content("bkt", "sg/prod/manifests/a.json")).isEqualTo(bytes);
        assertThat(get(sink, "manifests/a.json")).isEqualTo(bytes);
        assertThat(sink.stat("manifests/a.json")).get().extracting(ObjectInfo::size).isEqualTo(1000L);
        assertThat(fake.authorizationHeaders).as("an emulator gets no Authorization header").hasValue(0);
    }

    @Test
    void emptyObject() throws IOException {
        BackupSink sink = sink();
        put(sink, "empty", new byte[0]);
        assertThat(get(sink, "empty")).isEmpty();
        assertThat(sink.stat("empty")).get().extracting(ObjectInfo::size).isEqualTo(0L);
    }

    @Test
    void bigObjectGoesThroughOneResumableSessionInQuantumChunks() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(13 * Q / 4 + 17, 2); // not a chunk multiple
        put(sink, "data/x/big", bytes);
        assertThat(fake.count(Kind.START)).isEqualTo(1);
        assertThat(fake.count(Kind.MULTIPART)).isZero();
        assertThat(fake.count(Kind.FINAL)).isEqualTo(1);
        assertThat(fake.maxChunk.get()).isEqualTo(Q);
        assertThat(get(sink, "data/x/big")).isEqualTo(bytes);
        assertThat(fake.object("bkt", "sg/prod/data/x/big").size).isEqualTo(bytes.length);
    }

    @Test
    void exactChunkMultiplesEndWithAFinalRequestThatCarriesData() throws IOException {
        BackupSink sink = builder().chunkSize(2 * Q).build();
        for (int size : new int[] {2 * Q, 4 * Q, 2 * Q + 1}) {
            byte[] bytes = data(size, size);
            put(sink, "k" + size, bytes);
            assertThat(get(sink, "k" + size)).isEqualTo(bytes);
        }
        assertThat(fake.count(Kind.MULTIPART)).as("exactly one chunk still fits one request").isEqualTo(1);
    }

    @Test
    void whenGcsPersistsLessThanSentTheNextChunkStartsWhereRangeSays() throws IOException {
        fake.shortPersistEvery = 2;
        BackupSink sink = builder().chunkSize(4 * Q).build();
        byte[] bytes = data(9 * 4 * Q + 123, 3);
        put(sink, "data/short", bytes);
        assertThat(get(sink, "data/short")).isEqualTo(bytes);
        assertThat(fake.count(Kind.STATUS)).as("a short 308 is not a failure").isZero();
        assertThat(fake.count(Kind.START)).isEqualTo(1);
        assertThat(sleeper.waits).isEmpty();
    }

    @Test
    void whenTheFinalRequestIsOnlyPartlyPersistedTheRestIsSentAgainAsFinal() throws IOException {
        fake.shortPersistFinalOnce = true;
        BackupSink sink = builder().chunkSize(4 * Q).build();
        byte[] bytes = data(4 * Q + 3 * Q + 5, 4);
        put(sink, "data/f", bytes);
        assertThat(get(sink, "data/f")).isEqualTo(bytes);
        assertThat(fake.count(Kind.FINAL)).isEqualTo(2);
    }

    @Test
    void nothingIsVisibleBeforeTheFinalChunk() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(5 * Q, 5);
        try (PendingObject o = sink.create("data/pending")) {
            o.stream().write(bytes);
            assertThat(fake.count(Kind.CHUNK)).isGreaterThanOrEqualTo(4);
            assertThat(sink.stat("data/pending")).isEmpty();
            assertThat(sink.list("data/", null).objects()).isEmpty();
            assertThat(fake.exists("bkt", "sg/prod/data/pending")).isFalse();
            o.commit();
        }
        assertThat(get(sink, "data/pending")).isEqualTo(bytes);
    }

    @Test
    void closeWithoutCommitCancelsTheSession() throws IOException {
        BackupSink sink = sink();
        try (PendingObject o = sink.create("data/aborted")) {
            o.stream().write(data(3 * Q, 6));
        }
        assertThat(fake.count(Kind.CANCEL)).isEqualTo(1);
        assertThat(fake.sessions.values()).allMatch(s -> s.cancelled);
        assertThat(sink.stat("data/aborted")).isEmpty();
        assertThat(fake.objectCount()).isZero();
        // a small aborted write never reached GCS at all
        try (PendingObject o = sink.create("data/small")) {
            o.stream().write(1);
        }
        assertThat(fake.count(Kind.MULTIPART)).isZero();
    }

    @Test
    void anInterruptedThreadStillCancelsTheSessionAndKeepsItsInterrupt() throws IOException {
        BackupSink sink = sink();
        PendingObject o = sink.create("data/interrupted");
        o.stream().write(data(3 * Q, 6));
        Thread.currentThread().interrupt();
        try {
            o.close();
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(fake.count(Kind.CANCEL)).isEqualTo(1);
        assertThat(sink.stat("data/interrupted")).isEmpty();
    }

    @Test
    void aCallersOkHttpClientIsUsed() throws IOException {
        java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
        okhttp3.OkHttpClient mine = new okhttp3.OkHttpClient.Builder()
                .addInterceptor(chain -> {
                    seen.incrementAndGet();
                    return chain.proceed(chain.request());
                }).build();
        BackupSink sink = builder().httpClient(mine).build();
        put(sink, "via-mine", data(3 * Q, 1));
        assertThat(seen.get()).isEqualTo(fake.log.size());
        sink.close();
        assertThat(mine.connectionPool().connectionCount()).as("a caller's pool is left alone").isPositive();
    }

    @Test
    void aFailedChunkIsResumedFromTheStatusQueryNeverRestarted() throws IOException {
        fake.script(Kind.CHUNK, Fault.PARTIAL_THEN_DISCONNECT, 2, 0);
        BackupSink sink = builder().chunkSize(4 * Q).build();
        byte[] bytes = data(6 * 4 * Q + 99, 7);
        put(sink, "data/resumed", bytes);
        assertThat(get(sink, "data/resumed")).isEqualTo(bytes);
        assertThat(fake.count(Kind.START)).as("never a new session").isEqualTo(1);
        assertThat(fake.count(Kind.STATUS)).isEqualTo(2);
        assertThat(sleeper.waits).hasSize(2);
    }

    @Test
    void transientStatusesAreRetriedWithExponentialBackoffAndJitter() throws IOException {
        fake.fail(Kind.CHUNK, 2, 503);
        fake.fail(Kind.CHUNK, 1, 429);
        BackupSink sink = sink();
        byte[] bytes = data(3 * Q, 8);
        put(sink, "data/retry", bytes);
        assertThat(get(sink, "data/retry")).isEqualTo(bytes);
        assertThat(sleeper.waits).hasSize(3);
        assertThat(sleeper.waits.get(0)).isBetween(Duration.ofMillis(50), Duration.ofMillis(100));
        assertThat(sleeper.waits.get(1)).isBetween(Duration.ofMillis(100), Duration.ofMillis(200));
        assertThat(sleeper.waits.get(2)).isBetween(Duration.ofMillis(200), Duration.ofMillis(400));
        assertThat(fake.count(Kind.START)).isEqualTo(1);
    }

    @Test
    void backoffIsCappedAtTheMaximum() {
        RetryPolicy p = new RetryPolicy(20, Duration.ofMillis(100), Duration.ofMillis(300));
        for (int i = 1; i < 20; i++) {
            assertThat(p.delay(i)).isLessThanOrEqualTo(Duration.ofMillis(300));
        }
        assertThat(p.delay(10)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }

    @Test
    void retriesRunOutWithAClearErrorAndNothingVisible() throws IOException {
        fake.fail(Kind.CHUNK, 100, 503);
        BackupSink sink = builder().retry(3, Duration.ofMillis(1), Duration.ofMillis(2)).build();
        PendingObject o = sink.create("data/doomed");
        assertThatThrownBy(() -> o.stream().write(data(3 * Q, 9)))
                .isInstanceOf(SinkException.class)
                .hasMessageContaining("failed 3 times")
                .hasMessageContaining("nothing was committed")
                .hasMessageNotContaining("upload_id");
        assertThatThrownBy(o::commit).isInstanceOf(IllegalStateException.class);
        o.close();
        assertThat(fake.count(Kind.CANCEL)).isEqualTo(1);
        assertThat(sink.stat("data/doomed")).isEmpty();
    }

    @Test
    void otherRequestsAreRetriedToo() throws IOException {
        BackupSink sink = sink();
        put(sink, "a", data(10, 1));
        fake.fail(Kind.LIST, 1, 503);
        fake.fail(Kind.META, 1, 500);
        fake.fail(Kind.MEDIA, 1, 408);
        fake.fail(Kind.MULTIPART, 1, 502);
        fake.fail(Kind.DELETE, 1, 504);
        fake.fail(Kind.START, 1, 429);
        assertThat(sink.list("", null).objects()).hasSize(1);
        assertThat(sink.stat("a")).isPresent();
        assertThat(get(sink, "a")).hasSize(10);
        put(sink, "b", data(10, 2));
        put(sink, "c", data(2 * Q, 2));
        sink.delete("a");
        assertThat(sleeper.waits).hasSize(6);
        assertThat(sink.list("", null).objects()).extracting(ObjectInfo::key).containsExactly("b", "c");
    }

    @Test
    void droppedConnectionsAreRetriedForEveryKindOfRequest() throws IOException {
        BackupSink sink = sink();
        for (Kind k : List.of(Kind.MULTIPART, Kind.START, Kind.LIST, Kind.META, Kind.MEDIA, Kind.DELETE)) {
            fake.script(k, Fault.DISCONNECT, 1, 0);
        }
        put(sink, "small", data(10, 1));
        put(sink, "big", data(2 * Q + 1, 2));
        assertThat(sink.list("", null).objects()).hasSize(2);
        assertThat(sink.stat("big")).isPresent();
        assertThat(get(sink, "big")).isEqualTo(data(2 * Q + 1, 2));
        sink.delete("small");
        assertThat(sleeper.waits).hasSize(6);
        assertThat(fake.exists("bkt", "sg/prod/small")).isFalse();
    }

    @Test
    void aServerClaimingBytesItWasNeverSentIsNotBelieved() throws IOException {
        fake.script(Kind.CHUNK, Fault.OVERCLAIM, 1, 0);
        BackupSink sink = sink();
        assertThatThrownBy(() -> put(sink, "data/lie", data(3 * Q, 1))).isInstanceOf(SinkException.class)
                .hasMessageContaining("inconsistent").hasMessageContaining("Nothing was committed");
        assertThat(sink.stat("data/lie")).isEmpty();
        assertThat(fake.count(Kind.CANCEL)).isEqualTo(1);
    }

    @Test
    void anExpiredSessionIsACleanErrorAndNothingIsVisible() throws IOException {
        fake.expireAfterChunks = 2;
        BackupSink sink = sink();
        PendingObject o = sink.create("data/expired");
        assertThatThrownBy(() -> {
            o.stream().write(data(5 * Q, 10));
            o.commit();
        }).isInstanceOf(SinkException.class)
                .hasMessageContaining("expired")
                .hasMessageContaining("nothing was committed")
                .hasMessageContaining("gs://bkt/sg/prod/data/expired");
        o.close();
        assertThat(sink.stat("data/expired")).isEmpty();
        assertThat(fake.objectCount()).isZero();
    }

    @Test
    void putIfAbsentWhoseAnswerWasLostIsStillTheWritersOwnAndAnotherWritersIsNot() throws IOException {
        BackupSink sink = sink();
        // the first attempt creates the object, its answer is lost; the retry meets 412 over our own bytes
        fake.script(Kind.MULTIPART, Fault.COMMIT_THEN_DISCONNECT, 1, 0);
        assertThat(sink.putIfAbsent("locks/a", "owner 1 token x".getBytes())).isTrue();
        assertThat(fake.count(Kind.MULTIPART)).isEqualTo(2);
        // another writer's object under the key: 412 over other bytes
        assertThat(sink.putIfAbsent("locks/a", "owner 2 token y".getBytes())).isFalse();
        assertThat(get(sink, "locks/a")).isEqualTo("owner 1 token x".getBytes());
        assertThat(fake.log.stream().filter(l -> l.startsWith("MULTIPART"))).hasSize(3).allMatch(l -> l.contains("ifGenerationMatch=0"));
    }

    @Test
    void aLostAnswerToTheFinalRequestIsFoundByTheStatusQuery() throws IOException {
        fake.script(Kind.FINAL, Fault.COMMIT_THEN_DISCONNECT, 1, 0);
        BackupSink sink = sink();
        byte[] bytes = data(2 * Q + 5, 11);
        put(sink, "data/lost-answer", bytes);
        assertThat(get(sink, "data/lost-answer")).isEqualTo(bytes);
        assertThat(fake.count(Kind.STATUS)).isEqualTo(1);
        assertThat(fake.count(Kind.FINAL)).isEqualTo(1);
    }

    @Test
    void dataDamagedInTransitIsRejectedByTheCrc32cAndNeverVisible() throws IOException {
        fake.corruptNextChunk = true;
        BackupSink sink = sink();
        assertThatThrownBy(() -> put(sink, "data/damaged", data(3 * Q, 12)))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("CRC32C")
                .hasMessageContaining("nothing was committed");
        assertThat(sink.stat("data/damaged")).isEmpty();
    }

    @Test
    void anEndpointThatDoesNotCheckTheHashStillNeverKeepsDamagedData() throws IOException {
        fake.ignoreHash = true;
        fake.corruptNextChunk = true;
        BackupSink sink = sink();
        assertThatThrownBy(() -> put(sink, "data/unchecked", data(3 * Q, 12)))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("CRC32C")
                .hasMessageContaining("deleted again");
        assertThat(sink.stat("data/unchecked")).isEmpty();
    }

    @Test
    void aWholeObjectReadIsCheckedAgainstTheStoredCrc32c() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(2 * Q, 17);
        put(sink, "data/read-check", bytes);
        fake.corruptNextDownload = true;
        assertThatThrownBy(() -> get(sink, "data/read-check")).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("damaged on the way");
        assertThat(get(sink, "data/read-check")).isEqualTo(bytes);
        fake.corruptNextDownload = true; // a ranged read cannot be checked against the whole object's CRC32C
        assertThat(get(sink, "data/read-check", 1, 10)).hasSize(10);
    }

    @Test
    void theFakeRejectsAFinalRequestWithoutAHash() throws IOException {
        // guards the guard: the strict fake must catch a client that forgets X-Goog-Hash
        HttpTestClient c = new HttpTestClient(fake);
        String session = c.startSession("bkt", "x");
        assertThat(c.put(session, "bytes 0-9/10", new byte[10], null)).isEqualTo(400);
        assertThat(c.put(session, "bytes */10", new byte[0], "crc32c=AAAAAA==")).isEqualTo(400);
        assertThat(fake.exists("bkt", "x")).isFalse();
    }

    @Test
    void rangedReads() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(3 * Q, 13);
        put(sink, "r", bytes);
        assertThat(get(sink, "r", 10, 20)).isEqualTo(java.util.Arrays.copyOfRange(bytes, 10, 30));
        assertThat(get(sink, "r", Q, Long.MAX_VALUE)).isEqualTo(java.util.Arrays.copyOfRange(bytes, Q, 3 * Q));
        assertThat(get(sink, "r", 3 * Q - 5, 100)).hasSize(5);
        assertThat(get(sink, "r", 3 * Q, 10)).isEmpty();
        assertThat(get(sink, "r", 5 * Q, 10)).isEmpty();
        assertThat(get(sink, "r", 0, 0)).isEmpty();
        assertThatThrownBy(() -> sink.read("nope", 5, 5)).isInstanceOf(NoSuchObjectException.class);
    }

    @Test
    void aBrokenDownloadResumesFromTheNextByteOfTheSameGeneration() throws IOException {
        BackupSink sink = sink();
        byte[] bytes = data(2 * Q, 14);
        put(sink, "d", bytes);
        fake.script(Kind.MEDIA, Fault.DISCONNECT_DURING_BODY, 1, 0);
        assertThat(get(sink, "d")).isEqualTo(bytes);
        assertThat(fake.count(Kind.MEDIA)).isEqualTo(2);
        assertThat(fake.log.stream().filter(l -> l.startsWith("MEDIA")).count()).isEqualTo(2);
    }

    @Test
    void anObjectReplacedDuringAReadIsNotMixedIn() throws IOException {
        BackupSink sink = sink();
        put(sink, "d", data(2 * Q, 15));
        fake.script(Kind.MEDIA, Fault.DISCONNECT_DURING_BODY, 1, 0);
        try (InputStream in = sink.read("d")) {
            in.readNBytes(10);
            put(sink, "d", data(2 * Q, 16));
            assertThatThrownBy(in::readAllBytes).isInstanceOf(SinkException.class).hasMessageContaining("replaced");
        }
    }

    @Test
    void missingObjects() throws IOException {
        BackupSink sink = sink();
        assertThatThrownBy(() -> sink.read("missing")).isInstanceOf(NoSuchObjectException.class).hasMessageContaining("missing");
        assertThat(sink.stat("missing")).isEmpty();
        sink.delete("missing"); // not an error
    }

    @Test
    void listPagesWithPrefixAndStripsTheSinkPrefix() throws IOException {
        BackupSink sink = builder().listPageSize(2).build();
        for (String k : List.of("data/1/a", "data/1/b", "data/2/c", "manifests/1.json", "manifests/2.json")) {
            put(sink, k, data(3, k.hashCode()));
        }
        // an object outside the sink's prefix is never listed
        put(GcsSink.builder("bkt").emulatorHost(fake.hostPort()).environment(Support.env(Map.of(), tmp)).build(), "sg/other", new byte[1]);
        ListPage p1 = sink.list("data/", null);
        assertThat(p1.objects()).extracting(ObjectInfo::key).containsExactly("data/1/a", "data/1/b");
        assertThat(p1.nextPageToken()).isNotNull();
        ListPage p2 = sink.list("data/", p1.nextPageToken());
        assertThat(p2.objects()).extracting(ObjectInfo::key).containsExactly("data/2/c");
        assertThat(p2.nextPageToken()).isNull();
        assertThat(sink.listAll("").map(ObjectInfo::key).collect(Collectors.toList())).hasSize(5);
        assertThat(sink.list("nothing/", null).objects()).isEmpty();
        assertThat(sink.list("manifests/", null).objects().get(0).lastModified()).isNotNull();
    }

    @Test
    void aMissingBucketSaysSoAndHowToCreateIt() {
        BackupSink sink = GcsSink.builder("no-such-bucket").emulatorHost(fake.hostPort()).environment(Support.env(Map.of(), tmp)).build();
        assertThatThrownBy(() -> sink.list("", null)).isInstanceOf(SinkException.class)
                .hasMessageContaining("does not exist").hasMessageContaining("gcloud storage buckets create gs://no-such-bucket");
        assertThatThrownBy(() -> sink.read("x")).isInstanceOf(SinkException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> sink.stat("x")).isInstanceOf(SinkException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> put(sink, "x", data(3 * Q, 1))).isInstanceOf(SinkException.class).hasMessageContaining("does not exist");
    }

    @Test
    void aForbiddenBucketNamesTheRoleToGrant() {
        fake.bucket("locked").forbid("locked");
        BackupSink sink = GcsSink.builder("locked").emulatorHost(fake.hostPort()).environment(Support.env(Map.of(), tmp)).build();
        assertThatThrownBy(() -> put(sink, "x", data(10, 1))).isInstanceOf(SinkException.class)
                .hasMessageContaining("403").hasMessageContaining("forbidden").hasMessageContaining("roles/storage.objectUser");
    }

    @Test
    void badSettingsAreRejectedWithTheFix() {
        assertThatThrownBy(() -> GcsSink.builder("b").chunkSize(Q + 1)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("multiple of 256 KiB");
        assertThatThrownBy(() -> GcsSink.builder("Bad_Bucket!").emulatorHost("x:1").build()).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not a GCS bucket name");
        assertThatThrownBy(() -> GcsSink.builder("b").listPageSize(0)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void streamsAreUsableOnlyOnce() throws IOException {
        BackupSink sink = sink();
        PendingObject o = sink.create("once");
        o.stream().write(1);
        o.commit();
        o.commit(); // idempotent
        assertThatThrownBy(() -> o.stream().write(2)).isInstanceOf(IllegalStateException.class).hasMessageContaining("committed");
        o.close();
        assertThat(get(sink, "once")).containsExactly(1);
    }

    @Test
    void uriAndToStringAreSafeToPrint() {
        GcsSink sink = GcsSink.builder("bkt").prefix("/a/b/").credentials(GcsCredentials.token("ya29.secret-token"))
                .endpoint(fake.server.url("/").toString()).build();
        assertThat(sink.uri()).hasToString("gs://bkt/a/b");
        assertThat(sink.toString()).contains("gs://bkt/a/b").doesNotContain("secret-token");
        assertThat(GcsSink.builder("bkt").emulatorHost(fake.hostPort()).build().uri()).hasToString("gs://bkt");
    }

    @Test
    void concurrentUploadsOnOneSink() throws Exception {
        BackupSink sink = sink();
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.Queue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            Thread t = new Thread(() -> {
                try {
                    byte[] b = data(2 * Q + n, n);
                    put(sink, "c/" + n, b);
                    assertThat(get(sink, "c/" + n)).isEqualTo(b);
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(sink.list("c/", null).objects()).hasSize(4);
    }
}
