package dev.sgbackup.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SinkLockTest {
    @TempDir
    Path tmp;

    @Test
    void anExclusiveLeaseExcludesEveryOtherAndSharedOnesCoexist() throws Exception {
        BackupSink sink = Sinks.memory();
        try (SinkLock a = SinkLock.shared(sink, "backup 1"); SinkLock b = SinkLock.shared(sink, "backup 2")) {
            assertThat(SinkLock.holders(sink, Clock.systemUTC())).hasSize(2);
            assertThatThrownBy(() -> SinkLock.exclusive(sink, "prune")).isInstanceOf(SinkLock.LockedException.class)
                    .hasMessageContaining("backup 1").hasMessageContaining("backup 2").hasMessageContaining("pid "
                            + ProcessHandle.current().pid()).hasMessageContaining("prune needs it to itself");
            assertThat(SinkLock.holders(sink, Clock.systemUTC())).as("the refused lease left nothing").hasSize(2);
        }
        try (SinkLock prune = SinkLock.exclusive(sink, "prune")) {
            assertThatThrownBy(() -> SinkLock.shared(sink, "backup 3")).isInstanceOf(SinkLock.LockedException.class)
                    .hasMessageContaining("prune (exclusive").hasMessageContaining("backup 3 waits for it");
            assertThatThrownBy(() -> SinkLock.exclusive(sink, "prune 2")).isInstanceOf(SinkLock.LockedException.class);
            prune.check();
        }
        assertThat(sink.listAll(SinkLock.PREFIX).toList()).isEmpty();
    }

    @Test
    void aStaleLockIsRemovedAndALiveOneIsNot() throws Exception {
        BackupSink sink = Sinks.memory();
        MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
        SinkLock dead = SinkLock.acquire(sink, true, "prune that died", Duration.ofMinutes(30), clock);
        clock.now = clock.now.plus(Duration.ofMinutes(30)).plus(SinkLock.SKEW).minusSeconds(1);
        assertThatThrownBy(() -> SinkLock.acquire(sink, false, "backup", Duration.ofMinutes(30), clock))
                .isInstanceOf(SinkLock.LockedException.class).as("within the skew allowance it still counts");
        clock.now = clock.now.plusSeconds(2);
        try (SinkLock backup = SinkLock.acquire(sink, false, "backup", Duration.ofMinutes(30), clock)) {
            assertThat(sink.stat(dead.key())).as("the stale lock was deleted").isEmpty();
            assertThat(SinkLock.holders(sink, clock)).extracting(SinkLock.Holder::key).containsExactly(backup.key());
        }
        // the dead run, should it wake up, finds its lease lost
        assertThatThrownBy(dead::refresh).isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("was lost");
        assertThatThrownBy(dead::check).isInstanceOf(SinkLock.LockedException.class);
    }

    @Test
    void refreshingKeepsTheLeaseAndNotRefreshingLosesIt() throws Exception {
        BackupSink sink = Sinks.memory();
        MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
        SinkLock l = SinkLock.acquire(sink, false, "backup", Duration.ofMinutes(30), clock);
        assertThat(l.refreshEvery()).isEqualTo(Duration.ofMinutes(5));
        for (int i = 0; i < 12; i++) { // an hour, refreshed every five minutes
            clock.now = clock.now.plus(l.refreshEvery());
            l.refresh();
            l.check();
        }
        SinkLock.Holder h = SinkLock.holders(sink, clock).get(0);
        assertThat(h.expires()).isEqualTo(clock.now.plus(Duration.ofMinutes(30)));
        assertThat(h.created()).isEqualTo(Instant.parse("2026-12-02T10:00:00Z"));
        clock.now = clock.now.plus(Duration.ofMinutes(31));
        assertThatThrownBy(l::check).isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("stop without deleting");
        l.close();
        assertThat(sink.listAll(SinkLock.PREFIX).toList()).isEmpty();
    }

    @Test
    void aRefreshAfterTheLeaseRanOutDoesNotBringTheLockBack() throws Exception {
        BackupSink sink = Sinks.memory();
        MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
        SinkLock l = SinkLock.acquire(sink, false, "backup", Duration.ofMinutes(30), clock);
        // suspended past its lease: its lock object is still there (no other run has deleted it yet), but a run that
        // found it stale may delete it at any moment, so the lease is lost and the lock is not written again
        clock.now = clock.now.plus(Duration.ofMinutes(31));
        assertThat(sink.stat(l.key())).isPresent();
        assertThatThrownBy(l::refresh).isInstanceOf(SinkLock.LockedException.class).hasMessageContaining("was lost");
        sink.delete(l.key()); // the other run's delete
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        assertThatThrownBy(l::refresh).isInstanceOf(SinkLock.LockedException.class);
        assertThat(sink.stat(l.key())).as("never written again").isEmpty();
        assertThatThrownBy(l::check).isInstanceOf(SinkLock.LockedException.class);
    }

    @Test
    void anUnreadableLockCountsAsExclusiveUntilItIsOld() throws Exception {
        BackupSink sink = Sinks.memory();
        try (PendingObject p = sink.create("locks/exclusive-from-a-newer-version")) {
            p.stream().write("{not json".getBytes());
            p.commit();
        }
        assertThatThrownBy(() -> SinkLock.shared(sink, "backup")).isInstanceOf(SinkLock.LockedException.class)
                .hasMessageContaining("an unreadable lock");
    }

    /** Threads racing for the exclusive lease: never two holders at once, and each gets its turns. */
    @Test
    void threadsRacingForTheExclusiveLeaseNeverHoldItTogether() throws Exception {
        for (BackupSink sink : List.of(Sinks.memory(), Sinks.local(tmp.resolve("sink")))) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger overlaps = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    done.add(pool.submit(() -> {
                        int held = 0;
                        int refused = 0;
                        while (held < 3) {
                            try (SinkLock l = SinkLock.exclusive(sink, "prune")) {
                                if (inside.incrementAndGet() != 1) {
                                    overlaps.incrementAndGet();
                                }
                                Thread.sleep(3);
                                l.check();
                                inside.decrementAndGet();
                                held++;
                            } catch (SinkLock.LockedException e) {
                                refused++;
                                Thread.sleep(ThreadLocalRandom.current().nextInt(1, 8));
                            }
                        }
                        return refused;
                    }));
                }
                for (Future<Integer> f : done) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(overlaps).as(sink.uri().toString()).hasValue(0);
            assertThat(sink.listAll(SinkLock.PREFIX).toList()).isEmpty();
        }
    }

    /** Two processes on one local sink, each taking the exclusive lease five times: never at once. */
    @Test
    void processesRacingForTheExclusiveLeaseNeverHoldItTogether() throws Exception {
        Path sinkDir = tmp.resolve("shared-sink");
        Path inside = tmp.resolve("inside");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ps.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Worker.class.getName(), sinkDir.toString(),
                    inside.toString(), "5").redirectErrorStream(true).start());
        }
        for (Process p : ps) {
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("held 5");
        }
        assertThat(Sinks.local(sinkDir).listAll(SinkLock.PREFIX).toList()).isEmpty();
    }

    /** A process that takes the exclusive lease N times, marking the critical section with a file only one may create. */
    public static final class Worker {
        public static void main(String[] args) throws Exception {
            BackupSink sink = Sinks.local(Path.of(args[0]));
            Path inside = Path.of(args[1]);
            int rounds = Integer.parseInt(args[2]);
            int held = 0;
            int refused = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (held < rounds && System.nanoTime() < deadline) {
                try (SinkLock l = SinkLock.exclusive(sink, "prune in pid " + ProcessHandle.current().pid())) {
                    try {
                        Files.createFile(inside);
                    } catch (FileAlreadyExistsException e) {
                        System.out.println("OVERLAP: another process holds the lease too");
                        System.exit(2);
                    }
                    Thread.sleep(20);
                    l.check();
                    Files.delete(inside);
                    held++;
                } catch (SinkLock.LockedException e) {
                    refused++;
                    Thread.sleep(ThreadLocalRandom.current().nextInt(5, 40));
                }
            }
            System.out.println("held " + held + " refused " + refused);
            System.exit(held == rounds ? 0 : 1);
        }
    }
}
