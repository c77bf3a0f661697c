package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.dedup.DedupRepository;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two deduplicated backups and a prune (grace period zero, so only the lease protocol protects the backups' chunks)
 * in three JVMs on one sink, each looping. Afterwards every committed backup verifies and restores byte for byte, and
 * no index entry names a missing pack. Here on a local sink directory; the S3 and GCS adapters run the same workers
 * on S3Proxy and on the GCS fake ({@link #runWorkersAndCheck}).
 */
public class GcProcessesTest {
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
        runWorkersAndCheck(Sinks.local(sinkDir), sinkDir.toString(), Map.of());
    }

    /**
     * Runs two backup workers and a prune worker, each in its own JVM, on the sink {@code sinkArg} names (a directory,
     * or a sink URI that {@code env} completes, e.g. with an endpoint's credentials), then checks the result through
     * {@code sink}, the same sink seen from this JVM: a prune ran while the backups went on (one committed after it),
     * every backup left verifies and restores byte for byte, no index entry names a missing pack, no lease is left.
     */
    public static void runWorkersAndCheck(BackupSink sink, String sinkArg, Map<String, String> env) throws Exception {
        Path done = java.nio.file.Files.createTempFile("sgbackup-gc-workers", ".done");
        java.nio.file.Files.delete(done); // created when both backup workers have ended: the prune worker stops then
        List<Process> ps = new ArrayList<>();
        List<java.util.concurrent.CompletableFuture<String>> outputs = new ArrayList<>();
        for (String role : List.of("backup:a", "backup:b", "prune:p")) {
            Process p = worker(sinkArg, role, done.toString(), env).start();
            ps.add(p);
            outputs.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes());
                } catch (java.io.IOException e) {
                    return "cannot read the output: " + e;
                }
            }));
        }
        for (Process p : ps.subList(0, 2)) {
            assertThat(p.waitFor(150, TimeUnit.SECONDS)).isTrue();
        }
        java.nio.file.Files.createFile(done);
        assertThat(ps.get(2).waitFor(150, TimeUnit.SECONDS)).isTrue();
        java.nio.file.Files.delete(done);
        java.nio.file.Files.deleteIfExists(Worker.prunedMarker(done));
        List<String> outs = new ArrayList<>();
        for (var o : outputs) {
            outs.add(o.get(10, TimeUnit.SECONDS));
        }
        String all = String.join("\n", outs);
        System.out.println(all);
        for (Process p : ps) {
            assertThat(p.exitValue()).as(all).isZero();
        }
        assertThat(outs.get(0)).contains("committed");
        assertThat(outs.get(1)).contains("committed");
        assertThat(outs.get(2)).contains("pruned");
        // the first prune came before the last commit: the prune ran while a backup worker was still going
        java.time.LocalTime firstPrune = times(outs.get(2), "pruned").get(0);
        java.time.LocalTime lastCommit = java.util.stream.Stream.concat(times(outs.get(0), "committed").stream(),
                times(outs.get(1), "committed").stream()).max(java.util.Comparator.naturalOrder()).orElseThrow();
        assertThat(firstPrune).as("a prune between the backups\n" + all).isBefore(lastCommit);

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

    @Test
    void aBackupProcessKilledAtRandomMomentsLeavesTheSinkConsistentAndTheNextBackupAndPruneRecover() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        killBackupsAndCheck(Sinks.local(sinkDir), sinkDir.toString(), Map.of(), 900, -1, 2200, -20);
    }

    /**
     * Kill points as a real crash makes them: a worker JVM backs up in a loop on the sink {@code sinkArg} names and is
     * killed (SIGKILL: no finally block, no abort) at several moments of its life. After each kill, checked through
     * {@code sink}: no index entry names a missing pack, and every committed backup verifies and restores byte for
     * byte. Then the recovery a user would run, once the dead process's lease has expired (the test removes it, as
     * expiry would): a backup and a prune (grace 0) succeed, and a second prune finds nothing more to collect. One kill
     * per entry of {@code delays}: a positive one is a fixed moment in milliseconds after the worker started (JVM
     * start, the repository's opening, or whatever backup runs then); a negative one, -N, comes N - 1 ms after a
     * backup's lease appears once one backup has committed (inside a backup, before its packs and manifest are all
     * written). At least one kill must have landed inside a backup (its lease left behind).
     */
    public static void killBackupsAndCheck(BackupSink sink, String sinkArg, Map<String, String> env, long... delays) throws Exception {
        SgBackup sg = GcTest.engine(sink, null);
        int insideBackup = 0;
        StringBuilder log = new StringBuilder();
        for (int k = 0; k < delays.length; k++) {
            Process p = worker(sinkArg, "loop:k" + k, "-", env).start();
            StringBuffer out = new StringBuffer();
            Thread reader = new Thread(() -> {
                try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        out.append(l).append('\n');
                    }
                } catch (java.io.IOException e) {
                    out.append("cannot read the output: ").append(e);
                }
            });
            reader.start();
            String when;
            if (delays[k] > 0) {
                Thread.sleep(delays[k]);
                when = "after " + delays[k] + " ms";
            } else {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!(out.indexOf(" committed ") >= 0 && sink.listAll(SinkLock.PREFIX).findAny().isPresent())
                        && System.nanoTime() < until && p.isAlive()) {
                    Thread.sleep(pollMillis(sinkArg));
                }
                Thread.sleep(-delays[k] - 1);
                when = (-delays[k] - 1) + " ms after a backup's lease appeared";
            }
            boolean alive = p.isAlive();
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(10_000);
            String what = "killed " + when + " (" + out.toString().lines().filter(l -> l.contains(" committed ")).count()
                    + " backups committed)";
            // the worker backs up until it is killed: one that ended by itself failed
            assertThat(alive).as(what + ": the worker was still running; its output:\n" + out).isTrue();
            int round = k;
            if (checkAndRecover(sink, sg, what, Retention.builder().keepLast(3).build(), () -> {
                BytesStore s = new BytesStore("s");
                data("recover", round).forEach(s::with);
                assertThat(sg.backup(s).committed()).as(what).isTrue();
            }, log)) {
                insideBackup++;
            }
        }
        System.out.print(log);
        assertThat(insideBackup).as("kills inside a backup\n" + log).isPositive();
    }

    @Test
    void aPruneProcessKilledAtRandomMomentsLeavesTheSinkConsistentAndTheNextPruneFinishes() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        killPrunesAndCheck(Sinks.local(sinkDir), sinkDir.toString(), Map.of(), "lease+0", "index changed", "a pack gone");
    }

    /**
     * As {@link #killBackupsAndCheck}, for garbage collection: before each round this JVM makes garbage (three backups,
     * two of them deleted), then a worker JVM prunes once (grace 0) and is killed with SIGKILL at one of
     * {@code moments}: {@code lease+N} (N ms after its exclusive lease appears), {@code index changed} (as soon as an
     * index object is written or deleted: the sweep has begun) or {@code a pack gone} (as soon as the first pack is
     * deleted: the index is rewritten, the packs are going). After each kill no index entry names a missing pack and
     * every committed backup verifies and restores; once the dead lease is removed (as its expiry would), a prune
     * succeeds, and a second one finds nothing more to collect. All kills but one must have landed inside the prune.
     */
    public static void killPrunesAndCheck(BackupSink sink, String sinkArg, Map<String, String> env, String... moments) throws Exception {
        SgBackup sg = GcTest.engine(sink, null);
        int insidePrune = 0;
        StringBuilder log = new StringBuilder();
        for (int k = 0; k < moments.length; k++) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                BytesStore s = new BytesStore("s");
                data("garbage" + k, i).forEach(s::with);
                ids.add(sg.backup(s).backupId());
            }
            sg.delete(ids.get(0));
            sg.delete(ids.get(1));
            Process p = worker(sinkArg, "prune-once:p" + k, "-", env).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Set<String> packsBefore = RepoCheck.packs(sink);
            Set<String> indexBefore = indexObjects(sink);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String moment = moments[k];
            java.util.function.BooleanSupplier reached = switch (moment.startsWith("lease+") ? "lease" : moment) {
                case "lease" -> () -> sink.listAll(SinkLock.PREFIX).findAny().isPresent();
                case "index changed" -> () -> !indexObjects(sink).equals(indexBefore);
                case "a pack gone" -> () -> !RepoCheck.packs(sink).containsAll(packsBefore);
                default -> throw new IllegalArgumentException(moment);
            };
            while (!reached.getAsBoolean() && System.nanoTime() < until && p.isAlive()) {
                Thread.sleep(pollMillis(sinkArg) / 5);
            }
            if (moment.startsWith("lease+")) {
                Thread.sleep(Long.parseLong(moment.substring("lease+".length())));
            }
            boolean alive = p.isAlive();
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String what = "prune killed at '" + moment + "'" + (alive ? "" : " (it had ended)");
            if (checkAndRecover(sink, sg, what, Retention.builder().keepLast(1000).build(), () -> { }, log)) {
                insidePrune++;
            }
        }
        System.out.print(log);
        // the last moment may come so late that the prune ends before the kill (a pack gone on a fast local disk)
        assertThat(insidePrune).as("kills inside a prune\n" + log).isGreaterThanOrEqualTo(Math.max(1, moments.length - 1));
    }

    /**
     * After a kill ({@code what}): no index entry names a missing pack and every committed backup restores as written.
     * Then the recovery: the dead process's lease removed (what its expiry does, 35 minutes on), {@code recover} (a
     * backup, say), a prune keeping {@code keep} with grace 0, the same checks again, and a dry-run prune that finds
     * nothing left to collect. Appends a line to {@code log}; returns whether a lease was left (the kill came inside a
     * run).
     */
    private static boolean checkAndRecover(BackupSink sink, SgBackup sg, String what, Retention keep, Runnable recover,
                                           StringBuilder log) throws Exception {
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).as(what).isEmpty();
        for (BackupSummary b : sg.list()) {
            restoresAsWritten(sg, b.id());
        }
        List<String> leases = sink.listAll(SinkLock.PREFIX).map(o -> o.key()).toList();
        sink.deleteAll(leases);
        recover.run();
        PruneResult pr = sg.prune(keep, Duration.ZERO, false);
        assertThat(pr.ok()).as(what + ": " + pr).isTrue();
        assertThat(RepoCheck.danglingIndexEntries(sink, null)).as(what).isEmpty();
        for (BackupSummary b : sg.list()) {
            restoresAsWritten(sg, b.id());
        }
        PruneResult again = sg.prune(keep, Duration.ZERO, true);
        assertThat(List.of(again.packsDeleted(), again.packsRepacked())).as(what + ": nothing left to collect").containsExactly(0, 0);
        log.append(what).append(leases.isEmpty() ? "" : ", its lease left").append("; then ").append(pr.collectLine()).append('\n');
        return !leases.isEmpty();
    }

    /**
     * A {@link Worker} JVM on the sink {@code sinkArg} names, in role {@code role}, with {@code env} added; its output
     * and errors on one stream. C1 only: a short, small run, for which C2's compilations would cost more than they save.
     */
    private static ProcessBuilder worker(String sinkArg, String role, String done, Map<String, String> env) {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(javaBin, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                Worker.class.getName(), sinkArg, role, done).redirectErrorStream(true);
        pb.environment().putAll(env);
        return pb;
    }

    /** How often a sink is listed while waiting for a moment to kill: a remote one (a URI) less often, not to slow it. */
    private static long pollMillis(String sinkArg) {
        return sinkArg.contains("://") ? 25 : 5;
    }

    private static Set<String> indexObjects(BackupSink sink) {
        return sink.listAll(DedupRepository.ROOT + "/index/").map(o -> o.key()).collect(java.util.stream.Collectors.toSet());
    }

    /** The times of a worker's output lines with {@code word}, in order. */
    private static List<java.time.LocalTime> times(String out, String word) {
        return out.lines().filter(l -> l.contains(" " + word)).map(l -> java.time.LocalTime.parse(l.substring(0, l.indexOf(' ')))).toList();
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
     * One process: {@code SINK backup:TAG DONE} (5 backups, each followed by a pause of 0.2–1 s; after the second, it
     * waits up to 60 s for the prune worker's first prune, so that the two backups' leases are released at once at
     * least there and a prune between backups does not depend on chance: the two workers otherwise overlap so much
     * that a prune polling for a free moment can miss every one) or {@code SINK prune:TAG DONE} (whenever 4 or more
     * backups are committed, prunes keeping the last 3, retrying when a backup's lease refuses it; stops after 3
     * prunes, or once the file DONE exists, i.e. the backups ended). SINK is a directory or a sink URI.
     */
    public static final class Worker {
        /** The file the prune worker creates after its first prune. */
        static Path prunedMarker(Path done) {
            return done.resolveSibling(done.getFileName() + ".pruned");
        }

        public static void main(String[] args) throws Exception {
            BackupSink sink = args[0].contains("://") ? Sinks.open(args[0]) : Sinks.local(Path.of(args[0]));
            String[] role = args[1].split(":");
            Path backupsDone = Path.of(args[2]);
            SgBackup sg = GcTest.engine(sink, null);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(role[0].equals("loop") ? 60 : 120);
            int done = 0;
            int locked = 0;
            int lockWrites = 0;
            if (role[0].equals("loop")) {
                // backs up until killed (at most a minute): data(TAG, round), no pause between backups
                for (int r = 0; System.nanoTime() < deadline; r++) {
                    BytesStore s = new BytesStore("s");
                    data(role[1], r).forEach(s::with);
                    System.out.println(java.time.LocalTime.now() + " committed " + sg.backup(s).backupId());
                }
                System.exit(0);
            }
            if (role[0].equals("prune-once")) {
                PruneResult r = sg.prune(Retention.builder().keepLast(1000).build(), Duration.ZERO, false);
                System.out.println(java.time.LocalTime.now() + " pruned: " + r.collectLine());
                System.exit(0);
            }
            boolean backup = role[0].equals("backup");
            int goal = backup ? 5 : 3;
            Path pruned = prunedMarker(backupsDone);
            while (done < goal && System.nanoTime() < deadline && (backup || !java.nio.file.Files.exists(backupsDone))) {
                try {
                    if (backup) {
                        BytesStore s = new BytesStore("s");
                        data(role[1], done).forEach(s::with);
                        RunResult r = sg.backup(s);
                        System.out.println(java.time.LocalTime.now() + " committed " + r.backupId());
                        done++;
                        Thread.sleep(200 + java.util.concurrent.ThreadLocalRandom.current().nextInt(800));
                        if (done == 2) {
                            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                            while (!java.nio.file.Files.exists(pruned) && System.nanoTime() < until) {
                                Thread.sleep(50);
                            }
                            System.out.println(java.time.LocalTime.now() + " waited for the first prune: "
                                    + (java.nio.file.Files.exists(pruned) ? "it ran" : "it did not come in 60 s"));
                        }
                    } else if (sg.list().size() < 4) {
                        Thread.sleep(50); // prune while the backups run, once there is something to delete
                    } else {
                        PruneResult r = sg.prune(Retention.builder().keepLast(3).build(), Duration.ZERO, false);
                        System.out.println(java.time.LocalTime.now() + " pruned: deleted " + r.deleted() + ", " + r.collectLine());
                        done++;
                        if (done == 1) {
                            java.nio.file.Files.createFile(pruned);
                        }
                        Thread.sleep(150);
                    }
                } catch (SinkLock.LockedException e) {
                    System.out.println(java.time.LocalTime.now() + " refused: " + e.getMessage());
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
            System.exit(done == goal || (!backup && done > 0) ? 0 : 1);
        }
    }
}
