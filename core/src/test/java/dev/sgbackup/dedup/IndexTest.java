package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.Sinks;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IndexTest {
    static final Layout LAYOUT = new Layout("dedup");

    static List<IndexEntry> entries(long seed, int n, int packs) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> packNames = new ArrayList<>();
        for (int p = 0; p < packs; p++) {
            packNames.add(Crypto.hex(FastCdcTest.random(seed * 1000 + p, 32)));
        }
        List<IndexEntry> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] id = new byte[32];
            for (int j = 0; j < 32; j++) {
                id[j] = (byte) r.nextInt(256);
            }
            out.add(new IndexEntry(ChunkId.of(id), packNames.get(r.nextInt(packs)), r.nextInt(1 << 24),
                    1 + r.nextInt(1 << 22), 1 + r.nextInt(1 << 22), r.nextInt(2)));
        }
        return out;
    }

    @Test
    void objectsRoundTripPlainAndEncrypted() throws IOException {
        for (RepoKeys keys : List.of(RepoKeys.unencrypted(), RepoKeys.fromMaster(FastCdcTest.random(21, 32)))) {
            BackupSink sink = Sinks.memory();
            IndexStore store = new IndexStore(new Repo(sink, LAYOUT, keys));
            List<IndexEntry> es = entries(1, 1000, 7);
            String key = store.write("s1", es);
            assertThat(key).startsWith("dedup/index/s1/");
            assertThat(store.read(key)).containsExactlyElementsOf(es);
            byte[] stored;
            try (InputStream in = sink.read(key)) {
                stored = in.readAllBytes();
            }
            assertThat(Crypto.hex(Crypto.sha256().digest(stored))).isEqualTo(key.substring(key.lastIndexOf('/') + 1));
            String hex = Crypto.hex(stored);
            // an encrypted index shows neither chunk ids nor pack names
            assertThat(hex.contains(es.get(0).id().hex())).isEqualTo(!keys.encrypted());
            assertThat(hex.contains(es.get(0).pack())).isEqualTo(!keys.encrypted());
        }
    }

    @Test
    void theLoaderMergesTheObjectsOfItsShardOnly() throws IOException {
        BackupSink sink = Sinks.memory();
        IndexStore store = new IndexStore(new Repo(sink, LAYOUT, RepoKeys.unencrypted()));
        List<IndexEntry> a = entries(2, 3000, 5);
        List<IndexEntry> b = new ArrayList<>(entries(3, 2000, 4));
        // a chunk in two packs (two concurrent backups): the first object read wins, the chunk counts once
        IndexEntry dup = new IndexEntry(a.get(0).id(), b.get(0).pack(), 1, 2, 3, 0);
        b.add(dup);
        store.write("alpha", a);
        store.write("alpha", b);
        store.write("beta", entries(4, 500, 2));
        ChunkIndex index = store.load("alpha");
        assertThat(index.size()).isEqualTo(5000);
        assertThat(index.packCount()).isEqualTo(9);
        Map<ChunkId, IndexEntry> expected = new HashMap<>();
        a.forEach(e -> expected.put(e.id(), e));
        b.forEach(e -> expected.putIfAbsent(e.id(), e));
        for (IndexEntry e : expected.values()) {
            IndexEntry got = index.get(e.id());
            assertThat(got).isIn(e, dup);
        }
        assertThat(store.load("beta").size()).isEqualTo(500);
        assertThat(store.load("gamma").size()).isZero();
    }

    @Test
    void theWriterSplitsLargeShardsIntoBoundedObjects() throws IOException {
        BackupSink sink = Sinks.memory();
        IndexStore store = new IndexStore(new Repo(sink, LAYOUT, RepoKeys.unencrypted()));
        List<IndexEntry> es = entries(5, IndexStore.MAX_ENTRIES + 10, 50);
        try (IndexStore.Writer w = store.new Writer("big")) {
            w.add(es.subList(0, 10));
            w.add(es.subList(10, es.size()));
            w.close();
            assertThat(w.written()).hasSize(2);
        }
        assertThat(store.objects("big")).extracting(ObjectInfo::size).allSatisfy(s ->
                assertThat(s).isLessThanOrEqualTo(4 + 4 + 50 * 32 + 4 + (long) IndexStore.MAX_ENTRIES * IndexStore.ENTRY_BYTES));
        ChunkIndex index = store.load("big");
        assertThat(index.size()).isEqualTo(es.size());
        es.forEach(e -> assertThat(index.get(e.id())).isEqualTo(e));
    }

    @Test
    void theInMemoryIndexGrowsAndStaysExact() {
        ChunkIndex index = new ChunkIndex(10);
        List<IndexEntry> es = entries(6, 50_000, 300);
        for (IndexEntry e : es) {
            assertThat(index.add(e)).isTrue();
        }
        assertThat(index.add(es.get(123))).isFalse();
        assertThat(index.size()).isEqualTo(50_000);
        es.forEach(e -> assertThat(index.get(e.id())).isEqualTo(e));
        assertThat(index.get(ChunkId.of(new byte[32]))).isNull();
        assertThat(index.contains(entries(7, 1, 1).get(0).id())).isFalse();
        List<IndexEntry> all = new ArrayList<>();
        index.forEach(all::add);
        assertThat(all).hasSize(es.size());
        assertThat(new java.util.HashSet<>(all)).isEqualTo(new java.util.HashSet<>(es));
        // pre-sized, 48-byte slots at most 85% full
        ChunkIndex sized = new ChunkIndex(1_000_000);
        assertThat((double) sized.tableBytes() / 1_000_000).isBetween(48.0, 60.0);
    }

    @Test
    void aDamagedIndexObjectIsRefused() throws IOException {
        BackupSink sink = Sinks.memory();
        RepoKeys keys = RepoKeys.fromMaster(FastCdcTest.random(22, 32));
        IndexStore store = new IndexStore(new Repo(sink, LAYOUT, keys));
        String key = store.write("s", entries(8, 10, 2));
        byte[] bytes;
        try (InputStream in = sink.read(key)) {
            bytes = in.readAllBytes();
        }
        bytes[bytes.length / 2] ^= 1;
        PackTest.overwrite(sink, key, bytes);
        assertThatThrownBy(() -> store.load("s")).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("index object " + key).hasMessageContaining("does not authenticate");
    }
}
