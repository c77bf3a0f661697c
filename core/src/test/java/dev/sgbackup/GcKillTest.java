package dev.sgbackup;

import static dev.sgbackup.GcTest.assertRestores;
import static dev.sgbackup.GcTest.backup;
import static dev.sgbackup.GcTest.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.dedup.RepoCheck;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.FaultySink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.SinkLock;
import dev.sgbackup.sink.Sinks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Kill points: a backup, then a prune, fails at its Nth sink operation, for every N until it completes. After each:
 * every committed backup verifies, no index entry names a missing pack, and a following backup and prune succeed and
 * leave every committed backup restorable byte for byte.
 */
class GcKillTest {
    private static final Retention KEEP_ALL = Retention.builder().keepLast(1000).build();
    private static final byte[] SHARED = random(600_000, 21);

    private static Map<String, byte[]> data(int n) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("shared", SHARED);
        m.put("own", random(900_000 + n * 1000, 100 + n));
        return m;
    }

    /**
     * What a killed process leaves behind includes its lock object, which others ignore only once the lease has
     * expired (35 minutes). The test does not wait: it removes them, as expiry would. Returns how many there were.
     */
    private static int expireLeases(BackupSink sink) throws Exception {
        List<String> locks = sink.listAll(SinkLock.PREFIX).map(ObjectInfo::key).toList();
        sink.deleteAll(locks);
        return locks.size();
    }

    /** The invariants after a kill, then recovery: another backup, a prune, and every committed backup restores. */
    private static void checkAndRecover(BackupSink sink, Map<String, Map<String, byte[]>> committed, int n, String what) throws Exception {
        SgBackup sg = GcTest.engine(sink, null);
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).as(what + " killed at " + n).isEmpty();
        for (var b : sg.list()) {
            assertThat(committed).as(what + " killed at " + n + ": unexpected committed backup").containsKey(b.id());
            assertThat(sg.verify(b.id()).ok()).as(what + " killed at " + n + ": " + b.id() + " verifies").isTrue();
        }
        expireLeases(sink);
        Map<String, byte[]> d = data(1000 + n);
        committed.put(backup(sg, d), d);
        PruneResult p = sg.prune(KEEP_ALL, Duration.ZERO, false);
        assertThat(p.ok()).isTrue();
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).isEmpty();
        for (var b : committed.entrySet()) {
            assertRestores(sg, b.getKey(), b.getValue());
        }
        // nothing left to collect: whatever the kill left behind is gone
        PruneResult again = sg.prune(KEEP_ALL, Duration.ZERO, true);
        assertThat(List.of(again.packsDeleted(), again.packsRepacked())).as(what + " killed at " + n).containsExactly(0, 0);
    }

    @Test
    void aBackupKilledAtAnySinkOperationCommitsNothingBrokenAndTheNextBackupAndPruneRecover() throws Exception {
        int kills = 0;
        for (int n = 1; ; n++) {
            BackupSink inner = Sinks.memory();
            Map<String, Map<String, byte[]>> committed = new LinkedHashMap<>();
            SgBackup plain = GcTest.engine(inner, null);
            Map<String, byte[]> d0 = data(0);
            committed.put(backup(plain, d0), d0);
            FaultySink faulty = new FaultySink(inner).failAt(n);
            SgBackup sg = GcTest.engine(faulty, null);
            Map<String, byte[]> d = data(n);
            boolean done;
            try {
                RunResult r = sg.backup(new BytesStore("s").with("shared", d.get("shared")).with("own", d.get("own")));
                done = r.committed();
                committed.put(r.backupId(), d);
            } catch (RuntimeException e) {
                done = false;
                // a fault in the manifest's commit may land after the object is visible; then it is committed
                for (var b : GcTest.engine(inner, null).list()) {
                    committed.putIfAbsent(b.id(), d);
                }
            }
            checkAndRecover(inner, committed, n, "backup");
            if (done && !faulty.fired()) {
                System.out.println("backup: " + kills + " kill points, then a complete run of " + faulty.ops() + " sink operations");
                break;
            }
            kills++;
        }
        assertThat(kills).isGreaterThan(10);
    }

    @Test
    void aPruneKilledAtAnySinkOperationLeavesNoIndexEntryWithoutItsPackAndTheNextPruneFinishes() throws Exception {
        int kills = 0;
        for (int n = 1; ; n++) {
            BackupSink inner = Sinks.memory();
            SgBackup plain = GcTest.engine(inner, null);
            Map<String, Map<String, byte[]>> committed = new LinkedHashMap<>();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Map<String, byte[]> d = data(i);
                ids.add(backup(plain, d));
                committed.put(ids.get(i), d);
            }
            // garbage of both kinds: b0's own pack is unused, b1's own part dies with it (its pack keeps the shared part)
            plain.delete(ids.get(0));
            committed.remove(ids.get(0));
            FaultySink faulty = new FaultySink(inner).failAt(n);
            SgBackup sg = GcTest.engine(faulty, null);
            boolean done;
            Retention keep2 = Retention.builder().keepLast(2).build();
            PruneResult r = null;
            try {
                r = sg.prune(keep2, Duration.ZERO, false);
                done = r.ok();
            } catch (RuntimeException e) {
                done = false;
            }
            // b1 may have been deleted by the retention part before the kill
            committed.keySet().retainAll(plain.list().stream().map(b -> b.id()).toList());
            checkAndRecover(inner, committed, n, "prune");
            if (done && !faulty.fired()) {
                // the uninterrupted prune did both kinds of work, so every kill point above interrupted them
                assertThat(r.packsRepacked()).as(r.toString()).isEqualTo(1);
                assertThat(r.packsDeleted()).as(r.toString()).isEqualTo(1);
                System.out.println("prune: " + kills + " kill points, then a complete run of " + faulty.ops() + " sink operations: "
                        + r.collectLine());
                break;
            }
            kills++;
        }
        assertThat(kills).isGreaterThan(10);
    }
}
