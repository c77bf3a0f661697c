package dev.sgbackup;

import dev.sgbackup.store.Phase;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.CheckFailedException;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.Operation;
import dev.sgbackup.store.StoreKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What a run says before it runs (checks), when it is refused, and when it fails; restores in parallel. */
class RunJourneyTest {
    /** A store of any kind that reports findings and changes, and records when its restore runs. */
    static class Probe extends BytesStore {
        final String kind;
        final List<String> events;
        final AtomicInteger running;
        final AtomicInteger maxRunning;
        int errors;
        boolean facts;
        RuntimeException fail;
        CountDownLatch block;
        volatile boolean rolledBack;
        /** Like a database restore past its last cancellation point: finishes (commits) whatever happens beside it. */
        long uninterruptibleMillis;
        volatile boolean committed;
        /** Counted down when this restore starts; awaited (when set) before this restore goes on. */
        final CountDownLatch started = new CountDownLatch(1);
        CountDownLatch after;

        Probe(String name, String kind, List<String> events, AtomicInteger running, AtomicInteger maxRunning) {
            super(name);
            this.kind = kind;
            this.events = events;
            this.running = running;
            this.maxRunning = maxRunning;
            with("a", EngineTest.text(1000));
        }

        @Override
        public StoreKind kind() {
            return StoreKind.builtIn(kind).orElseGet(() -> StoreKind.of(kind, Phase.valueOf(kind.substring(kind.indexOf('-') + 1)
                    .toUpperCase(java.util.Locale.ROOT))));
        }

        @Override
        public void checkBackup(CheckReport report) {
            if (facts) {
                report.info(name, "added for foreign keys: public.users (referenced by public.org_members, which is kept)");
            }
        }

        @Override
        public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
            for (int i = 0; i < errors; i++) {
                report.error(name, "t" + i + " → users", "table public.t" + i + " references public.users, which is not restored;\n  "
                        + "x".repeat(400));
            }
            if (facts) {
                report.info(name, "3 rows of public.external_services are encrypted with the instance's keyring");
                report.change(new CheckReport.Change(name, "public.users", CheckReport.Change.Action.WRITE, "users", 10, null));
                report.change(new CheckReport.Change(name, "public.repo", CheckReport.Change.Action.CLEAR, "repos", 42,
                        "references public.users, which is restored"));
            }
        }

