package dev.sgbackup.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.SgBackup;
import dev.sgbackup.Stores;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link BackupSink} must keep. Adapters subclass it in their tests (it ships in
 * sgbackup-core's {@code tests} jar) and implement {@link #newSink(int)}.
 */
public abstract class SinkContractTest {

    /** A fresh, empty sink whose listings return at most {@code listPageSize} objects a page. */
    protected abstract BackupSink newSink(int listPageSize) throws Exception;

    /** Size of the large-object test; over 100 MB unless a subclass has a reason to differ. */
    protected long largeObjectSize() {
        return 101L * 1024 * 1024 + 12345;
    }

    protected BackupSink sink;

    @BeforeEach
    void openSink() throws Exception {
        sink = newSink(1000);
    }

    @AfterEach
    void closeSink() throws Exception {
        if (sink != null) {
            sink.close();
        }
    }

    protected static void put(BackupSink s, String key, byte[] bytes) throws IOException {
        try (PendingObject o = s.create(key)) {
            o.stream().write(bytes);
            o.commit();
        }
    }

    protected static byte[] get(BackupSink s, String key) throws IOException {
        try (InputStream in = s.read(key)) {
            return in.readAllBytes();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void committedObjectIsVisibleWithItsBytes() throws Exception {
        put(sink, "data/a/one.bin", bytes("hello"));
        assertThat(get(sink, "data/a/one.bin")).isEqualTo(bytes("hello"));
        assertThat(sink.stat("data/a/one.bin")).get().extracting(ObjectInfo::size).isEqualTo(5L);
        assertThat(sink.listAll("data/").map(ObjectInfo::key)).containsExactly("data/a/one.bin");
    }

    @Test
    void adoptEitherTakesTheWholeFileOrLeavesItAlone() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("sgbackup-adopt");
        java.nio.file.Path file = dir.resolve("pack.tmp");
        byte[] content = new byte[100_000];
        new java.util.Random(5).nextBytes(content);
        java.nio.file.Files.write(file, content);
        try {
            if (sink.adopt("dedup/packs/ab/adopted", file)) {
                assertThat(file).doesNotExist();
                assertThat(get(sink, "dedup/packs/ab/adopted")).isEqualTo(content);
                assertThat(sink.stat("dedup/packs/ab/adopted")).get().extracting(ObjectInfo::size).isEqualTo((long) content.length);
            } else {
                assertThat(file).hasBinaryContent(content);
                assertThat(sink.stat("dedup/packs/ab/adopted")).isEmpty();
            }
        } finally {
            java.nio.file.Files.deleteIfExists(file);
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void emptyObjectRoundTrips() throws Exception {
        put(sink, "empty", new byte[0]);
        assertThat(get(sink, "empty")).isEmpty();
        assertThat(sink.stat("empty")).get().extracting(ObjectInfo::size).isEqualTo(0L);
    }

    @Test
    void objectIsInvisibleBeforeCommit() throws Exception {
        try (PendingObject o = sink.create("data/pending")) {
            o.stream().write(new byte[70_000]);
            o.stream().flush();
            assertThat(sink.stat("data/pending")).isEmpty();
            assertThat(sink.listAll("").map(ObjectInfo::key)).doesNotContain("data/pending");
            assertThatThrownBy(() -> sink.read("data/pending")).isInstanceOf(NoSuchObjectException.class);
            o.commit();
        }
        assertThat(sink.stat("data/pending")).isPresent();
    }

    @Test
    void closeWithoutCommitAbortsAndLeavesNothing() throws Exception {
        try (PendingObject o = sink.create("data/aborted")) {
            o.stream().write(new byte[300_000]);
        }
        assertThat(sink.stat("data/aborted")).isEmpty();
        assertThat(sink.listAll("").toList()).isEmpty();
    }

    @Test
    void exceptionInsideTryWithResourcesPublishesNothing() throws Exception {
        assertThatThrownBy(() -> {
            try (PendingObject o = sink.create("data/failed")) {
                o.stream().write(new byte[10_000]);
                throw new IOException("source failed");
            }
        }).hasMessage("source failed");
        assertThat(sink.stat("data/failed")).isEmpty();
        assertThat(sink.listAll("").toList()).isEmpty();
    }

    @Test
    void commitReplacesAnExistingObject() throws Exception {
        put(sink, "k", bytes("first version"));
        put(sink, "k", bytes("second"));
        assertThat(get(sink, "k")).isEqualTo(bytes("second"));
        assertThat(sink.listAll("").toList()).hasSize(1);
    }

    @Test
    void readingAMissingObjectThrowsNoSuchObject() {
        assertThatThrownBy(() -> sink.read("nope")).isInstanceOf(NoSuchObjectException.class);
        assertThatThrownBy(() -> sink.read("nope", 0, 10)).isInstanceOf(NoSuchObjectException.class);
        assertThat(catchingStat("nope")).isEmpty();
    }

    private java.util.Optional<ObjectInfo> catchingStat(String key) {
        try {
            return sink.stat(key);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void listingIsSortedAndPagedBeyondOnePage() throws Exception {
        BackupSink paged = newSink(3);
        try {
            List<String> keys = IntStream.range(0, 11).mapToObj(i -> String.format("manifests/b-%02d.json", i))
                    .collect(Collectors.toList());
            List<String> shuffled = new ArrayList<>(keys);
            java.util.Collections.shuffle(shuffled, new Random(7));
            for (String k : shuffled) {
                put(paged, k, bytes(k));
            }
            put(paged, "manifestsx/other", bytes("x"));
            put(paged, "data/b-00/x", bytes("x"));

            ListPage first = paged.list("manifests/", null);
            assertThat(first.objects()).hasSize(3);
            assertThat(first.nextPageToken()).isNotNull();

            List<String> seen = new ArrayList<>();
            String token = null;
            int pages = 0;
            do {
                ListPage p = paged.list("manifests/", token);
                assertThat(p.objects().size()).isLessThanOrEqualTo(3);
                p.objects().forEach(o -> seen.add(o.key()));
                token = p.nextPageToken();
                pages++;
            } while (token != null && pages < 100);
            assertThat(seen).containsExactlyElementsOf(keys);
            assertThat(pages).isGreaterThanOrEqualTo(4);
            assertThat(paged.listAll("manifests/").map(ObjectInfo::key).toList()).containsExactlyElementsOf(keys);
            assertThat(paged.listAll("manifests/b-1").map(ObjectInfo::key).toList())
                    .containsExactly("manifests/b-10.json");
        } finally {
            paged.close();
        }
    }

    @Test
    void prefixListingDoesNotLeakSiblings() throws Exception {
        put(sink, "data/a/x", bytes("1"));
        put(sink, "data/ab/y", bytes("2"));
        put(sink, "data/a-b", bytes("3"));
        assertThat(sink.listAll("data/a/").map(ObjectInfo::key)).containsExactly("data/a/x");
        assertThat(sink.listAll("data/a").map(ObjectInfo::key)).containsExactly("data/a-b", "data/a/x", "data/ab/y");
        assertThat(sink.listAll("nothing/").toList()).isEmpty();
    }

    @Test
    void rangedReadsReturnExactlyTheRange() throws Exception {
        byte[] data = new byte[1_000_000];
        new Random(1).nextBytes(data);
        put(sink, "r", data);
        assertThat(readRange("r", 0, 10)).isEqualTo(java.util.Arrays.copyOfRange(data, 0, 10));
        assertThat(readRange("r", 123_456, 70_000)).isEqualTo(java.util.Arrays.copyOfRange(data, 123_456, 193_456));
        assertThat(readRange("r", 999_990, 100)).isEqualTo(java.util.Arrays.copyOfRange(data, 999_990, 1_000_000));
        assertThat(readRange("r", 1_000_000, 10)).isEmpty();
    }

    private byte[] readRange(String key, long off, long len) throws IOException {
        try (InputStream in = sink.read(key, off, len)) {
            return in.readAllBytes();
        }
    }

    @Test
    void objectsOverOneHundredMegabytesStream() throws Exception {
        long size = largeObjectSize();
        MessageDigest written = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        Random r = new Random(42);
        try (PendingObject o = sink.create("data/big/blob", size)) {
            OutputStream out = o.stream();
            long left = size;
            while (left > 0) {
                r.nextBytes(buf);
                int n = (int) Math.min(buf.length, left);
                out.write(buf, 0, n);
                written.update(buf, 0, n);
                left -= n;
            }
            o.commit();
        }
        assertThat(sink.stat("data/big/blob")).get().extracting(ObjectInfo::size).isEqualTo(size);
        MessageDigest read = MessageDigest.getInstance("SHA-256");
        long total = 0;
        try (InputStream in = sink.read("data/big/blob")) {
            int n;
            while ((n = in.read(buf)) > 0) {
                read.update(buf, 0, n);
                total += n;
            }
        }
        assertThat(total).isEqualTo(size);
        assertThat(HexFormat.of().formatHex(read.digest())).isEqualTo(HexFormat.of().formatHex(written.digest()));
        try (InputStream in = sink.read("data/big/blob", size - 5, 100)) {
            assertThat(in.readAllBytes()).hasSize(5);
        }
    }

    @Test
    void deleteRemovesAndIsIdempotent() throws Exception {
        put(sink, "data/d/1", bytes("1"));
        put(sink, "data/d/2", bytes("2"));
        put(sink, "data/d/3", bytes("3"));
        sink.delete("data/d/1");
        sink.delete("data/d/1");
        sink.delete("never/existed");
        assertThat(sink.stat("data/d/1")).isEmpty();
        sink.deleteAll(List.of("data/d/2", "data/d/3", "data/d/missing"));
        assertThat(sink.listAll("data/").toList()).isEmpty();
    }

    @Test
    void concurrentWritersDoNotInterfere() throws Exception {
        int writers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                int id = i;
                fs.add(pool.submit(() -> {
                    start.await();
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) id);
                    // distinct keys, and every writer also races on one shared key
                    for (String key : List.of("data/c/w" + id, "data/c/shared")) {
                        try (PendingObject o = sink.create(key)) {
                            for (int j = 0; j < 8; j++) {
                                o.stream().write(chunk);
                            }
                            o.commit();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        for (int i = 0; i < writers; i++) {
            byte[] b = get(sink, "data/c/w" + i);
            assertThat(b).hasSize(8 * 64 * 1024);
            byte expected = (byte) i;
            assertThat(IntStream.range(0, b.length).allMatch(j -> b[j] == expected)).isTrue();
        }
        byte[] shared = get(sink, "data/c/shared");
        assertThat(shared).hasSize(8 * 64 * 1024);
        byte first = shared[0];
        assertThat(IntStream.range(0, shared.length).allMatch(j -> shared[j] == first))
                .as("the shared key holds one writer's whole object, never a mix").isTrue();
        assertThat(sink.listAll("data/c/").toList()).hasSize(writers + 1);
    }

    @Test
    void putIfAbsentCreatesOnceAndKeepsTheFirstBytes() throws Exception {
        if (!sink.conditionalCreate()) {
            assertThatThrownBy(() -> sink.putIfAbsent("locks/a", bytes("first")))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining(sink.uri().toString());
            assertThat(sink.stat("locks/a")).isEmpty();
            return;
        }
        assertThat(sink.putIfAbsent("locks/a", bytes("first"))).isTrue();
        assertThat(sink.putIfAbsent("locks/a", bytes("second"))).isFalse();
        assertThat(get(sink, "locks/a")).isEqualTo(bytes("first"));
        // an object written the ordinary way counts as present too
        put(sink, "locks/b", bytes("plain"));
        assertThat(sink.putIfAbsent("locks/b", bytes("mine"))).isFalse();
        assertThat(get(sink, "locks/b")).isEqualTo(bytes("plain"));
        // and once deleted, the key is free again
        sink.delete("locks/a");
        assertThat(sink.putIfAbsent("locks/a", bytes("third"))).isTrue();
        assertThat(get(sink, "locks/a")).isEqualTo(bytes("third"));
        assertThat(sink.listAll("locks/").map(ObjectInfo::key).toList()).containsExactly("locks/a", "locks/b");
    }

    @Test
    void ofWritersRacingForOneKeyExactlyOneWins() throws Exception {
        if (!sink.conditionalCreate()) {
            return; // putIfAbsentCreatesOnceAndKeepsTheFirstBytes checks the refusal
        }
        int writers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Boolean>> won = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                byte[] mine = bytes("writer " + i);
                won.add(pool.submit(() -> {
                    go.await();
                    return sink.putIfAbsent("locks/race", mine);
                }));
            }
            go.countDown();
            List<Integer> winners = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                if (won.get(i).get()) {
                    winners.add(i);
                }
            }
            assertThat(winners).hasSize(1);
            assertThat(new String(get(sink, "locks/race"), StandardCharsets.UTF_8)).isEqualTo("writer " + winners.get(0));
        } finally {
            pool.shutdownNow();
        }
        assertThat(sink.listAll("locks/").toList()).hasSize(1);
    }

    @Test
    void invalidKeysAreRefused() {
        assertThatThrownBy(() -> sink.create("../escape")).isInstanceOf(dev.sgbackup.run.InvalidInputException.class);
        assertThatThrownBy(() -> sink.create("upper/Case")).isInstanceOf(dev.sgbackup.run.InvalidInputException.class);
        assertThatThrownBy(() -> sink.create("/abs")).isInstanceOf(dev.sgbackup.run.InvalidInputException.class);
    }

    @Test
    void uriNamesTheSinkWithoutSecrets() {
        assertThat(sink.uri()).isNotNull();
        assertThat(sink.uri().toString()).doesNotContainIgnoringCase("secret").doesNotContain("@");
    }

    /**
     * Garbage collection of a deduplicated repository over this sink, as a user runs it: two backups, the first
     * deleted by retention, its chunks collected (the pack holding them deleted or repacked), exactly the bytes the
     * prune reports freed, and the backup kept still verifying and restoring byte for byte.
     */
    @Test
    void dedupGarbageCollectionFreesWhatItReportsAndKeepsWhatIsReferenced(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random random = new Random(3);
        byte[] kept = new byte[2 << 20];
        random.nextBytes(kept);
        byte[] old = new byte[3 << 20];
        random.nextBytes(old);
        Files.write(src.resolve("kept.bin"), kept);
        Files.write(src.resolve("changing.bin"), old);
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).encryption(Encryption.key(new byte[32])).build();
        RunResult first = sg.backup(Stores.directory("vol", src));
        byte[] current = new byte[3 << 20];
        random.nextBytes(current);
        Files.write(src.resolve("changing.bin"), current);
        RunResult second = sg.backup(Stores.directory("vol", src));
        Retention keepOne = Retention.builder().keepLast(1).build();

        Map<String, Long> before = dedupObjects();
        PruneResult dry = sg.prune(keepOne, Duration.ZERO, true);
        assertThat(dry.deleted()).isEmpty();
        assertThat(dry.decision().remove()).extracting(r -> r.id()).containsExactly(first.backupId());
        assertThat(dry.packsDeleted() + dry.packsRepacked()).isPositive();
        // the garbage is the first backup's changing.bin: 3 MiB of random bytes, which do not compress
        assertThat(dry.bytesFreed()).isGreaterThan((3L << 20) - 4096);
        assertThat(dedupObjects()).as("a dry run changes nothing").isEqualTo(before);
        assertThat(sg.list()).hasSize(2);

        PruneResult real = sg.prune(keepOne, Duration.ZERO, false);
        assertThat(real.ok()).as(real.toString()).isTrue();
        assertThat(real.deleted()).containsExactly(first.backupId());
        assertThat(real.bytesFreed()).isEqualTo(dry.bytesFreed());
        Map<String, Long> after = dedupObjects();
        assertThat(packAndIndexBytes(before) - packAndIndexBytes(after)).isEqualTo(real.bytesFreed());

        assertThat(sg.list()).hasSize(1);
        assertThat(sg.verify(second.backupId(), VerifyOptions.readData()).ok()).isTrue();
        Path out = tmp.resolve("out");
        assertThat(sg.restore(second.backupId(), RestoreOptions.defaults(), Stores.directory("vol", out)).ok()).isTrue();
        assertThat(Files.readAllBytes(out.resolve("kept.bin"))).isEqualTo(kept);
        assertThat(Files.readAllBytes(out.resolve("changing.bin"))).isEqualTo(current);

        PruneResult again = sg.prune(keepOne, Duration.ZERO, false);
        assertThat(again.deleted()).isEmpty();
        assertThat(again.bytesFreed()).as("nothing left to collect").isZero();
    }

    private Map<String, Long> dedupObjects() {
        Map<String, Long> m = new TreeMap<>();
        sink.listAll("dedup/").forEach(o -> m.put(o.key(), o.size()));
        return m;
    }

    private static long packAndIndexBytes(Map<String, Long> objects) {
        return objects.entrySet().stream().filter(e -> e.getKey().startsWith("dedup/packs/") || e.getKey().startsWith("dedup/index/"))
                .mapToLong(Map.Entry::getValue).sum();
    }
}
