package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Compression;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #14's memory target: a repository of 1,000,000 chunks (≈ 1 TB at 1 MiB chunks, 62,500 packs of 16 MiB)
 * has its index loaded, as a backup of that store loads it, in a child JVM with {@code -Xmx256m}, which then stores
 * chunks; the child prints the heap the index takes per chunk. The index objects are simulated (random ids), the
 * code that writes, loads and uses them is the real one.
 */
class IndexMemoryTest {
    static final int CHUNKS = 1_000_000;
    static final int PACKS = 62_500;

    @TempDir
    Path tmp;

    @Test
    void aMillionChunkIndexLoadsAndIsUsedInA256MiBHeap() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), IndexMemoryTest.class.getName(), tmp.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        System.out.print(out);
        assertThat(rc).as(out).isZero();
        String line = out.lines().filter(l -> l.startsWith("index ")).findFirst().orElseThrow();
        double perChunk = Double.parseDouble(line.replaceAll(".* ([0-9.]+) bytes per chunk.*", "$1"));
        // restic's in-memory index is under 64 bytes per chunk; this table is 48 bytes per slot at most 85% full
        assertThat(perChunk).isBetween(48.0, 90.0);
    }

    /** The child: writes the index objects, measures the heap, loads them, measures again, then stores chunks. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Repo repo = new Repo(Sinks.local(dir.resolve("sink")), new Layout("dedup"), RepoKeys.fromMaster(new byte[32]));
        String shard = repo.keys().shardName("repos");
        SplittableRandom r = new SplittableRandom(14);
        List<String> packs = new ArrayList<>(PACKS);
        for (int i = 0; i < PACKS; i++) {
            byte[] name = new byte[32];
            r.nextBytes(name);
            packs.add(Crypto.hex(name));
        }
        IndexStore.Writer w = new IndexStore(repo).new Writer(shard);
        long t0 = System.nanoTime();
        for (int done = 0; done < CHUNKS; ) {
            int n = Math.min(50_000, CHUNKS - done);
            List<IndexEntry> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] id = new byte[32];
                r.nextBytes(id);
                batch.add(new IndexEntry(ChunkId.of(id), packs.get((done + i) / 16), (i % 16) << 20, 700_000, 1 << 20, 1));
            }
            w.add(batch);
            done += n;
        }
        w.close();
        packs = null;
        long written;
        try (var s = Files.walk(dir.resolve("sink/dedup/index"))) {
            written = s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        System.out.printf(Locale.ROOT, "wrote %d index entries (%d MB of index objects) in %.1f s%n", CHUNKS, written / 1_000_000,
                (System.nanoTime() - t0) / 1e9);

        long before = usedAfterGc();
        t0 = System.nanoTime();
        ChunkIndex index = new IndexStore(repo).load(shard);
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        long after = usedAfterGc();
        System.out.printf(Locale.ROOT, "index of %d chunks in %d packs loaded in %.1f s: %.1f bytes per chunk (%.1f MB of heap;"
                        + " max heap %d MB)%n", index.size(), PACKS, loadSeconds,
                (after - before) / (double) CHUNKS, (after - before) / 1e6, Runtime.getRuntime().maxMemory() / (1 << 20));

        // and a backup's use of it: a chunk writer over this index stores new chunks and recognises stored ones
        ChunkWriter cw = new ChunkWriter(repo, ChunkParams.DEFAULT, index, shard, Compression.zstd(), 16 << 20, dir);
        byte[] data = new byte[1 << 20];
        int isNew = 0;
        for (int i = 0; i < 64; i++) {
            r.nextBytes(data);
            if (cw.store(repo.keys().id(data, 0, data.length), data, 0, data.length)) {
                isNew++;
            }
        }
        cw.close();
        System.out.printf(Locale.ROOT, "stored %d new chunks beside them; heap used now %.1f MB%n", isNew, usedAfterGc() / 1e6);
    }

    private static long usedAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
