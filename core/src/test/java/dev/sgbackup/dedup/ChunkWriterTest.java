package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Compression;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkWriterTest {
    static final Layout LAYOUT = new Layout("dedup");
    static final ChunkParams PARAMS = ChunkParams.withAverage(16 << 10);

    @TempDir
    Path tmp;

    List<ChunkId> store(BackupSink sink, RepoKeys keys, ChunkIndex index, byte[] data, long[] newAndReused) throws IOException {
        List<ChunkId> ids = new ArrayList<>();
        try (ChunkWriter w = new ChunkWriter(new Repo(sink, LAYOUT, keys), PARAMS, index, "store-a", Compression.zstd(),
                256 << 10, tmp)) {
            assertThat(w.write(new ByteArrayInputStream(data), (id, off, len, isNew) -> ids.add(id))).isEqualTo(data.length);
            w.close();
            newAndReused[0] = w.newBytes();
            newAndReused[1] = w.reusedBytes();
        }
        return ids;
    }

    @Test
    void aSecondBackupStoresOnlyWhatChanged() throws IOException {
        for (RepoKeys keys : List.of(RepoKeys.unencrypted(), RepoKeys.fromMaster(FastCdcTest.random(41, 32)))) {
            BackupSink sink = Sinks.memory();
            byte[] v1 = FastCdcTest.random(42, 3 << 20);
            long[] stats = new long[2];
            List<ChunkId> first = store(sink, keys, new IndexStore(new Repo(sink, LAYOUT, keys)).load("store-a"), v1, stats);
            assertThat(stats[0]).isEqualTo(v1.length);

            // the same stream again, from the index on the sink: nothing new
            List<ChunkId> again = store(sink, keys, new IndexStore(new Repo(sink, LAYOUT, keys)).load("store-a"), v1, stats);
            assertThat(again).isEqualTo(first);
            assertThat(stats).containsExactly(0, v1.length);

            // an insertion near the start: only the chunks around it are new
            byte[] v2 = new byte[v1.length + 10];
            System.arraycopy(v1, 0, v2, 0, 100_000);
            System.arraycopy(v1, 100_000, v2, 100_010, v1.length - 100_000);
            List<ChunkId> second = store(sink, keys, new IndexStore(new Repo(sink, LAYOUT, keys)).load("store-a"), v2, stats);
            assertThat(stats[0]).isPositive().isLessThanOrEqualTo(3L * PARAMS.max());
            assertThat(stats[0] + stats[1]).isEqualTo(v2.length);

            // every chunk of the second version reads back, in order, to the second version
            ChunkIndex index = new IndexStore(new Repo(sink, LAYOUT, keys)).load("store-a");
            PackReader reader = new PackReader(new Repo(sink, LAYOUT, keys));
            ByteArrayOutputStream restored = new ByteArrayOutputStream();
            for (ChunkId id : second) {
                restored.write(reader.read(index.get(id)));
            }
            assertThat(restored.toByteArray()).isEqualTo(v2);
        }
    }

    @Test
    void aRepeatedChunkInOneStreamIsStoredOnce() throws IOException {
        BackupSink sink = Sinks.memory();
        byte[] block = FastCdcTest.random(43, 200_000);
        byte[] twice = new byte[block.length * 2];
        System.arraycopy(block, 0, twice, 0, block.length);
        System.arraycopy(block, 0, twice, block.length, block.length);
        long[] stats = new long[2];
        ChunkIndex index = new ChunkIndex();
        List<ChunkId> ids = store(sink, RepoKeys.unencrypted(), index, twice, stats);
        assertThat(stats[1]).isPositive();
        assertThat(index.size()).isEqualTo((int) ids.stream().distinct().count());
    }

    @org.junit.jupiter.api.Test
    void manyThreadsStoringIntoOneWriterAtOnceAllCommitInTurn() throws Exception {
        // a store writes several artifacts at once (database parts): chunks from many threads, a small pool, no deadlock
        dev.sgbackup.sink.BackupSink sink = dev.sgbackup.sink.Sinks.memory();
        RepoKeys keys = RepoKeys.unencrypted();
        Repo repo = new Repo(sink, LAYOUT, keys);
        ChunkIndex index = new ChunkIndex();
        List<ChunkId> all = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
            try (ChunkWriter w = new ChunkWriter(repo, PARAMS, index, "store-a", Compression.zstd(), 256 << 10,
                    java.nio.file.Path.of(System.getProperty("java.io.tmpdir")))) {
                java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(8);
                List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int seed = t;
                    done.add(threads.submit(() -> {
                        java.util.Random r = new java.util.Random(seed);
                        for (int i = 0; i < 150; i++) {
                            byte[] b = new byte[1000 + r.nextInt(20_000)];
                            r.nextBytes(b);
                            ChunkId id = keys.id(b, 0, b.length);
                            w.store(id, b, 0, b.length);
                            all.add(id);
                        }
                        return null;
                    }));
                }
                for (var f : done) {
                    f.get();
                }
                threads.shutdown();
            }
        });
        ChunkIndex loaded = new IndexStore(repo).load("store-a");
        PackReader reader = new PackReader(repo);
        org.assertj.core.api.Assertions.assertThat(all).hasSize(1200);
        for (ChunkId id : all) {
            org.assertj.core.api.Assertions.assertThat(keys.id(reader.read(loaded.get(id)), 0, reader.read(loaded.get(id)).length))
                    .isEqualTo(id);
        }
    }
}
