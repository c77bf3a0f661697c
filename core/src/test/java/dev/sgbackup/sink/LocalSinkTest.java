package dev.sgbackup.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalSinkTest extends SinkContractTest {
    @TempDir
    Path dir;
    private int n;

    @Override
    protected BackupSink newSink(int listPageSize) {
        return Sinks.local(dir.resolve("sink" + (n++)), listPageSize);
    }

    /**
     * delete removes the directories it leaves empty; a write into a sibling key of the same directory must not
     * fail because that directory vanished between creating it and renaming into it (SinkLockTest met it in CI).
     */
    @Test
    void writesBesideDeletesInOneDirectoryNeverFail() throws Exception {
        BackupSink s = Sinks.local(dir.resolve("race"));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                String key = "locks/w" + t;
                boolean conditional = t % 2 == 0;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 300; i++) {
                        if (conditional) {
                            assertThat(s.putIfAbsent(key, new byte[] {(byte) i})).isTrue();
                        } else {
                            put(s, key, new byte[] {(byte) i});
                        }
                        s.delete(key);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(s.listAll("").toList()).isEmpty();
    }

    @Test
    void abortedWriteLeavesNoTempFile() throws Exception {
        Path root = dir.resolve("t");
        BackupSink s = Sinks.local(root);
        try (PendingObject o = s.create("a/b")) {
            o.stream().write(new byte[1000]);
        }
        try (var files = Files.list(root.resolve(LocalSink.TMP_DIR))) {
            assertThat(files).isEmpty();
        }
        assertThat(root.resolve("a/b")).doesNotExist();
    }

    @Test
    void staleTempFilesArePrunedAfterTheGracePeriod() throws Exception {
        Path root = dir.resolve("s");
        BackupSink s = Sinks.local(root);
        Path stale = root.resolve(LocalSink.TMP_DIR).resolve("data+x+left-by-a-crash.1234.part");
        Files.createDirectories(stale.getParent());
        Files.write(stale, new byte[10]);
        assertThat(s.removeStaleUploads("", Duration.ofHours(1))).isZero();
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.fromMillis(0));
        assertThat(s.removeStaleUploads("data/y/", Duration.ofHours(1))).as("other prefix").isZero();
        assertThat(s.removeStaleUploads("data/x/", Duration.ofHours(1))).isEqualTo(1);
        assertThat(stale).doesNotExist();
    }

    @Test
    void openByFileUri() throws Exception {
        Path root = dir.resolve("u");
        BackupSink s = Sinks.open(root.toUri().toString());
        put(s, "x", new byte[] {1});
        assertThat(root.resolve("x")).exists();
    }

    @org.junit.jupiter.api.Test
    void adoptMovesAFileOfTheSameFileSystemIntoPlace() throws Exception {
        BackupSink sink = newSink(1000);
        java.nio.file.Path file = java.nio.file.Files.createTempFile(dir, "pack", ".tmp"); // beside the sink's root
        java.nio.file.Files.writeString(file, "pack bytes");
        org.assertj.core.api.Assertions.assertThat(sink.adopt("dedup/packs/cd/p1", file)).isTrue();
        org.assertj.core.api.Assertions.assertThat(file).doesNotExist();
        try (var in = sink.read("dedup/packs/cd/p1")) {
            org.assertj.core.api.Assertions.assertThat(new String(in.readAllBytes())).isEqualTo("pack bytes");
        }
    }
}
