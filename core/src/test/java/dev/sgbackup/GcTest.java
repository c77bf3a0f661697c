package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.dedup.RepoCheck;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.SinkLock;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Garbage collection of the deduplicated repository through the engine: prune after delete, on real sinks. */
class GcTest {
    private static final Retention KEEP_ALL = Retention.builder().keepLast(1000).build();

    @TempDir
    Path tmp;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static SgBackup engine(BackupSink sink, Encryption enc) {
        return SgBackup.builder().sink(sink).dedup(true).encryption(enc).build();
    }

    /** Backs up {@code artifacts} as store "s"; returns the backup id. */
    static String backup(SgBackup sg, Map<String, byte[]> artifacts) {
        BytesStore s = new BytesStore("s");
        artifacts.forEach(s::with);
        RunResult r = sg.backup(s);
        assertThat(r.committed()).as(r.toString()).isTrue();
        return r.backupId();
    }

    /** Restores a backup and returns what store "s" received. */
    static Map<String, byte[]> restore(SgBackup sg, String id) {
        BytesStore target = new BytesStore("s");
        sg.restore(id, RestoreOptions.defaults(), target);
        return target.restored;
    }

    static void assertRestores(SgBackup sg, String id, Map<String, byte[]> expected) {
        assertThat(sg.verify(id).ok()).as("verify " + id).isTrue();
        Map<String, byte[]> got = restore(sg, id);
        assertThat(got.keySet()).isEqualTo(expected.keySet());
        expected.forEach((k, v) -> assertThat(got.get(k)).as(id + " " + k).isEqualTo(v));
    }

    private static Map<String, String> snapshot(BackupSink sink) {
        return sink.listAll("").collect(Collectors.toMap(ObjectInfo::key, o -> o.size() + "@" + o.lastModified(), (a, b) -> a, TreeMap::new));
    }