        @Override
        public void restore(RestoreInput in) throws IOException {
            int now = running.incrementAndGet();
            maxRunning.accumulateAndGet(now, Math::max);
            events.add("start " + name);
            started.countDown();
            try {
                if (after != null) {
                    try {
                        after.await(20, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (uninterruptibleMillis > 0) {
                    long end = System.nanoTime() + uninterruptibleMillis * 1_000_000;
                    while (System.nanoTime() < end) {
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException ignored) {
                            events.add("interrupt ignored by " + name);
                        }
                    }
                    committed = true;
                    return;
                }
                if (block != null) {
                    try {
                        // held until interrupted (the run stops it) or the test's timeout
                        block.await(20, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        rolledBack = true;
                        events.add("rolled back " + name);
                        throw new CancelledException("restore of " + name + " stopped; rolled back");
                    }
                }
                if (fail != null) {
                    throw fail;
                }
                try {
                    Thread.sleep(150); // long enough for steps beside it to overlap
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CancelledException("interrupted");
                }
                super.restore(in);
            } finally {
                events.add("end " + name);
                running.decrementAndGet();
            }
        }
    }

    final List<String> events = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger maxRunning = new AtomicInteger();

    Probe probe(String name, String kind) {
        return new Probe(name, kind, events, running, maxRunning);
    }

    String backup(SgBackup sg) {
        return sg.backup(probe("frontend", "postgres"), probe("codeintel", "postgres"), probe("codeinsights", "postgres"),
                probe("gitserver", "volume"), probe("zoekt", "volume"), probe("config", "sourcegraph-config")).backupId();
    }

    @Test
    void independentRestoreStepsRunInParallelInPhaseOrder() {
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(3).build();
        String id = backup(sg);
        List<Probe> targets = List.of(probe("config", "sourcegraph-config"), probe("gitserver", "volume"), probe("frontend", "postgres"),
                probe("zoekt", "volume"), probe("codeintel", "postgres"), probe("codeinsights", "postgres"));
        // in phase order, as SgBackup.planRestore(id, instance, ...) orders them
        List<Probe> ordered = List.of(targets.get(2), targets.get(4), targets.get(5), targets.get(1), targets.get(3), targets.get(0));
        RunResult r = sg.run(sg.planRestore(id, ordered, RestoreOptions.defaults()));
        assertThat(r.ok()).isTrue();
        assertThat(r.steps()).extracting(StepResult::status).containsOnly(StepResult.Status.COMPLETED);
        assertThat(maxRunning.get()).isEqualTo(3); // three databases at once, bounded by stepParallelism
        List<String> ev = new ArrayList<>(events);
        int lastDbEnd = lastIndex(ev, "end frontend", "end codeintel", "end codeinsights");
        int firstVolumeStart = Math.min(ev.indexOf("start gitserver"), ev.indexOf("start zoekt"));
        int lastVolumeEnd = lastIndex(ev, "end gitserver", "end zoekt");
        assertThat(lastDbEnd).isLessThan(firstVolumeStart);
        assertThat(lastVolumeEnd).isLessThan(ev.indexOf("start config"));
        targets.forEach(t -> assertThat(t.restored).containsKey("a"));
    }

    @Test
    void aStoreOfTheUsersOwnKindRestoresInThePhaseItDeclares() {
        // kinds "audit-db" (phase db) and "cache-volumes" (phase volumes): custom ids that name their phase
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(3).build();
        String id = sg.backup(probe("audit", "audit-db"), probe("frontend", "postgres"), probe("gitserver", "volume"),
                probe("cache", "cache-volumes")).backupId();
        assertThat(sg.show(id).requireStore("audit").kind()).isEqualTo("audit-db");
        List<Probe> ordered = List.of(probe("frontend", "postgres"), probe("audit", "audit-db"), probe("gitserver", "volume"),
                probe("cache", "cache-volumes"));
        ordered.get(0).after = ordered.get(1).started; // frontend goes on once audit runs: they share the db phase
        RunResult r = sg.run(sg.planRestore(id, ordered, RestoreOptions.defaults()));
        assertThat(r.ok()).isTrue();
        List<String> ev = new ArrayList<>(events);
        // the custom database runs beside the frontend, and both end before any volume starts
        assertThat(lastIndex(ev, "end frontend", "end audit")).isLessThan(Math.min(ev.indexOf("start gitserver"), ev.indexOf("start cache")));
        assertThat(ev.indexOf("start audit")).isLessThan(ev.indexOf("end frontend"));
        assertThat(StoreKind.of("audit-db", Phase.DB).phase()).isEqualTo(Phase.DB);
        assertThatThrownBy(() -> StoreKind.of("postgres", Phase.VOLUMES)).hasMessageContaining("built in and restores in phase db");
        assertThatThrownBy(() -> StoreKind.of("Audit DB", Phase.DB)).hasMessageContaining("not valid");
        assertThatThrownBy(() -> StoreKind.of("audit-db", Phase.ALL)).hasMessageContaining("one restore phase");
    }

    @Test
    void stepParallelismBoundsTheRestore() {
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(2).build();
        String id = backup(sg);
        RunResult r = sg.run(sg.planRestore(id, List.of(probe("frontend", "postgres"), probe("codeintel", "postgres"),
                probe("codeinsights", "postgres")), RestoreOptions.defaults()));
        assertThat(r.ok()).isTrue();
        assertThat(maxRunning.get()).isEqualTo(2);
    }

    static int lastIndex(List<String> events, String... names) {
        int max = -1;
        for (String n : names) {
            assertThat(events).contains(n);
            max = Math.max(max, events.indexOf(n));
        }
        return max;
    }

    @Test
    void theFirstFailureStopsTheStepsBesideItAndTheRunResultSurvives() {
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(3).build();
        String id = backup(sg);
        Probe frontend = probe("frontend", "postgres");
        frontend.block = new CountDownLatch(1);
        Probe codeintel = probe("codeintel", "postgres");
        codeintel.fail = new IllegalStateException("disk full on codeintel-db");
        codeintel.after = frontend.started; // fail only once frontend is running, or there is nothing to stop
        Probe gitserver = probe("gitserver", "volume");
        MigrationPlan plan = sg.planRestore(id, List.of(frontend, codeintel, gitserver), RestoreOptions.defaults());
        StoreException e = catchThrowableOfType(() -> sg.run(plan), StoreException.class);
        assertThat(e).hasMessageContaining("restore of store 'codeintel' failed").hasMessageContaining("disk full")
                .hasMessageContaining("no target was changed");
        assertThat(frontend.rolledBack).isTrue();
        assertThat(gitserver.restored).isEmpty();
        assertThat(events).doesNotContain("start gitserver");
        RunResult r = e.runResult().orElseThrow();
        assertThat(r.ok()).isFalse();
        assertThat(r.committed()).isFalse();
        assertThat(r.steps()).extracting(StepResult::step, StepResult::status).containsExactly(
                org.assertj.core.groups.Tuple.tuple("frontend", StepResult.Status.SKIPPED),
                org.assertj.core.groups.Tuple.tuple("codeintel", StepResult.Status.FAILED),
                org.assertj.core.groups.Tuple.tuple("gitserver", StepResult.Status.SKIPPED),
                org.assertj.core.groups.Tuple.tuple("codeinsights", StepResult.Status.SKIPPED),
                org.assertj.core.groups.Tuple.tuple("zoekt", StepResult.Status.SKIPPED),
                org.assertj.core.groups.Tuple.tuple("config", StepResult.Status.SKIPPED));
        assertThat(r.steps().get(1).message()).contains("disk full");
        assertThat(r.steps().get(0).message()).contains("step codeintel failed");
        assertThat(r.steps().get(2).message()).isEqualTo("not started: step codeintel failed");
        assertThat(r.steps().get(3).message()).isEqualTo("no target given");
    }

    @Test
    void aStepThatCommitsWhileItsSiblingFailsIsReportedAsRestored() {
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(3).build();
        String id = backup(sg);
        Probe frontend = probe("frontend", "postgres");
        frontend.uninterruptibleMillis = 400;
        Probe codeintel = probe("codeintel", "postgres");
        codeintel.fail = new IllegalStateException("disk full on codeintel-db");
        codeintel.after = frontend.started; // fails while frontend is on its way to commit
        MigrationPlan plan = sg.planRestore(id, List.of(frontend, codeintel), RestoreOptions.defaults());
        StoreException e = catchThrowableOfType(() -> sg.run(plan), StoreException.class);
        assertThat(frontend.committed).isTrue();
        assertThat(e).as("the user must learn that frontend was replaced").hasMessageContaining("restore of store 'codeintel' failed")
                .hasMessageContaining("already restored (these targets now hold the backup's data): frontend")
                .hasMessageNotContaining("no target was changed");
        RunResult r = e.runResult().orElseThrow();
        assertThat(r.steps()).filteredOn(s -> s.step().equals("frontend")).singleElement()
                .extracting(StepResult::status).isEqualTo(StepResult.Status.COMPLETED);
    }

    @Test
    void aFailedBackupCarriesEveryStepsOutcome() {
        SgBackup sg = SgBackup.builder().sink(Sinks.memory()).stepParallelism(1).build();
        BytesStore good = new BytesStore("good").with("g", EngineTest.text(5000));
        BytesStore bad = new BytesStore("bad").with("b", EngineTest.text(5000));
        bad.failMidway = new IllegalStateException("source vanished");
        StoreException e = catchThrowableOfType(() -> sg.backup(good, bad), StoreException.class);
        RunResult r = e.runResult().orElseThrow();
        assertThat(r.operation()).isEqualTo(Operation.BACKUP);
        assertThat(r.committed()).isFalse();
        assertThat(r.steps()).extracting(StepResult::status).containsExactly(StepResult.Status.COMPLETED, StepResult.Status.FAILED);
        assertThat(r.steps().get(0).bytes()).isEqualTo(5000);
        assertThat(r.steps().get(1).message()).contains("source vanished");
    }

    @Test
    void aRefusedCheckIsTypedBoundedAndWritesNothing() {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.builder().sink(sink).build();
        String id = backup(sg);
        long objects = sink.listAll("").count();
        Probe frontend = probe("frontend", "postgres");
        frontend.errors = 37;
        CheckFailedException e = catchThrowableOfType(
                () -> sg.restore(id, RestoreOptions.defaults(), frontend, probe("gitserver", "volume")), CheckFailedException.class);
        assertThat(e).isInstanceOf(InvalidInputException.class);
        assertThat(e.errors()).hasSize(37);
        assertThat(e.report().errors()).hasSize(37);
        assertThat(e.runResult()).isEmpty();
        assertThat(e.getMessage()).startsWith("37 checks failed: frontend: table public.t0 references").endsWith("; and 33 more")
                .hasSizeLessThan(2100).doesNotContain("\n");
        assertThat(e.summary()).isEqualTo("37 findings (t0 → users, t1 → users, t2 → users, …)");
        assertThat(events).isEmpty();
        assertThat(sink.listAll("").count()).isEqualTo(objects);

        frontend.errors = 1;
        CheckFailedException one = catchThrowableOfType(() -> sg.restore(id, RestoreOptions.defaults(), frontend),
                CheckFailedException.class);
        assertThat(one.summary()).isEqualTo("1 finding (t0 → users)");
        assertThat(one.getMessage()).startsWith("check failed: frontend: table public.t0").doesNotContain("more");
    }

    @Test
    void previewWritesNothingAndTheRunKeepsWhatTheChecksFound() {
        BackupSink sink = Sinks.memory();
        SgBackup sg = SgBackup.builder().sink(sink).build();
        Probe src = probe("frontend", "postgres");
        src.facts = true;
        MigrationPlan plan = sg.planBackup(List.of(src));
        CheckReport preview = sg.preview(plan);
        assertThat(sink.listAll("").map(ObjectInfo::key).toList()).isEmpty(); // not even the probe
        assertThat(preview.findings()).singleElement().satisfies(f -> assertThat(f.level()).isEqualTo(CheckReport.Level.INFO));
        assertThat(plan.explain(preview)).contains("checks: passed").contains("INFO  frontend: added for foreign keys: public.users");
        RunResult b = sg.run(plan);
        assertThat(b.checks().findings()).extracting(CheckReport.Finding::message).anyMatch(m -> m.contains("added for foreign keys"));

        Probe target = probe("frontend", "postgres");
        target.facts = true;
        MigrationPlan dry = sg.planRestore(b.backupId(), List.of(target), new RestoreOptions(true, true));
        RunResult r = sg.run(dry);
        assertThat(target.restored).isEmpty();
        assertThat(r.steps()).singleElement().satisfies(s -> assertThat(s.message()).contains("dry run"));
        assertThat(r.checks().changes()).extracting(CheckReport.Change::action)
                .containsExactly(CheckReport.Change.Action.WRITE, CheckReport.Change.Action.CLEAR);
        String text = dry.explain(r.checks());
        assertThat(text).contains("INFO  frontend: 3 rows of public.external_services are encrypted")
                .contains("changes: 1 written, 0 emptied first, 1 cleared")
                .contains("clear frontend public.repo [repos] (42 rows): references public.users, which is restored")
                .doesNotContain("write frontend public.users");
    }
}
