package dev.sgbackup;

import dev.sgbackup.sink.Sinks;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.CancelledException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.internal.Layout;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EngineTest {
    @TempDir
    Path dir;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] text(int n) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) {
            sb.append("func main() { fmt.Println(\"hello, sourcegraph\") }\n");
        }
        return sb.substring(0, n).getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "zstd:9", "gzip:1", "gzip", "none"})
    void roundTripWithEveryCompression(String compression) {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.builder().sink(sink).compression(compression).build();
        BytesStore src = new BytesStore("cfg").with("a", text(3_000_000)).with("b", random(100_000, 1)).with("empty", new byte[0]);
        RunResult r = sg.backup(src);
        assertThat(r.ok()).isTrue();
        assertThat(r.committed()).isTrue();
        assertThat(Layout.isBackupId(r.backupId())).isTrue();

        Manifest m = sg.show(r.backupId());
        assertThat(m.store("cfg")).get().satisfies(s -> {
            assertThat(s.artifacts()).extracting(a -> a.name()).containsExactly("a", "b", "empty");
            assertThat(s.properties()).containsEntry("count", "3");
        });
        if (!compression.equals("none")) {
            assertThat(m.store("cfg").get().artifacts().get(0).storedSize()).isLessThan(3_000_000);
        }
        assertThat(sg.verify(r.backupId()).ok()).isTrue();

        BytesStore target = new BytesStore("cfg");
        sg.restore(r.backupId(), RestoreOptions.defaults(), target);
        assertThat(target.restored.get("a")).isEqualTo(src.artifacts.get("a"));
        assertThat(target.restored.get("b")).isEqualTo(src.artifacts.get("b"));
        assertThat(target.restored.get("empty")).isEmpty();
    }

    @Test
    void gzipOutputIsOrdinaryGzip() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.builder().sink(sink).compression(Compression.gzip(1)).build();
        byte[] data = text(5_500_000); // several parallel members
        RunResult r = sg.backup(new BytesStore("s").with("x", data));
        String key = sg.show(r.backupId()).artifacts().get(0).key();
        assertThat(key).endsWith(".gz");
        try (InputStream in = new java.util.zip.GZIPInputStream(sink.read(key))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void failedBackupIsNotListedAndLeavesNoVisibleObject() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.to(sink);
        sg.backup(new BytesStore("ok").with("a", text(1000)));
        BytesStore bad = new BytesStore("bad").with("a", text(1_000_000));
        bad.failMidway = new IllegalStateException("disk on fire");
        BytesStore good = new BytesStore("good").with("g", text(10));
        assertThatThrownBy(() -> sg.backup(good, bad))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("store 'bad'")
                .hasMessageContaining("disk on fire")
                .hasMessageContaining("nothing was committed");
        assertThat(sg.list()).hasSize(1);
        // the good store's committed artifact was cleaned up; only the first backup's objects remain
        List<String> keys = sink.listAll("").map(ObjectInfo::key).toList();
        String firstId = sg.list().get(0).id();
        assertThat(keys).allMatch(k -> k.contains(firstId));
    }

    @Test
    void aFailingStepStopsTheStepsRunningBesideItAndNothingIsCommitted() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.builder().sink(sink).stepParallelism(2).build();
        java.util.concurrent.CountDownLatch slowStarted = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean slowStopped = new java.util.concurrent.atomic.AtomicBoolean();
        dev.sgbackup.store.DataStore slow = new BytesStore("slow") {
            @Override
            public void backup(dev.sgbackup.store.BackupOutput out) throws IOException {
                try (var o = out.artifact("endless")) {
                    slowStarted.countDown();
                    for (int i = 0; i < 10_000; i++) {
                        o.write(new byte[1024]);
                        out.checkCancelled();
                        Thread.sleep(5);
                    }
                } catch (InterruptedException | CancelledException e) {
                    slowStopped.set(true);
                    throw new CancelledException("stopped");
                }
            }
        };
        BytesStore failing = new BytesStore("failing") {
            @Override
            public void backup(dev.sgbackup.store.BackupOutput out) throws IOException {
                try {
                    slowStarted.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                throw new IOException("connection refused");
            }
        };
        assertThatThrownBy(() -> sg.backup(slow, failing)).isInstanceOf(StoreException.class)
                .hasMessageContaining("store 'failing'").hasMessageContaining("connection refused");
        assertThat(slowStopped).isTrue();
        assertThat(sg.list()).isEmpty();
        assertThat(sink.listAll("").toList()).isEmpty();
    }

    @Test
    void interruptedBackupIsCancelledAndNotCommitted() {
        SgBackup sg = SgBackup.to(Sinks.memory());
        BytesStore s = new BytesStore("s").with("a", text(1000));
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> sg.backup(s)).isInstanceOf(CancelledException.class).hasMessageContaining("nothing was committed");
        } finally {
            Thread.interrupted();
        }
        assertThat(sg.list()).isEmpty();
        assertThat(sg.sink().listAll("").toList()).isEmpty();
    }

    @Test
    void flippedByteIsNamedByVerifyAndRefusedByRestore() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.to(sink);
        RunResult r = sg.backup(new BytesStore("s").with("good", text(200_000)).with("victim", text(300_000)));
        Manifest m = sg.show(r.backupId());
        String victim = m.artifacts().stream().filter(a -> a.name().equals("victim")).findFirst().orElseThrow().key();
        flipByte(dir.resolve("sink").resolve(victim), 40);

        VerifyReport v = sg.verify(r.backupId());
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).hasSize(1);
        assertThat(v.problems().get(0).message()).contains("s/victim").contains(victim);
        assertThatThrownBy(v::throwIfFailed).isInstanceOf(IntegrityException.class);

        BytesStore target = new BytesStore("s");
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), target))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("victim")
                .hasMessageContaining("no target was changed");
        assertThat(target.restored).isEmpty();
    }

    @Test
    void flippedByteWithoutCompressionIsCaughtByTheHash() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.builder().sink(sink).compression(Compression.none()).build();
        RunResult r = sg.backup(new BytesStore("s").with("x", text(10_000)));
        flipByte(dir.resolve("sink").resolve(sg.show(r.backupId()).artifacts().get(0).key()), 5000);
        assertThat(sg.verify(r.backupId()).problems()).singleElement().asString().contains("do not match");
    }

    @Test
    void truncatedArtifactIsDetected() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.builder().sink(sink).compression(Compression.none()).build();
        RunResult r = sg.backup(new BytesStore("s").with("x", text(10_000)));
        Path p = dir.resolve("sink").resolve(sg.show(r.backupId()).artifacts().get(0).key());
        java.nio.file.Files.write(p, java.util.Arrays.copyOf(java.nio.file.Files.readAllBytes(p), 9_000));
        assertThat(sg.verify(r.backupId()).ok()).isFalse();
    }

    @Test
    void missingArtifactIsNamed() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.to(sink);
        RunResult r = sg.backup(new BytesStore("s").with("x", text(100)));
        sink.delete(sg.show(r.backupId()).artifacts().get(0).key());
        assertThat(sg.verify(r.backupId()).problems()).singleElement().asString().contains("missing");
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), new BytesStore("s")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("missing");
    }

    @Test
    void damagedManifestIsDetected() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.to(sink);
        RunResult r = sg.backup(new BytesStore("s").with("x", text(100)));
        Path mf = dir.resolve("sink").resolve(Layout.manifestKey(r.backupId()));
        String json = java.nio.file.Files.readString(mf);
        java.nio.file.Files.writeString(mf, json.replace("\"size\" : 100", "\"size\" : 101"));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("damaged");
        assertThat(sg.list()).isEmpty();
        java.nio.file.Files.writeString(mf, "{ not json");
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("not valid JSON");
    }

    @Test
    void futureManifestVersionGetsAClearError() throws Exception {
        BackupSink sink = Sinks.local(dir.resolve("sink"));
        SgBackup sg = SgBackup.to(sink);
        RunResult r = sg.backup(new BytesStore("s").with("x", text(100)));
        Path mf = dir.resolve("sink").resolve(Layout.manifestKey(r.backupId()));
        java.nio.file.Files.writeString(mf, java.nio.file.Files.readString(mf).replace("\"formatVersion\" : 1", "\"formatVersion\" : 99"));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("format version 99").hasMessageContaining("upgrade sgbackup");
    }

    @Test
    void listIsNewestFirstAndDeleteRemovesManifestThenData() throws Exception {
        BackupSink sink = Sinks.memory(2);
        SgBackup sg = SgBackup.to(sink);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(sg.backup(new BytesStore("s").with("x", text(100 + i))).backupId());
        }
        List<String> sorted = new ArrayList<>(ids);
        Collections.sort(sorted, Collections.reverseOrder());
        assertThat(sg.list()).extracting(b -> b.id()).containsExactlyElementsOf(sorted);
        sg.delete(ids.get(2));
        assertThat(sg.list()).hasSize(4).extracting(b -> b.id()).doesNotContain(ids.get(2));
        assertThat(sink.listAll(Layout.dataPrefix(ids.get(2))).toList()).isEmpty();
        assertThatThrownBy(() -> sg.delete(ids.get(2))).isInstanceOf(InvalidInputException.class).hasMessageContaining("no backup");
        assertThatThrownBy(() -> sg.show("nonsense")).isInstanceOf(InvalidInputException.class).hasMessageContaining("not a backup id");
    }

    @Test
    void deleteAlsoRemovesUnfinishedUploadsOfThatBackupOnly() throws Exception {
        Path root = dir.resolve("sink");
        SgBackup sg = SgBackup.to(Sinks.local(root));
        String id = sg.backup(new BytesStore("s").with("x", text(10))).backupId();
        Path tmp = root.resolve(".sgbackup-tmp");
        Path mine = tmp.resolve(Layout.dataPrefix(id).replace('/', '+') + "s+000009-y.abc.part");
        Path running = tmp.resolve(Layout.dataPrefix(Layout.newBackupId(java.time.Instant.now())).replace('/', '+') + "s+000001-z.def.part");
        java.nio.file.Files.write(mine, new byte[3]);
        java.nio.file.Files.write(running, new byte[3]);
        sg.delete(id);
        assertThat(mine).doesNotExist();
        assertThat(running).as("another backup's upload in progress").exists();
    }

    @Test
    void restoreNamesTheStoresABackupHasAndSkipsTheOthers() {
        SgBackup sg = SgBackup.to(Sinks.memory());
        RunResult r = sg.backup(new BytesStore("one").with("x", text(10)), new BytesStore("two").with("y", text(10)));
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), new BytesStore("three")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("has no store 'three'").hasMessageContaining("one, two");
        BytesStore two = new BytesStore("two");
        RunResult rr = sg.restore(r.backupId(), RestoreOptions.defaults(), two);
        assertThat(rr.steps()).extracting(s -> s.step() + ":" + s.status()).containsExactly("two:COMPLETED", "one:SKIPPED");
        assertThat(two.restored).containsKey("y");
    }

    @Test
    void duplicateStoreNamesAndBadNamesAreRefused() {
        SgBackup sg = SgBackup.to(Sinks.memory());
        assertThatThrownBy(() -> sg.backup(new BytesStore("a"), new BytesStore("a"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("used twice");
        assertThatThrownBy(() -> sg.backup(new BytesStore("Bad Name"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("invalid store name");
    }

    @Test
    void leftoversOfFailedBackupsArePrunedOnlyAfterTheGracePeriod() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.to(sink);
        String kept = sg.backup(new BytesStore("s").with("x", text(10))).backupId();
        String oldId = Layout.newBackupId(java.time.Instant.now().minus(Duration.ofDays(2)));
        String freshId = Layout.newBackupId(java.time.Instant.now());
        for (String id : List.of(oldId, freshId)) {
            try (PendingObject o = sink.create(Layout.dataPrefix(id) + "s/000001-x")) {
                o.stream().write(1);
                o.commit();
            }
        }
        // memory sink objects are all "new"; a zero grace period treats the old id's objects as stale
        List<String> dry = sg.removeLeftovers(Duration.ZERO, true);
        assertThat(dry).anyMatch(k -> k.contains(oldId)).noneMatch(k -> k.contains(kept));
        assertThat(sink.listAll(Layout.dataPrefix(oldId)).toList()).hasSize(1);
        assertThat(sg.removeLeftovers(Duration.ofDays(1), false)).isEmpty();
        sg.removeLeftovers(Duration.ZERO, false);
        assertThat(sink.listAll(Layout.dataPrefix(oldId)).toList()).isEmpty();
        assertThat(sg.verify(kept).ok()).isTrue();
    }

    @Test
    void progressEventsCoverTheRun() {
        List<ProgressEvent> events = Collections.synchronizedList(new ArrayList<>());
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).listener(events::add).build();
        sg.backup(new BytesStore("s").with("x", text(1000)).with("y", text(10)));
        assertThat(events).extracting(ProgressEvent::type).contains(ProgressEvent.Type.RUN_STARTED, ProgressEvent.Type.ARTIFACT_STARTED,
                ProgressEvent.Type.ARTIFACT_FINISHED, ProgressEvent.Type.RUN_FINISHED);
        assertThat(events.get(events.size() - 1).bytesDone()).isEqualTo(1010);
    }

    @Test
    void planIsPrintableAndWritesNothing() {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.to(sink);
        String table = sg.planBackup(List.of(new BytesStore("cfg").with("x", text(10)))).explain();
        assertThat(table).contains("backup").contains("cfg").contains("bytes").contains("zstd:3");
        assertThat(sink.listAll("").toList()).isEmpty();
    }

    static void flipByte(Path p, long offset) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            b.rewind();
            ch.write(b, offset);
        }
    }
}
