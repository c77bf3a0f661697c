package dev.sgbackup.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.ProgressListener;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.volume.VolumeStore;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Step execution on its own: each step of a backup runs apart from the others (here in its own thread, with its
 * own executor, as a worker in another process would), and a coordinator that only holds the step records
 * commits the manifest; the result restores like any backup.
 */
class StepExecutorTest {
    @TempDir
    Path tmp;

    private static StepExecutor executor(BackupSink sink, Encryption encryption) {
        RunContext ctx = new RunContext(sink, Compression.zstd(), ProgressListener.NONE, 2, 1, new KeyRing(encryption));
        return new StepExecutor(ctx, new Verifier(ctx, new Catalog(ctx)));
    }

    private Path tree(String name, String content) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("a.txt"), content);
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b.txt"), content.repeat(3));
        return dir;
    }

    @Test
    void stepsRunApartAndACoordinatorCommitsTheirRecords() throws Exception {
        BackupSink sink = Sinks.local(tmp.resolve("sink"));
        Encryption enc = Encryption.passphrase("correct horse".toCharArray());
        Encryption.DataKey dataKey = enc.newDataKey();
        Instant started = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String id = Layout.newBackupId(started);
        Path repos = tree("repos", "git objects");
        Path prom = tree("prometheus", "metrics");

        // two workers, each with only the backup id, the sink and its own step
        Set<String> written = ConcurrentHashMap.newKeySet();
        CompletableFuture<StepExecutor.BackupRecord> w1 = CompletableFuture.supplyAsync(() -> executor(sink, enc)
                .backup(id, 1, VolumeStore.of("repos", repos), dataKey, new Progress(ProgressListener.NONE, -1, -1), written));
        CompletableFuture<StepExecutor.BackupRecord> w2 = CompletableFuture.supplyAsync(() -> executor(sink, enc)
                .backup(id, 2, VolumeStore.of("prometheus", prom), dataKey, new Progress(ProgressListener.NONE, -1, -1), written));
        StepExecutor.BackupRecord r1 = w1.get();
        StepExecutor.BackupRecord r2 = w2.get();
        assertThat(List.of(r1.result().status(), r2.result().status())).containsOnly(StepResult.Status.COMPLETED);
        assertThat(SgBackup.to(sink).list()).as("nothing is committed before the coordinator writes the manifest").isEmpty();

        // the coordinator: the manifest from the records, written last
        List<StoreBackup> stores = List.of(r1.stored(), r2.stored());
        byte[] json = new Manifest(Manifest.FORMAT_VERSION, id, started, Instant.now().truncatedTo(ChronoUnit.MILLIS),
                Manifest.currentToolVersion(), "custom", "zstd:3", dataKey.parameters(), stores).encode(dataKey);
        try (PendingObject o = sink.create(Layout.manifestKey(id))) {
            o.stream().write(json);
            o.commit();
        }

        SgBackup sg = SgBackup.builder().sink(sink).encryption(enc).build();
        assertThat(sg.verify(id).ok()).isTrue();
        Path newRepos = tmp.resolve("new-repos");
        Path newProm = tmp.resolve("new-prometheus");
        sg.restore(id, RestoreOptions.defaults(), VolumeStore.of("repos", newRepos), VolumeStore.of("prometheus", newProm));
        assertThat(Files.readString(newRepos.resolve("sub/b.txt"))).isEqualTo("git objects".repeat(3));
        assertThat(Files.readString(newProm.resolve("a.txt"))).isEqualTo("metrics");
    }

    @Test
    void aFailedStepCarriesItsResultAndLeavesNothingOfItsOwn() throws Exception {
        BackupSink sink = Sinks.local(tmp.resolve("sink"));
        String id = Layout.newBackupId(Instant.now());
        Set<String> written = ConcurrentHashMap.newKeySet();
        StepScheduler.StepFailure f = catchThrowableOfType(() -> executor(sink, null).backup(id, 1,
                VolumeStore.of("gone", tmp.resolve("does-not-exist")), null, new Progress(ProgressListener.NONE, -1, -1), written),
                StepScheduler.StepFailure.class);
        assertThat(f.result.status()).isEqualTo(StepResult.Status.FAILED);
        assertThat(f.result.step()).isEqualTo("gone");
        assertThat(f.result.message()).isNotBlank();
        assertThat(written).isEmpty();
        assertThat(sink.listAll(Layout.dataPrefix(id)).toList()).isEmpty();
    }

    @Test
    void aRestoreStepRunsAloneFromTheManifest() throws Exception {
        BackupSink sink = Sinks.local(tmp.resolve("sink"));
        Path repos = tree("repos", "packfile");
        String id = SgBackup.to(sink).backup(VolumeStore.of("repos", repos)).backupId();
        StepExecutor exec = executor(sink, null);
        Manifest m = SgBackup.to(sink).show(id);
        Path target = tmp.resolve("restored");
        StepResult r = exec.restore(m, m.requireStore("repos"), VolumeStore.of("repos", target), RestoreOptions.defaults(),
                new Progress(ProgressListener.NONE, -1, -1));
        assertThat(r.status()).isEqualTo(StepResult.Status.COMPLETED);
        assertThat(r.bytes()).isEqualTo(m.requireStore("repos").size());
        assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("packfile");
    }
}
