package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.plan.KubernetesManifests;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.SinkLock;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A deduplicated backup run step by step, as the Kubernetes executor runs it: a coordinator engine begins it (taking
 * its lease and opening the repository), workers — each its own engine with only the backup id, its ordinal, its store
 * and the passphrase — back up one shard each into the sink's repository, and the coordinator commits. The next
 * backup's workers take their unchanged files from their own shard's parent; a prune between the steps and the commit
 * is refused; a commit by another engine, or with a tree object missing, commits nothing.
 */
class DedupStepBackupTest {
    private static final String PASS = "step dedup passphrase";
    private static final Retention KEEP_ALL = Retention.builder().keepLast(1000).build();
    @TempDir
    Path tmp;

    private static SgBackup engine(Path sink, boolean dedup) {
        return SgBackup.builder().sink(Sinks.local(sink)).dedup(dedup).encryption(Encryption.passphrase(PASS)).build();
    }

    /** A gitserver-like shard: 40 small text files in four directories and one 3 MiB pack. */
    private Path shard(String name, long seed) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Random r = new Random(seed);
        for (int i = 0; i < 40; i++) {
            Path f = dir.resolve("github.com/acme/repo" + i % 4 + "/file" + i + ".go");
            Files.createDirectories(f.getParent());
            StringBuilder sb = new StringBuilder();
            for (int l = 0; l < 200 + r.nextInt(200); l++) {
                sb.append("func f").append(r.nextInt()).append("() { return ").append(r.nextLong()).append(" }\n");
            }
            Files.writeString(f, sb);
        }
        byte[] pack = new byte[3 << 20];
        r.nextBytes(pack);
        Files.write(dir.resolve("github.com/acme/repo0/objects.pack"), pack);
        return dir;
    }

    /** Every regular file under {@code dir}, by relative path, with its bytes. */
    private static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    private static List<String> keys(Path sink, String prefix) throws Exception {
        try (BackupSink s = Sinks.local(sink)) {
            return s.listAll(prefix).map(ObjectInfo::key).sorted().toList();
        }
    }

    /** Each shard's step on its own engine, all at once, as Jobs run. */
    private static List<StepResult> steps(Path sink, String id, Map<String, Path> shards) throws Exception {
        List<CompletableFuture<StepResult>> running = new ArrayList<>();
        int ordinal = 0;
        for (Map.Entry<String, Path> e : shards.entrySet()) {
            int o = ++ordinal;
            running.add(CompletableFuture.supplyAsync(() -> {
                try (SgBackup worker = engine(sink, true)) {
                    return worker.backupStep(id, o, Stores.directory(e.getKey(), e.getValue()));
                }
            }));
        }
        List<StepResult> out = new ArrayList<>();
        for (CompletableFuture<StepResult> f : running) {
            out.add(f.get());
        }
        return out;
    }

    /** A new backup id (ids of one second differ in their random suffix; no step here depends on their order). */
    private static String newId() {
        return KubernetesManifests.newBackupId(Instant.now());
    }

    private static StoreBackup store(Manifest m, String name) {
        return m.stores().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private void assertRestores(SgBackup reader, String id, String store, Map<String, byte[]> expected) throws Exception {
        Path into = Files.createTempDirectory(tmp, "restored-" + store);
        reader.restore(id, RestoreOptions.defaults(), Stores.directory(store, into));
        Map<String, byte[]> got = files(into);
        assertThat(got.keySet()).isEqualTo(expected.keySet());
        expected.forEach((k, v) -> assertThat(got.get(k)).as(id + " " + store + " " + k).isEqualTo(v));
    }

    @Test
    void workersMakeADeduplicatedBackupAndTheNextOneTakesEachShardsUnchangedFilesFromItsParent() throws Exception {
        Path sink = tmp.resolve("sink");
        Map<String, Path> shards = new LinkedHashMap<>();
        shards.put("gitserver-0", shard("shard0", 1));
        shards.put("gitserver-1", shard("shard1", 2));
        List<String> stores = List.copyOf(shards.keySet());
        Thread.sleep(DedupFileReuseTest.RACY_MILLIS); // a file changed in the last seconds is read again by the next backup

        String b1 = newId();
        SgBackup coordinator = engine(sink, true);
        coordinator.beginStepBackup(b1); // a new sink: the repository is created here, before any worker
        assertThat(keys(sink, "dedup/")).anyMatch(k -> k.startsWith("dedup/keys/"));
        assertThat(keys(sink, SinkLock.PREFIX)).as("the backup's lease").hasSize(1);
        List<StepResult> first = steps(sink, b1, shards);
        assertThat(first).allMatch(r -> r.status() == StepResult.Status.COMPLETED);
        RunResult r1 = coordinator.commitStepBackup(b1, Instant.now(), Scope.ALL, stores);
        assertThat(r1.committed()).isTrue();
        // a step's stored bytes are its trees and its packs: about the shard's 3 MiB pack, not the trees' few bytes
        assertThat(r1.steps()).allMatch(s -> s.storedBytes() > 3_000_000);
        assertThat(keys(sink, SinkLock.PREFIX)).as("every lease released").isEmpty();
        assertThat(keys(sink, "data/")).as("no step record or key object left; a dedup backup has no data objects").isEmpty();

        SgBackup reader = engine(sink, false);
        Manifest m1 = reader.show(b1);
        assertThat(m1.storeNames()).containsExactlyElementsOf(stores);
        assertThat(m1.stores()).allSatisfy(s -> assertThat(s.artifacts()).allMatch(ArtifactInfo::deduplicated));
        assertThat(store(m1, "gitserver-0").properties()).containsEntry("files", "41").containsEntry("unchanged", "0");
        assertThat(reader.verify(b1, VerifyOptions.readData()).ok()).isTrue();
        for (String s : stores) {
            assertRestores(reader, b1, s, files(shards.get(s)));
        }

        // one file of shard 0 edited; shard 1 untouched
        Path edited = shards.get("gitserver-0").resolve("github.com/acme/repo1/file5.go");
        Files.writeString(edited, Files.readString(edited) + "// edited\n");
        String b2 = newId();
        coordinator.beginStepBackup(b2);
        steps(sink, b2, shards);
        assertThat(coordinator.commitStepBackup(b2, Instant.now(), Scope.ALL, stores).committed()).isTrue();
        Manifest m2 = reader.show(b2);
        assertThat(store(m2, "gitserver-0").properties()).containsEntry("files", "41").containsEntry("unchanged", "40");
        assertThat(store(m2, "gitserver-1").properties()).containsEntry("unchanged", "41");
        for (String s : stores) {
            ArtifactInfo.Chunks c = store(m2, s).artifacts().get(0).chunks();
            // the 3 MiB pack and every unchanged file are reused; what is new is one small file and its directory's table
            assertThat(c.newBytes()).as(s).isLessThan(100_000);
            assertThat(c.reusedBytes()).as(s).isGreaterThan(3_000_000);
        }
        assertThat(reader.verify(b2, VerifyOptions.readData()).ok()).isTrue();
        for (String s : stores) {
            assertRestores(reader, b2, s, files(shards.get(s)));
        }
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();
    }

    @Test
    void pruneCannotCollectTheStepsChunksBeforeTheCommitAndCollectsThemOnceTheBackupIsAbandoned() throws Exception {
        Path sink = tmp.resolve("sink");
        Map<String, Path> shards = Map.of("gitserver-0", shard("shard0", 3));
        Map<String, byte[]> content = files(shards.get("gitserver-0"));
        SgBackup coordinator = engine(sink, true);
        SgBackup other = engine(sink, false);

        String b1 = newId();
        coordinator.beginStepBackup(b1);
        steps(sink, b1, shards);
        // the steps' packs belong to no committed backup yet: with a grace period of 0 only the lease keeps them
        assertThatThrownBy(() -> other.prune(KEEP_ALL, Duration.ZERO, false))
                .isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("backup " + b1 + " (shared");
        assertThat(other.prune(KEEP_ALL, Duration.ZERO, true).packsDeleted()).as("a dry run sees them as garbage").isPositive();
        assertThat(coordinator.commitStepBackup(b1, Instant.now(), Scope.ALL, List.of("gitserver-0")).committed()).isTrue();
        PruneResult after = other.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(after.packsDeleted()).isZero();
        assertThat(other.verify(b1, VerifyOptions.readData()).ok()).isTrue();
        assertRestores(other, b1, "gitserver-0", content);

        // a coordinator that lost its lease (suspended past it: its lock object expired and was removed) while a
        // prune runs: the step fails at once, naming the prune, and records nothing; the commit is refused
        String b2 = newId();
        coordinator.beginStepBackup(b2);
        List<String> lease = keys(sink, SinkLock.PREFIX);
        assertThat(lease).hasSize(1);
        Files.delete(sink.resolve(lease.get(0)));
        try (BackupSink s = Sinks.local(sink); SinkLock held = SinkLock.exclusive(s, "prune elsewhere")) {
            assertThatThrownBy(() -> steps(sink, b2, shards)).hasMessageContaining("prune elsewhere (exclusive");
        }
        assertThat(keys(sink, "data/")).containsExactly("data/" + b2 + "/_steps/key.json", "data/" + b2 + "/_steps/lease.json");
        assertThatThrownBy(() -> coordinator.commitStepBackup(b2, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .hasMessageContaining("left no record");
        assertThat(coordinator.abandonStepBackup(b2)).isEqualTo(2);
        assertThat(keys(sink, "data/")).isEmpty();

        // a worker whose coordinator's lease is gone (stopped, or lost it) records nothing, prune or not
        String gone = newId();
        coordinator.beginStepBackup(gone);
        List<String> coordinatorLock = keys(sink, SinkLock.PREFIX);
        Files.delete(sink.resolve(coordinatorLock.get(0)));
        assertThatThrownBy(() -> steps(sink, gone, shards)).hasMessageContaining("coordinator (" + coordinatorLock.get(0) + ") is gone");
        assertThat(coordinator.abandonStepBackup(gone)).isEqualTo(2); // its wrapped key and lease marker
        // and a deduplicated step of a backup its coordinator did not begin as one is refused
        String full = newId();
        try (SgBackup plain = SgBackup.builder().sink(Sinks.local(sink)).build();
             SgBackup dedupWorker = SgBackup.builder().sink(Sinks.local(sink)).dedup(true).build()) {
            plain.beginStepBackup(full);
            assertThatThrownBy(() -> dedupWorker.backupStep(full, 1, Stores.directory("gitserver-0", shards.get("gitserver-0"))))
                    .hasMessageContaining("was not begun as a deduplicated backup");
        }
        assertThat(keys(sink, "data/")).isEmpty();
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();

        // a backup abandoned after its steps: its packs are garbage, and prune takes them once its lease is gone
        Files.write(shards.get("gitserver-0").resolve("new.bin"), GcTest.random(2 << 20, 4));
        String b3 = newId();
        coordinator.beginStepBackup(b3);
        steps(sink, b3, shards);
        assertThat(coordinator.abandonStepBackup(b3)).isPositive(); // its record
        PruneResult collected = other.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(collected.packsDeleted()).isPositive();
        assertThat(other.verify(b1, VerifyOptions.readData()).ok()).isTrue();
        assertRestores(other, b1, "gitserver-0", content);
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();
    }

    @Test
    void aCommitByAnotherEngineOrWithATreeMissingCommitsNothing() throws Exception {
        Path sink = tmp.resolve("sink");
        Map<String, Path> shards = Map.of("gitserver-0", shard("shard0", 5));
        SgBackup coordinator = engine(sink, true);
        String id = newId();
        coordinator.beginStepBackup(id);
        steps(sink, id, shards);
        assertThatThrownBy(() -> engine(sink, true).commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("this engine did not begin it")
                .hasMessageContaining("nothing was committed");
        assertThat(keys(sink, "manifests/")).isEmpty();

        List<String> trees = keys(sink, "dedup/trees/");
        assertThat(trees).hasSize(1);
        Path tree = sink.resolve(trees.get(0));
        byte[] bytes = Files.readAllBytes(tree);
        Files.delete(tree);
        assertThatThrownBy(() -> coordinator.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("tree object " + trees.get(0))
                .hasMessageContaining("is missing from the sink");
        Files.write(tree, bytes);
        assertThat(keys(sink, "manifests/")).isEmpty();
        // the failed commits kept the lease: the backup can still be committed by its coordinator
        assertThat(keys(sink, SinkLock.PREFIX)).hasSize(1);
        assertThat(coordinator.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")).committed()).isTrue();
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();

        // begun once only: a second begin would take a new lease the steps did not run under
        String twice = newId();
        coordinator.beginStepBackup(twice);
        assertThatThrownBy(() -> coordinator.beginStepBackup(twice)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("was begun already");
        assertThatThrownBy(() -> engine(sink, true).beginStepBackup(twice)).hasMessageContaining("was begun already");
        coordinator.abandonStepBackup(twice);

        // a coordinator that lost its lease before the commit: the commit is refused, and abandoning ends the lease
        String lost = newId();
        coordinator.beginStepBackup(lost);
        steps(sink, lost, shards);
        List<String> lock = keys(sink, SinkLock.PREFIX);
        assertThat(lock).hasSize(1);
        Files.delete(sink.resolve(lock.get(0))); // as a prune does with a lock it finds stale
        assertThatThrownBy(() -> coordinator.commitStepBackup(lost, Instant.now(), Scope.ALL, List.of("gitserver-0")))
                .isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("was lost");
        assertThat(keys(sink, "manifests/")).hasSize(1);
        assertThat(coordinator.abandonStepBackup(lost)).isPositive();
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();
        assertThat(keys(sink, "data/")).isEmpty();

        // a coordinator closed before its commit ends the lease of the backup it began
        String next = newId();
        coordinator.beginStepBackup(next);
        assertThat(keys(sink, SinkLock.PREFIX)).hasSize(1);
        coordinator.close();
        assertThat(keys(sink, SinkLock.PREFIX)).isEmpty();
    }
}
