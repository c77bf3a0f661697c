package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup run step by step by separate engines (as the Kubernetes executor's workers, each with only the backup id,
 * its ordinal, its store and the passphrase) and committed by a coordinator from the step records: one manifest,
 * restorable like a local backup; a missing record, a missing or shortened artifact commit nothing.
 */
class StepBackupTest {
    @TempDir
    Path tmp;

    private Path tree(String name, String content) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("a.txt"), content);
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b.txt"), content.repeat(3));
        return dir;
    }

    private SgBackup engine(Path sink, String passphrase) {
        SgBackup.Builder b = SgBackup.builder().sink(Sinks.local(sink));
        return passphrase == null ? b.build() : b.encryption(Encryption.passphrase(passphrase)).build();
    }

    private List<String> keys(Path sink) throws Exception {
        try (BackupSink s = Sinks.local(sink)) {
            return s.listAll("").map(ObjectInfo::key).sorted().toList();
        }
    }

    @Test
    void encryptedStepsInSeparateEnginesShareTheDataKeyAndCommitOneManifest() throws Exception {
        Path sink = tmp.resolve("sink");
        Path a = tree("a", "shard zero");
        Path b = tree("b", "shard one");
        String id = dev.sgbackup.plan.KubernetesManifests.newBackupId(Instant.now());
        Instant started = Instant.now();
        engine(sink, "correct horse battery").beginStepBackup(id);
        assertThat(keys(sink)).containsExactly("data/" + id + "/_steps/key.json");
        assertThat(Files.readString(sink.resolve("data/" + id + "/_steps/key.json"))).doesNotContain("correct horse");
        // two workers at once, each its own engine with only the passphrase
        CompletableFuture<StepResult> w1 = CompletableFuture.supplyAsync(() ->
                engine(sink, "correct horse battery").backupStep(id, 1, Stores.directory("gitserver-0", a)));
        CompletableFuture<StepResult> w2 = CompletableFuture.supplyAsync(() ->
                engine(sink, "correct horse battery").backupStep(id, 2, Stores.directory("gitserver-1", b)));
        assertThat(w1.get().status()).isEqualTo(StepResult.Status.COMPLETED);
        assertThat(w2.get().bytes()).isPositive();
        assertThat(keys(sink)).contains("data/" + id + "/_steps/s01.json", "data/" + id + "/_steps/s02.json")
                .noneMatch(k -> k.startsWith("manifests/")).noneMatch(k -> k.contains("gitserver"));
        assertThat(engine(sink, "correct horse battery").list()).isEmpty();

        RunResult r = engine(sink, "correct horse battery").commitStepBackup(id, started, Scope.ALL, List.of("gitserver-0", "gitserver-1"));
        assertThat(r.committed()).isTrue();
        assertThat(r.steps()).extracting(StepResult::step).containsExactly("gitserver-0", "gitserver-1");
        assertThat(keys(sink)).contains("manifests/" + id + ".json").noneMatch(k -> k.contains("/_steps/"));
        SgBackup reader = engine(sink, "correct horse battery");
        Manifest m = reader.show(id);
        assertThat(m.encrypted()).isTrue();
        assertThat(m.scope()).isEqualTo("all");
        assertThat(m.storeNames()).containsExactly("gitserver-0", "gitserver-1");
        assertThat(reader.verify(id).ok()).isTrue();
        Path out = tmp.resolve("restored");
        reader.restore(id, RestoreOptions.defaults(), Stores.directory("gitserver-1", out));
        assertThat(Files.readString(out.resolve("sub/b.txt"))).isEqualTo("shard one".repeat(3));
    }

    @Test
    void aMissingRecordOrArtifactCommitsNothingAndAbandonRemovesEverything() throws Exception {
        Path sink = tmp.resolve("sink");
        Path a = tree("a", "shard zero");
        String id = dev.sgbackup.plan.KubernetesManifests.newBackupId(Instant.now());
        SgBackup sg = engine(sink, null);
        sg.beginStepBackup(id);
        assertThat(keys(sink)).isEmpty();
        sg.backupStep(id, 1, Stores.directory("gitserver-0", a));
        assertThat(Files.readString(sink.resolve("data/" + id + "/_steps/s01.json"))).contains("\"store\" : \"gitserver-0\"")
                .contains("\"status\" : \"completed\"");
        assertThatThrownBy(() -> sg.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0", "gitserver-1")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("step gitserver-1").hasMessageContaining("left no record");
        assertThat(keys(sink)).noneMatch(k -> k.startsWith("manifests/"));
        // an artifact shortened after its record: refused
        String artifact = keys(sink).stream().filter(k -> k.startsWith("data/" + id + "/gitserver-0/")).findFirst().orElseThrow();
        byte[] bytes = Files.readAllBytes(sink.resolve(artifact));
        Files.write(sink.resolve(artifact), java.util.Arrays.copyOf(bytes, bytes.length - 1));
        assertThatThrownBy(() -> sg.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining(artifact).hasMessageContaining("the record says");
        Files.delete(sink.resolve(artifact));
        assertThatThrownBy(() -> sg.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("is missing from the sink");
        assertThat(sg.list()).isEmpty();
        assertThat(sg.abandonStepBackup(id)).isPositive();
        assertThat(keys(sink)).isEmpty();
    }

    @Test
    void aFailedStepRemovesWhatItWroteAndRecordsNothing() throws Exception {
        Path sink = tmp.resolve("sink");
        String id = dev.sgbackup.plan.KubernetesManifests.newBackupId(Instant.now());
        SgBackup sg = engine(sink, null);
        sg.beginStepBackup(id);
        assertThatThrownBy(() -> sg.backupStep(id, 1, Stores.directory("gitserver-0", tmp.resolve("absent"))))
                .isInstanceOf(SgBackupException.class).hasMessageContaining("gitserver-0");
        assertThat(keys(sink)).isEmpty();
        // a worker without the passphrase of an encrypted backup, or with one for a plain backup, is refused
        engine(sink, "correct horse battery").beginStepBackup(id.substring(0, id.length() - 1) + (id.endsWith("0") ? "1" : "0"));
        assertThatThrownBy(() -> engine(sink, "correct horse battery").backupStep(id, 1, Stores.directory("x", tmp)))
                .hasMessageContaining("no data key object");
        assertThat(sg.removeLeftovers(Duration.ZERO, true)).isNotEmpty();
    }
}
