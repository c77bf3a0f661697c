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
}
