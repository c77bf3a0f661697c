package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.StoreKind;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step run elsewhere writes its bytes so far to {@code data/<id>/_steps/sNN.progress} while it runs (every 10 s;
 * 50 ms here), which {@code SgBackup.stepBytes} reads, as the Kubernetes coordinator does; once complete the record's
 * count is the answer, and the commit removes the progress object with the records.
 */
class StepProgressTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void fast() {
        System.setProperty("sgbackup.stepProgressMillis", "50");
    }

    @AfterEach
    void reset() {
        System.clearProperty("sgbackup.stepProgressMillis");
    }

    /** Writes 1 MiB, waits to be released, writes 1 MiB more. */
    static class SlowStore extends BytesStore {
        final CountDownLatch halfway = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        SlowStore(String name) {
            super(name);
        }

        @Override
        public StoreKind kind() {
            return StoreKind.of("bytes", Phase.VOLUMES);
        }

        @Override
        public void backup(BackupOutput out) throws java.io.IOException {
            byte[] mib = new byte[1 << 20];
            new Random(1).nextBytes(mib);
            try (OutputStream o = out.artifact("data", Map.of())) {
                o.write(mib);
                o.flush();
                halfway.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException();
                }
                o.write(mib);
            }
        }
    }

    @Test
    void aRunningStepsBytesAreReadableFromTheSinkAndGoneAfterTheCommit() throws Exception {
        Path sink = tmp.resolve("sink");
        String id = dev.sgbackup.plan.KubernetesManifests.newBackupId(Instant.now());
        SgBackup coordinator = SgBackup.builder().sink(Sinks.local(sink)).build();
        coordinator.beginStepBackup(id);
        assertThat(coordinator.stepBytes(id, 1)).isEmpty();
        SlowStore store = new SlowStore("shard");
        CompletableFuture<StepResult> worker = CompletableFuture.supplyAsync(() ->
                SgBackup.builder().sink(Sinks.local(sink)).build().backupStep(id, 1, store));
        assertThat(store.halfway.await(30, TimeUnit.SECONDS)).isTrue();
        OptionalLong seen = OptionalLong.empty();
        for (int i = 0; i < 200 && (seen.isEmpty() || seen.getAsLong() < 1 << 20); i++) {
            Thread.sleep(20);
            seen = coordinator.stepBytes(id, 1);
        }
        assertThat(seen).as("the running step's progress object").isPresent();
        assertThat(seen.getAsLong()).isBetween(1L << 20, (2L << 20) - 1);
        assertThat(Files.readString(sink.resolve("data/" + id + "/_steps/s01.progress"))).contains("\"bytes\"").doesNotContain("shard");
        store.release.countDown();
        StepResult r = worker.get(60, TimeUnit.SECONDS);
        assertThat(coordinator.stepBytes(id, 1)).hasValue(r.bytes());
        assertThat(r.bytes()).isEqualTo(2L << 20);
        coordinator.commitStepBackup(id, Instant.now(), Scope.CUSTOM, List.of("shard"));
        try (BackupSink s = Sinks.local(sink)) {
            assertThat(s.listAll("").map(ObjectInfo::key).toList()).noneMatch(k -> k.contains("/_steps/"));
        }
    }

    @Test
    void aFailedStepLeavesNoProgressObject() throws Exception {
        Path sink = tmp.resolve("sink");
        String id = dev.sgbackup.plan.KubernetesManifests.newBackupId(Instant.now());
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sink)).build();
        sg.beginStepBackup(id);
        SlowStore store = new SlowStore("shard") {
            @Override
            public void backup(BackupOutput out) throws java.io.IOException {
                try (OutputStream o = out.artifact("data", Map.of())) {
                    o.write(new byte[4096]);
                    o.flush();
                    Thread.sleep(300); // long enough for progress objects
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                throw new java.io.IOException("disk gone");
            }
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sg.backupStep(id, 1, store)).hasMessageContaining("disk gone");
        try (BackupSink s = Sinks.local(sink)) {
            assertThat(s.listAll("").map(ObjectInfo::key).toList()).noneMatch(k -> k.contains(".progress"));
        }
        assertThat(sg.stepBytes(id, 1)).isEmpty();
    }
}
