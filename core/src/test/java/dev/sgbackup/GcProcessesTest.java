package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.dedup.RepoCheck;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkLock;
import dev.sgbackup.sink.Sinks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two deduplicated backups and a prune (grace period zero, so only the lease protocol protects the backups' chunks)
 * in three JVMs on one local sink directory, each looping. Afterwards every committed backup verifies and restores
 * byte for byte, and no index entry names a missing pack.
 */
class GcProcessesTest {
    private static final byte[] SHARED = GcTest.random(700_000, 31);

    @TempDir
    Path tmp;

    /** What worker {@code tag}'s round {@code r} backs up: a part every backup shares, and one of its own. */
    static Map<String, byte[]> data(String tag, int r) {
        long seed = tag.hashCode() * 1000L + r;
        return Map.of("shared", SHARED, "own-" + seed, GcTest.random(500_000, seed));
    }

    @Test
    void twoBackupsAndAPruneInSeparateProcessesLeaveEveryCommittedBackupRestorable() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> ps = new ArrayList<>();
        for (String role : List.of("backup:a", "backup:b", "prune:p")) {
            ps.add(new ProcessBuilder(java, "-Xshare:auto", "-cp", System.getProperty("java.class.path"), Worker.class.getName(),
                    sinkDir.toString(), role).redirectErrorStream(true).start());
        }
        List<String> outs = new ArrayList<>();
        for (Process p : ps) {
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            outs.add(out);
        }
        String all = String.join("\n", outs);
        System.out.println(all);
        assertThat(outs.get(0)).contains("committed");
        assertThat(outs.get(1)).contains("committed");
        assertThat(outs.get(2)).as("the prune ran at least once between backups").contains("pruned");

        BackupSink sink = Sinks.local(sinkDir);
        SgBackup sg = GcTest.engine(sink, null);
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).isEmpty();
        List<BackupSummary> left = sg.list();
        assertThat(left).isNotEmpty();
        for (BackupSummary b : left) {
            restoresAsWritten(sg, b.id());
        }
        // one more prune, alone: it finds the sink consistent and leaves it so
        PruneResult last = sg.prune(Retention.builder().keepLast(1000).build(), Duration.ZERO, false);
        assertThat(last.ok()).isTrue();
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).isEmpty();
        for (BackupSummary b : left) {
            restoresAsWritten(sg, b.id());
        }
        assertThat(sink.listAll(SinkLock.PREFIX).toList()).as("every lease released").isEmpty();
    }

    private static void restoresAsWritten(SgBackup sg, String id) {
        Map<String, byte[]> got = GcTest.restore(sg, id);
        assertThat(sg.verify(id).ok()).as("verify " + id).isTrue();
        assertThat(got).containsKey("shared");
        assertThat(got.get("shared")).isEqualTo(SHARED);
        String own = got.keySet().stream().filter(k -> k.startsWith("own-")).findFirst().orElseThrow();
        assertThat(got.get(own)).as(id + " " + own).isEqualTo(GcTest.random(500_000, Long.parseLong(own.substring(4))));
    }

    /**
     * One process: {@code SINK_DIR backup:TAG} (6 backups) or {@code SINK_DIR prune:TAG} (once 4 backups are committed,
     * prunes keeping the last 3 until 3 prunes ran, retrying when a backup's lease refuses it).
     */
    public static final class Worker {
        public static void main(String[] args) throws Exception {
            BackupSink sink = Sinks.local(Path.of(args[0]));
            String[] role = args[1].split(":");
            SgBackup sg = GcTest.engine(sink, null);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int done = 0;
            int locked = 0;
            int lockWrites = 0;
            int goal = role[0].equals("backup") ? 6 : 3;
            while (done < goal && System.nanoTime() < deadline) {
                try {
                    if (role[0].equals("backup")) {
                        BytesStore s = new BytesStore("s");
                        data(role[1], done).forEach(s::with);
                        RunResult r = sg.backup(s);
                        System.out.println("committed " + r.backupId());
                    } else if (sg.list().size() < 4) {
                        Thread.sleep(50); // prune while the backups run, once there is something to delete
                        continue;
                    } else {
                        PruneResult r = sg.prune(Retention.builder().keepLast(3).build(), Duration.ZERO, false);
                        System.out.println("pruned: deleted " + r.deleted() + ", " + r.collectLine());
                    }
                    done++;
                    Thread.sleep(150);
                } catch (SinkLock.LockedException e) {
                    locked++;
                    Thread.sleep(50);
                } catch (dev.sgbackup.run.SinkException e) {
                    if (!e.getMessage().startsWith("cannot take a lock")) {
                        throw e;
                    }
                    // with a grace period of 0, the prune's removal of unfinished uploads may take the temp file of a
                    // lock object being written: the backup then stops before it has done anything, and tries again
                    System.out.println("lock write lost: " + e.getMessage());
                    lockWrites++;
                } catch (dev.sgbackup.run.CheckFailedException e) {
                    if (!e.getMessage().contains("not writable") || !e.getMessage().contains(".sgbackup-tmp/probes+")) {
                        throw e;
                    }
                    // the same race on the pre-check's write probe, whose temp file the prune removed before its
                    // rename: the backup stops before it has written anything, and tries again
                    System.out.println("probe write lost: " + e.getMessage());
                    lockWrites++;
                }
            }
            System.out.println(args[1] + ": " + done + " done, " + locked + " refused by a lease, " + lockWrites + " lock or probe writes lost");
            System.exit(done == goal ? 0 : 1);
        }
    }
}
