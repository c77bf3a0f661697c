package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PackTest {
    static final Layout LAYOUT = new Layout("dedup");
    static final String MARKER = "PLAINTEXT-MARKER-sourcegraph-event_logs-row ";

    @TempDir
    static Path tmp;

    static Stream<Arguments> sinksAndKeys() {
        RepoKeys keyed = RepoKeys.fromMaster(FastCdcTest.random(11, 32));
        return Stream.of(
                Arguments.of("memory, plain", Sinks.memory(), RepoKeys.unencrypted()),
                Arguments.of("memory, encrypted", Sinks.memory(), keyed),
                Arguments.of("local, plain", Sinks.local(tmp.resolve("plain")), RepoKeys.unencrypted()),
                Arguments.of("local, encrypted", Sinks.local(tmp.resolve("enc")), keyed));
    }

    /** As {@link #sinksAndKeys}, in directories of their own (tests that count the packs there share the others). */
    static Stream<Arguments> ownSinksAndKeys() {
        RepoKeys keyed = RepoKeys.fromMaster(FastCdcTest.random(12, 32));
        return Stream.of(
                Arguments.of("memory, plain", Sinks.memory(), RepoKeys.unencrypted()),
                Arguments.of("local, encrypted", Sinks.local(tmp.resolve("own-enc")), keyed));
    }

    /** Chunks of both kinds: compressible text and incompressible noise. */
    static Map<ChunkId, byte[]> chunks(RepoKeys keys, int n) {
        Map<ChunkId, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            byte[] b = i % 2 == 0 ? (MARKER + i + " ").repeat(500 + i).getBytes(StandardCharsets.UTF_8)
                    : FastCdcTest.random(100 + i, 20_000 + i);
            out.put(keys.id(b, 0, b.length), b);
        }
        return out;
    }

    static List<IndexEntry> writeAll(BackupSink sink, RepoKeys keys, Map<ChunkId, byte[]> chunks, long target) throws IOException {
        List<IndexEntry> entries = new ArrayList<>();
        try (PackWriter w = new PackWriter(new Repo(sink, LAYOUT, keys), Compression.zstd(), target, Path.of(System.getProperty("java.io.tmpdir")),
                (pack, size, es) -> entries.addAll(es))) {
            for (var c : chunks.entrySet()) {
                w.add(c.getKey(), c.getValue(), 0, c.getValue().length);
            }
        }
        return entries;
    }

    static byte[] readAll(BackupSink sink, String key) throws IOException {
        try (InputStream in = sink.read(key)) {
            return in.readAllBytes();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sinksAndKeys")
    void roundTrip(String name, BackupSink sink, RepoKeys keys) throws IOException {
        Map<ChunkId, byte[]> chunks = chunks(keys, 20);
        List<IndexEntry> entries = writeAll(sink, keys, chunks, 100_000);
        assertThat(entries).extracting(IndexEntry::id).containsExactlyElementsOf(chunks.keySet());
        assertThat(entries.stream().map(IndexEntry::pack).distinct().count()).isGreaterThan(1);
        // compressible chunks are stored compressed, noise is stored as it is
        assertThat(entries.get(0).flags()).isEqualTo(BlobCodec.ZSTD);
        assertThat(entries.get(0).length()).isLessThan(entries.get(0).rawLength() / 10);
        assertThat(entries.get(1).flags()).isZero();

        PackReader reader = new PackReader(new Repo(sink, LAYOUT, keys));
        for (IndexEntry e : entries) {
            assertThat(reader.read(e)).isEqualTo(chunks.get(e.id()));
        }
        // every pack is named by the SHA-256 of its bytes, and its own header lists what the index says
        List<String> packs = entries.stream().map(IndexEntry::pack).distinct().toList();
        for (String p : packs) {
            reader.verifyPack(p);
            byte[] bytes = readAll(sink, LAYOUT.pack(p));
            assertThat(Crypto.hex(Crypto.sha256().digest(bytes))).isEqualTo(p);
            assertThat(reader.header(p)).containsExactlyElementsOf(entries.stream().filter(e -> e.pack().equals(p)).toList());
            if (keys.encrypted()) {
                assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).doesNotContain("PLAINTEXT-MARKER");
                for (IndexEntry e : entries) {
                    byte[] sha = Crypto.sha256().digest(chunks.get(e.id()));
                    assertThat(HexFormat.of().formatHex(bytes)).doesNotContain(HexFormat.of().formatHex(sha));
                }
            }
        }
        try (Stream<ObjectInfo> s = sink.listAll(LAYOUT.packsPrefix())) {
            assertThat(s.map(o -> Layout.packName(o.key()))).containsExactlyInAnyOrderElementsOf(packs);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sinksAndKeys")
    void aDamagedByteIsNamedByPackAndChunk(String name, BackupSink sink, RepoKeys keys) throws IOException {
        Map<ChunkId, byte[]> chunks = chunks(keys, 4);
        List<IndexEntry> entries = writeAll(sink, keys, chunks, 1 << 20);
        IndexEntry victim = entries.get(2);
        byte[] bytes = readAll(sink, LAYOUT.pack(victim.pack()));
        bytes[victim.offset() + victim.length() / 2] ^= 0x10;
        overwrite(sink, LAYOUT.pack(victim.pack()), bytes);

        PackReader reader = new PackReader(new Repo(sink, LAYOUT, keys));
        assertThatThrownBy(() -> reader.verifyPack(victim.pack())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("pack " + victim.pack() + " does not hash to its name");
        assertThatThrownBy(() -> reader.read(victim))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("chunk " + victim.id().hex())
                .hasMessageContaining("pack " + victim.pack());
        // the others still read
        assertThat(reader.read(entries.get(1))).isEqualTo(chunks.get(entries.get(1).id()));
    }

    @Test
    void aMissingOrTruncatedPackIsNamed() throws IOException {
        BackupSink sink = Sinks.memory();
        RepoKeys keys = RepoKeys.unencrypted();
        List<IndexEntry> entries = writeAll(sink, keys, chunks(keys, 3), 1 << 20);
        IndexEntry last = entries.get(2);
        byte[] bytes = readAll(sink, LAYOUT.pack(last.pack()));
        overwrite(sink, LAYOUT.pack(last.pack()), java.util.Arrays.copyOf(bytes, last.offset() + 10));
        PackReader reader = new PackReader(new Repo(sink, LAYOUT, keys));
        assertThatThrownBy(() -> reader.read(last)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(last.pack()).hasMessageContaining("truncated");
        assertThatThrownBy(() -> reader.header(last.pack())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(last.pack());
        sink.delete(LAYOUT.pack(last.pack()));
        assertThatThrownBy(() -> reader.read(last)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("in pack " + last.pack() + ": the pack is missing")
                .hasMessageContaining(last.id().hex());
    }

    @Test
    void aWrongKeyIsRefusedClearly() throws IOException {
        BackupSink sink = Sinks.memory();
        RepoKeys right = RepoKeys.fromMaster(FastCdcTest.random(12, 32));
        RepoKeys wrong = RepoKeys.fromMaster(FastCdcTest.random(13, 32));
        List<IndexEntry> entries = writeAll(sink, right, chunks(right, 2), 1 << 20);
        assertThatThrownBy(() -> new PackReader(new Repo(sink, LAYOUT, wrong)).read(entries.get(0)))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("does not authenticate")
                .hasMessageContaining("repository key")
                .hasMessageContaining(entries.get(0).pack());
        assertThatThrownBy(() -> new PackReader(new Repo(sink, LAYOUT, wrong)).header(entries.get(0).pack()))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("header of pack " + entries.get(0).pack());
    }

    @Test
    void aBlobCannotBePassedOffAsAnotherChunk() throws IOException {
        BackupSink sink = Sinks.memory();
        RepoKeys keys = RepoKeys.fromMaster(FastCdcTest.random(14, 32));
        List<IndexEntry> entries = writeAll(sink, keys, chunks(keys, 2), 1 << 20);
        IndexEntry a = entries.get(0);
        IndexEntry swapped = new IndexEntry(entries.get(1).id(), a.pack(), a.offset(), a.length(), a.rawLength(), a.flags());
        assertThatThrownBy(() -> new PackReader(new Repo(sink, LAYOUT, keys)).read(swapped))
                .isInstanceOf(IntegrityException.class).hasMessageContaining(swapped.id().hex());
        BackupSink plainSink = Sinks.memory();
        List<IndexEntry> plain = writeAll(plainSink, RepoKeys.unencrypted(), chunks(RepoKeys.unencrypted(), 2), 1 << 20);
        IndexEntry lie = new IndexEntry(plain.get(1).id(), plain.get(0).pack(), plain.get(0).offset(), plain.get(0).length(),
                plain.get(0).rawLength(), plain.get(0).flags());
        assertThatThrownBy(() -> new PackReader(new Repo(plainSink, LAYOUT, RepoKeys.unencrypted())).read(lie))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("does not hash to its id");
    }

    static void overwrite(BackupSink sink, String key, byte[] bytes) throws IOException {
        try (PendingObject o = sink.create(key)) {
            o.stream().write(bytes);
            o.commit();
        }
    }

    /**
     * A content table read back over many chunks (more than one batch), stored out of order across several packs, so
     * that a batch mixes runs of back-to-back chunks with single ones: every record comes back, and the SHA-256 is the
     * table's. With a chunk the index does not know, the records before it still come back, then the error names it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ownSinksAndKeys")
    void aContentTableReadsBackAcrossBatchesAndPacksAndStopsAtAnUnknownChunk(String name, BackupSink sink, RepoKeys keys) throws IOException {
        java.io.ByteArrayOutputStream table = new java.io.ByteArrayOutputStream();
        List<ContentTable.Record> records = new ArrayList<>();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(table)) {
            for (int i = 0; i < 3000; i++) {
                ContentTable.Record r = i % 3 == 0 ? ContentTable.Record.inline(("header " + i + " ").repeat(1 + i % 7).getBytes(StandardCharsets.UTF_8))
                        : ContentTable.Record.file("dir-" + (i / 50) + "/file-" + i + ".go",
                        new dev.sgbackup.store.BackupOutput.FileStamp(i, 1_000L * i, 2_000L * i, 10_000 + i),
                        List.of(new ContentTable.Chunk(keys.id(new byte[] {(byte) i}, 0, 1), 1 + i)));
                records.add(r);
                ContentTable.write(out, r);
            }
        }
        byte[] bytes = table.toByteArray();
        List<ChunkId> ids = new ArrayList<>();
        Map<ChunkId, byte[]> pieces = new LinkedHashMap<>();
        for (int off = 0; off < bytes.length; off += 1500) {
            byte[] piece = java.util.Arrays.copyOfRange(bytes, off, Math.min(bytes.length, off + 1500));
            ChunkId id = keys.id(piece, 0, piece.length);
            ids.add(id);
            pieces.put(id, piece);
        }
        assertThat(ids).hasSizeGreaterThan(3 * 16);
        // packed in an order of their own: every third piece first, so a table batch meets runs and gaps
        Map<ChunkId, byte[]> packed = new LinkedHashMap<>();
        for (int k = 0; k < 3; k++) {
            for (int i = k; i < ids.size(); i += 3) {
                packed.put(ids.get(i), pieces.get(ids.get(i)));
            }
        }
        Map<ChunkId, IndexEntry> index = new java.util.HashMap<>();
        writeAll(sink, keys, packed, 20_000).forEach(e -> index.put(e.id(), e));
        assertThat(index.values().stream().map(IndexEntry::pack).distinct().count()).isGreaterThan(3);
        Repo repo = new Repo(sink, LAYOUT, keys);

        TableInput in = new TableInput(repo, index::get, ids, "the test table", true);
        List<String> back = new ArrayList<>();
        for (ContentTable.Record r; (r = in.next()) != null; ) {
            back.add(r.toString() + (r.stamp() == null ? "" : " " + r.stamp()) + r.chunks());
        }
        assertThat(back).containsExactlyElementsOf(records.stream()
                .map(r -> r.toString() + (r.stamp() == null ? "" : " " + r.stamp()) + r.chunks()).toList());
        assertThat(in.sha256()).isEqualTo(Crypto.hex(Crypto.sha256().digest(bytes)));

        int unknown = 2 * 16 + 5; // in the third batch, not its first chunk
        ChunkId missing = ids.get(unknown);
        TableInput partial = new TableInput(repo, id -> id.equals(missing) ? null : index.get(id), ids, "the test table");
        int served = 0;
        assertThatThrownBy(() -> {
            while (partial.next() != null) {
                // counted below
            }
        }).isInstanceOfSatisfying(TableInput.NotIndexed.class, e -> {
            assertThat(e.id).isEqualTo(missing);
            assertThat(e).hasMessageContaining("chunk " + missing + " is not in the index").hasMessageContaining("the test table");
        });
        // the records wholly in the chunks before the unknown one were served before the error
        TableInput counting = new TableInput(repo, id -> id.equals(missing) ? null : index.get(id), ids, "the test table");
        try {
            while (counting.next() != null) {
                served++;
            }
        } catch (TableInput.NotIndexed expected) {
            // the count so far is what matters
        }
        int whole = 0;
        long end = (long) unknown * 1500;
        long pos = 0;
        for (ContentTable.Record r : records) {
            java.io.ByteArrayOutputStream one = new java.io.ByteArrayOutputStream();
            ContentTable.write(new java.io.DataOutputStream(one), r);
            pos += one.size();
            if (pos <= end) {
                whole++;
            }
        }
        assertThat(served).isEqualTo(whole).isGreaterThan(100);
    }
}
