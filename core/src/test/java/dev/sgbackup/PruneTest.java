package dev.sgbackup;

import dev.sgbackup.sink.Sinks;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.StoreKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.internal.Layout;
import dev.sgbackup.manifest.PruneResult;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ForwardingSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prune end to end on a local sink: retention deletes committed backups, housekeeping removes old leftovers only. */
class PruneTest {
    @TempDir
    Path root;

    private static byte[] text(int n) {
        return ("line " + n + "\n").repeat(n).getBytes(StandardCharsets.UTF_8);
    }

    /** Writes one object with the given age (file mtime) into the local sink's directory. */
    private Path plant(String key, Duration age) throws IOException {
        Path p = root.resolve(key);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "partial");
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(age)));
        return p;
    }

    /** Every file under the sink root with its size and mtime: a dry run must leave this unchanged. */
    private Map<String, String> tree() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    m.put(root.relativize(p).toString(), Files.size(p) + "@" + Files.getLastModifiedTime(p));
                }
            }
        }
        return m;
    }

    @Test
    void pruneDeletesBackupsOutsideTheRulesAndOldLeftoversAfterADryRun() throws Exception {
        BackupSink sink = Sinks.local(root);
        SgBackup sg = SgBackup.to(sink);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(sg.backup(new BytesStore("s").with("x", text(100 + i))).backupId());
            Thread.sleep(1100); // ids are to the second; distinct times make the order certain
        }
        List<String> newestFirst = new ArrayList<>(ids);
        java.util.Collections.reverse(newestFirst);
        // leftovers: a failed backup from three days ago; a backup started three days ago but still writing (fresh
        // object); one started a minute ago; an abandoned temp upload; a fresh temp upload of a running backup
        String oldFailed = Layout.newBackupId(Instant.now().minus(Duration.ofDays(3)));
        String longRunning = Layout.newBackupId(Instant.now().minus(Duration.ofDays(3)).plusSeconds(1));
        String young = Layout.newBackupId(Instant.now().minus(Duration.ofMinutes(1)));
        String oldKey = Layout.dataPrefix(oldFailed) + "s/000000-x.zst";
        plant(oldKey, Duration.ofDays(3));
        Path stillWriting = plant(Layout.dataPrefix(longRunning) + "s/000000-x.zst", Duration.ofMinutes(5));
        Path youngData = plant(Layout.dataPrefix(young) + "s/000000-x.zst", Duration.ofMinutes(1));
        Path staleTmp = plant(".sgbackup-tmp/abandoned.part", Duration.ofDays(2));
        Path freshTmp = plant(".sgbackup-tmp/running.part", Duration.ofMinutes(1));

        Retention keep2 = Retention.keepLast(2);
        Map<String, String> before = tree();
        PruneResult dry = sg.prune(keep2, Duration.ofHours(24), true);
        assertThat(tree()).isEqualTo(before);
        assertThat(dry.dryRun()).isTrue();
        assertThat(dry.deleted()).isEmpty();
        assertThat(dry.leftovers()).containsExactly(oldKey);
        assertThat(dry.lines()).containsExactly(
                "keep " + newestFirst.get(0) + " last:1",
                "keep " + newestFirst.get(1) + " last:2",
                "would delete " + newestFirst.get(2),
                "would delete " + newestFirst.get(3),
                "would remove " + oldKey);
        assertThat(dry.toString()).contains("dry run").contains("2 kept, 2 removed");

        PruneResult real = sg.prune(keep2, Duration.ofHours(24), false);
        assertThat(real.ok()).isTrue();
        assertThat(real.decision().keptIds()).isEqualTo(dry.decision().keptIds());
        assertThat(real.decision().removedIds()).isEqualTo(dry.decision().removedIds());
        assertThat(real.deleted()).containsExactlyInAnyOrder(newestFirst.get(2), newestFirst.get(3));
        assertThat(real.lines()).contains("delete " + newestFirst.get(2), "removed " + oldKey);
        assertThat(sg.list()).extracting(b -> b.id()).containsExactly(newestFirst.get(0), newestFirst.get(1));
        for (String gone : List.of(newestFirst.get(2), newestFirst.get(3))) {
            assertThat(sink.listAll(Layout.dataPrefix(gone)).toList()).isEmpty();
            assertThat(sink.stat(Layout.manifestKey(gone))).isEmpty();
        }
        assertThat(root.resolve(oldKey)).doesNotExist();
        assertThat(staleTmp).doesNotExist();
        assertThat(stillWriting).exists();
        assertThat(youngData).exists();
        assertThat(freshTmp).exists();
        for (String kept : List.of(newestFirst.get(0), newestFirst.get(1))) {
            assertThat(sg.verify(kept).ok()).isTrue();
        }

        // a second prune finds nothing more to do
        PruneResult again = sg.prune(keep2, false);
        assertThat(again.deleted()).isEmpty();
        assertThat(again.leftovers()).isEmpty();
        assertThat(again.gracePeriod()).isEqualTo(SgBackup.DEFAULT_PRUNE_GRACE);
    }

    /** Writes one artifact, starts a second, and waits until released: a backup in progress. */
    static final class SlowStore implements DataStore {
        final CountDownLatch writing = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public String name() {
            return "slow";
        }

        @Override
        public StoreKind kind() {
            return StoreKind.of("bytes", Phase.VOLUMES);
        }

        @Override
        public String describe() {
            return "blocks mid-backup";
        }

        @Override
        public void backup(BackupOutput out) throws IOException {
            try (OutputStream o = out.artifact("first", Map.of())) {
                o.write(text(500));
            }
            try (OutputStream o = out.artifact("second", Map.of())) {
                o.write(text(300));
                o.flush();
                writing.countDown();
                if (!release.await(60, TimeUnit.SECONDS)) {
                    throw new IOException("test never released the backup");
                }
                o.write(text(200));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        @Override
        public void restore(RestoreInput in) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void aBackupInProgressIsNeverTouched() throws Exception {
        BackupSink sink = Sinks.local(root);
        SgBackup sg = SgBackup.to(sink);
        String committed = sg.backup(new BytesStore("s").with("x", text(10))).backupId();
        SlowStore slow = new SlowStore();
        CompletableFuture<RunResult> running = CompletableFuture.supplyAsync(() -> sg.backup(slow));
        try {
            assertThat(slow.writing.await(30, TimeUnit.SECONDS)).isTrue();
            List<ObjectInfo> inProgress = sink.listAll(Layout.DATA).filter(o -> !o.key().contains(committed)).toList();
            assertThat(inProgress).as("the first artifact of the running backup is already in the sink").isNotEmpty();

            PruneResult r = sg.prune(Retention.keepLast(1), Duration.ofHours(24), false);
            assertThat(r.decision().keptIds()).containsExactly(committed);
            assertThat(r.deleted()).isEmpty();
            assertThat(r.leftovers()).isEmpty();
            assertThat(sink.listAll(Layout.DATA).filter(o -> !o.key().contains(committed)).toList()).isEqualTo(inProgress);
        } finally {
            slow.release.countDown();
        }
        String id = running.get(60, TimeUnit.SECONDS).backupId();
        assertThat(sg.verify(id).ok()).as("the backup that ran during prune is complete").isTrue();
        // and now that it is committed, keep-last 1 keeps it and deletes the older one
        PruneResult after = sg.prune(Retention.keepLast(1), false);
        assertThat(after.deleted()).containsExactly(committed);
        assertThat(sg.list()).extracting(b -> b.id()).containsExactly(id);
    }

    @Test
    void aFailedDeletionIsReportedAndTheOthersStillHappen() throws Exception {
        BackupSink memory = Sinks.memory();
        List<String> ids = new ArrayList<>();
        SgBackup plain = SgBackup.to(memory);
        for (int i = 0; i < 3; i++) {
            ids.add(plain.backup(new BytesStore("s").with("x", text(20 + i))).backupId());
            Thread.sleep(1100);
        }
        String broken = ids.get(0); // the oldest: its data cannot be deleted
        SgBackup sg = SgBackup.to(new FailingDeletes(memory, Layout.dataPrefix(broken)));

        PruneResult r = sg.prune(Retention.keepLast(1), Duration.ofHours(24), false);
        assertThat(r.ok()).isFalse();
        assertThat(r.failed()).containsOnlyKeys(broken);
        assertThat(r.failed().get(broken)).contains("deleting backup " + broken).contains("disk on fire");
        assertThat(r.deleted()).containsExactly(ids.get(1));
        assertThat(r.lines()).contains("failed " + broken, "delete " + ids.get(1), "keep " + ids.get(2) + " last:1");
        assertThat(r.toString()).contains("FAILED to delete " + broken);
        assertThat(plain.list()).extracting(b -> b.id()).containsExactly(ids.get(2));
    }

    @Test
    void badGracePeriodsAndEmptyRulesAreRefused() {
        SgBackup sg = SgBackup.to(Sinks.memory());
        assertThatThrownBy(() -> sg.prune(Retention.keepLast(1), Duration.ofHours(-1), true))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("grace period").hasMessageContaining("24h");
        assertThatThrownBy(() -> sg.prune(Retention.builder().build(), Duration.ZERO, true))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("no keep rule");
    }

    /** Delegates to a real sink but fails deletes under one prefix. */
    private static final class FailingDeletes extends ForwardingSink {
        private final String failPrefix;

        FailingDeletes(BackupSink inner, String failPrefix) {
            super(inner);
            this.failPrefix = failPrefix;
        }

        @Override
        public void delete(String key) throws IOException {
            if (key.startsWith(failPrefix)) {
                throw new IOException("disk on fire");
            }
            inner.delete(key);
        }

        @Override
        public void deleteAll(Collection<String> keys) throws IOException {
            for (String k : keys) {
                delete(k);
            }
        }
    }
}