    private static Map<String, byte[]> map(Object... kv) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (byte[]) kv[i + 1]);
        }
        return m;
    }

    @Test
    void pruneAfterDeleteFreesUnusedPacksRepacksMostlyGarbageOnesAndEveryOtherBackupStillRestores() throws Exception {
        BackupSink sink = Sinks.local(tmp.resolve("sink"));
        SgBackup sg = engine(sink, null);
        byte[] shared = random(1 << 20, 1);
        // b1: a small shared part and a big part of its own, in one pack: once b1 goes, that pack is mostly garbage
        Map<String, byte[]> d1 = map("shared", shared, "own", random(6 << 20, 2));
        // b2: the shared part and a pack of its own that b2's deletion frees entirely
        Map<String, byte[]> d2 = map("shared", shared, "two", random(2 << 20, 3));
        Map<String, byte[]> d3 = map("shared", shared, "three", random(1 << 20, 4));
        String b1 = backup(sg, d1);
        String b2 = backup(sg, d2);
        String b3 = backup(sg, d3);
        Set<String> packsBefore = RepoCheck.packs(sink);
        assertThat(packsBefore).hasSize(3);

        // nothing is garbage yet
        PruneResult none = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(List.of(none.packsDeleted(), none.packsRepacked())).containsExactly(0, 0);
        assertThat(none.bytesFreed()).isZero();
        assertThat(RepoCheck.packs(sink)).isEqualTo(packsBefore);

        assertThat(sg.delete(b1)).as("a dedup backup's delete frees its manifest and trees, not packs").isPositive().isLessThan(100_000);
        assertThat(sg.delete(b2)).isPositive().isLessThan(100_000);
        Map<String, String> before = snapshot(sink);
        long bytesBefore = RepoCheck.packAndIndexBytes(sink);
        PruneResult dry = sg.prune(KEEP_ALL, Duration.ZERO, true);
        assertThat(snapshot(sink)).as("a dry run changes nothing").isEqualTo(before);
        PruneResult real = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(real.packsDeleted()).as(real.toString()).isEqualTo(1);
        assertThat(real.packsRepacked()).as(real.toString()).isEqualTo(1);
        assertThat(real.bytesFreed()).isGreaterThan(7L << 20);
        assertThat(List.of(dry.packsDeleted(), dry.packsRepacked(), dry.bytesFreed()))
                .as("the dry run reported what the real run then did")
                .containsExactly(real.packsDeleted(), real.packsRepacked(), real.bytesFreed());
        assertThat(bytesBefore - RepoCheck.packAndIndexBytes(sink)).as("bytesFreed is what left the sink").isEqualTo(real.bytesFreed());
        Set<String> packsAfter = RepoCheck.packs(sink);
        assertThat(packsAfter).hasSize(2); // b3's own pack, and the live part of b1's in a new one
        assertThat(packsAfter).doesNotContainAnyElementsOf(packsBefore.stream().filter(p -> !packsAfter.contains(p)).toList());
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).isEmpty();
        assertThat(sink.listAll("dedup/trees/").count()).as("only b3's two trees").isEqualTo(2);
        assertRestores(sg, b3, d3);

        // a second prune finds nothing more, and a new backup still dedups against the repacked chunks
        PruneResult again = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(List.of(again.packsDeleted(), again.packsRepacked())).containsExactly(0, 0);
        String b4 = backup(sg, d1);
        assertThat(sg.show(b4).artifacts().stream().filter(a -> a.name().equals("shared")).findFirst().orElseThrow().chunks().newBytes())
                .isZero();
        assertRestores(sg, b4, d1);
        assertRestores(sg, b3, d3);
    }

    @Test
    void packsYoungerThanTheGracePeriodSurviveAndGoOnceOld() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = engine(sink, null);
        Map<String, byte[]> d1 = map("a", random(2 << 20, 5));
        Map<String, byte[]> d2 = map("b", random(1 << 20, 6));
        String b1 = backup(sg, d1);
        String b2 = backup(sg, d2);
        sg.delete(b1);
        Set<String> packs = RepoCheck.packs(sink);
        PruneResult young = sg.prune(KEEP_ALL, Duration.ofHours(1), false);
        assertThat(List.of(young.packsDeleted(), young.packsRepacked())).containsExactly(0, 0);
        assertThat(RepoCheck.packs(sink)).isEqualTo(packs);
        PruneResult old = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(old.packsDeleted()).isEqualTo(1);
        assertThat(RepoCheck.packs(sink)).hasSize(1);
        assertRestores(sg, b2, d2);
    }

    @Test
    void retentionDeletesThenCollectsAndADryRunPredictsIt() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = engine(sink, null);
        String b1 = backup(sg, map("a", random(2 << 20, 7)));
        Map<String, byte[]> d2 = map("b", random(1 << 20, 8));
        String b2 = backup(sg, d2);
        Retention last1 = Retention.builder().keepLast(1).build();
        PruneResult dry = sg.prune(last1, Duration.ZERO, true);
        assertThat(dry.decision().removedIds()).containsExactly(b1);
        assertThat(dry.packsDeleted()).isEqualTo(1);
        PruneResult real = sg.prune(last1, Duration.ZERO, false);
        assertThat(real.deleted()).containsExactly(b1);
        assertThat(List.of(real.packsDeleted(), real.packsRepacked(), real.bytesFreed()))
                .containsExactly(dry.packsDeleted(), dry.packsRepacked(), dry.bytesFreed());
        assertThat(real.toString()).contains("collected: 1 packs deleted, 0 packs repacked, " + real.bytesFreed() + " bytes freed");
        assertRestores(sg, b2, d2);
    }

    @Test
    void encryptedRepositoryRepacksWithoutTheKeyLeakingAndRefusesWithoutThePassphrase() throws Exception {
        BackupSink sink = Sinks.memory();
        Encryption key = Encryption.key(random(32, 9));
        SgBackup sg = engine(sink, key);
        byte[] shared = random(1 << 20, 10);
        String b1 = backup(sg, map("shared", shared, "own", random(5 << 20, 11)));
        Map<String, byte[]> d2 = map("shared", shared);
        String b2 = backup(sg, d2);
        sg.delete(b1);

        // without the key the repository cannot be read: refused, nothing deleted
        Map<String, String> before = snapshot(sink);
        assertThatThrownBy(() -> engine(sink, null).prune(KEEP_ALL, Duration.ZERO, false))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("encrypted");
        assertThat(snapshot(sink).keySet()).isEqualTo(before.keySet());

        PruneResult dry = sg.prune(KEEP_ALL, Duration.ZERO, true);
        PruneResult real = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(real.packsRepacked()).isEqualTo(1);
        assertThat(List.of(real.packsDeleted(), real.packsRepacked(), real.bytesFreed()))
                .containsExactly(dry.packsDeleted(), dry.packsRepacked(), dry.bytesFreed());
        assertThat(RepoCheck.danglingIndexEntries(sink, key)).isEmpty();
        assertRestores(sg, b2, d2);
    }

    /**
     * A writer that lost the race to create the repository and was killed before deleting its key object leaves one that
     * opens with the passphrase but holds another master key: prune removes it (once older than the grace period), and
     * says so as a removed leftover.
     */
    @Test
    void pruneRemovesAKeyObjectLeftByAKilledLoserOfTheCreationRace() throws Exception {
        BackupSink sink = Sinks.memory();
        Encryption pass = Encryption.passphrase("correct horse".toCharArray());
        SgBackup sg = engine(sink, pass);
        Map<String, byte[]> d = map("a", random(1 << 20, 21));
        String b = backup(sg, d);
        // the loser's key object: the same passphrase wrapping a master key of a repository that never came to be
        BackupSink elsewhere = Sinks.memory();
        backup(engine(elsewhere, pass), map("x", random(1000, 22)));
        String lost = elsewhere.listAll("dedup/keys/").findFirst().orElseThrow().key();
        try (var in = elsewhere.read(lost); var o = sink.create(lost)) {
            in.transferTo(o.stream());
            o.commit();
        }
        assertThat(sink.listAll("dedup/keys/").count()).isEqualTo(2);
        assertThat(sg.prune(KEEP_ALL, Duration.ofHours(1), false).lines()).noneMatch(l -> l.contains("dedup/keys/"));
        PruneResult dry = sg.prune(KEEP_ALL, Duration.ZERO, true);
        assertThat(dry.lines()).contains("would remove " + lost);
        PruneResult real = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(real.lines()).contains("removed " + lost);
        assertThat(sink.listAll("dedup/keys/").map(o -> o.key()).toList()).hasSize(1).doesNotContain(lost);
        assertRestores(sg, b, d);
    }

    @Test
    void aBackupThatCannotBeReadStopsThePruneBeforeItDeletesAnything() throws Exception {
        BackupSink sink = Sinks.memory();
        Encryption key = Encryption.key(random(32, 12));
        SgBackup sg = engine(sink, key);
        String b1 = backup(sg, map("a", random(1 << 20, 13)));
        backup(sg, map("b", random(1 << 20, 14)));
        // a backup sealed with another key (as after a passphrase change): prune cannot tell which chunks it uses
        String other = SgBackup.builder().sink(sink).encryption(Encryption.key(random(32, 15))).build()
                .backup(new BytesStore("full").with("x", new byte[10])).backupId();
        sg.delete(b1);
        Map<String, String> before = snapshot(sink);
        assertThatThrownBy(() -> sg.prune(KEEP_ALL, Duration.ZERO, false))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("prune deletes nothing")
                .hasMessageContaining("backup " + other + " cannot be read");
        assertThat(snapshot(sink).keySet()).isEqualTo(before.keySet());
    }

    @Test
    void pruneRefusesWhileABackupHoldsItsLeaseAndSaysWho() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup sg = engine(sink, null);
        String b1 = backup(sg, map("a", random(1 << 20, 16)));
        backup(sg, map("b", random(1 << 20, 17)));
        sg.delete(b1);
        Set<String> packs = RepoCheck.packs(sink);
        try (SinkLock held = SinkLock.shared(sink, "backup 20261202T000000Z-000000")) {
            assertThatThrownBy(() -> sg.prune(KEEP_ALL, Duration.ZERO, false))
                    .isInstanceOf(SinkLock.LockedException.class)
                    .hasMessageContaining("backup 20261202T000000Z-000000 (shared, pid " + ProcessHandle.current().pid());
            assertThat(RepoCheck.packs(sink)).isEqualTo(packs);
            // a dry run takes no lease
            assertThat(sg.prune(KEEP_ALL, Duration.ZERO, true).packsDeleted()).isEqualTo(1);
        }
        try (SinkLock held = SinkLock.exclusive(sink, "prune elsewhere")) {
            assertThatThrownBy(() -> backup(sg, map("c", random(1000, 18))))
                    .isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("prune elsewhere (exclusive");
        }
        assertThat(sg.prune(KEEP_ALL, Duration.ZERO, false).packsDeleted()).isEqualTo(1);
        assertThat(sink.listAll(SinkLock.PREFIX).toList()).as("every lease released").isEmpty();
    }

    /**
     * With a lock wait, a backup that meets a prune's lease and a prune that meets a backup's try again and go on once
     * the other's lease ends; a lease that does not end fails the run after the wait, saying how long it waited;
     * without a wait the run fails at once, as before.
     */
    @Test
    void withALockWaitBackupAndPruneGoOnOnceTheOtherLeaseEnds() throws Exception {
        BackupSink sink = Sinks.memory();
        SgBackup patient = SgBackup.builder().sink(sink).dedup(true).retryLock(Duration.ofSeconds(30)).build();
        assertThat(patient.toString()).contains("retry lock 30s");
        String b1 = backup(patient, map("a", random(1 << 20, 26)));
        backup(patient, map("b", random(1 << 20, 27)));
        patient.delete(b1);

        java.util.concurrent.ScheduledExecutorService later = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            SinkLock prune = SinkLock.exclusive(sink, "prune elsewhere");
            later.schedule(prune::close, 1500, java.util.concurrent.TimeUnit.MILLISECONDS);
            long t0 = System.nanoTime();
            String b3 = backup(patient, map("c", random(1000, 28)));
            assertThat(System.nanoTime() - t0).as("the backup waited for the prune's lease").isGreaterThan(1_400_000_000L);
            assertThat(patient.verify(b3).ok()).isTrue();

            SinkLock backup = SinkLock.shared(sink, "backup 20261202T000000Z-000001");
            later.schedule(backup::close, 1500, java.util.concurrent.TimeUnit.MILLISECONDS);
            t0 = System.nanoTime();
            assertThat(patient.prune(KEEP_ALL, Duration.ZERO, false).packsDeleted()).isEqualTo(1);
            assertThat(System.nanoTime() - t0).as("the prune waited for the backup's lease").isGreaterThan(1_400_000_000L);
        } finally {
            later.shutdownNow();
        }

        try (SinkLock held = SinkLock.exclusive(sink, "prune that never ends")) {
            SgBackup brief = patient.toBuilder().retryLock(Duration.ofSeconds(2)).build();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> backup(brief, map("d", random(1000, 29))))
                    .isInstanceOf(SinkLock.LockedException.class)
                    .hasMessageContaining("prune that never ends (exclusive")
                    .hasMessageContaining("Waited 2s for it (--retry-lock");
            assertThat(System.nanoTime() - t0).as("it tried until the wait was over").isGreaterThan(1_900_000_000L);

            SgBackup hasty = patient.toBuilder().retryLock(Duration.ZERO).build();
            assertThatThrownBy(() -> backup(hasty, map("d", random(1000, 29))))
                    .isInstanceOf(SinkLock.LockedException.class)
                    .hasMessageContaining("prune that never ends (exclusive")
                    .hasMessageNotContaining("Waited");
        }
        assertThatThrownBy(() -> SgBackup.builder().retryLock(Duration.ofSeconds(-1)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("zero or positive");
        assertThat(sink.listAll(SinkLock.PREFIX).toList()).as("every lease released").isEmpty();
        assertThat(patient.list()).hasSize(2);
    }
}
