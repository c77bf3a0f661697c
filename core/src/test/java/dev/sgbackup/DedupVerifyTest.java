package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ForwardingSink;
import dev.sgbackup.sink.ListPage;
import dev.sgbackup.sink.Sinks;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** verify levels of a deduplicated backup: structure (default), --read-data, --read-data-subset. */
class DedupVerifyTest {
    @TempDir
    Path tmp;

    /** Records whole reads and ranged reads of packs, and listings. */
    static final class CountingSink extends ForwardingSink {
        final List<String> packReads = new CopyOnWriteArrayList<>();
        final List<String> rangedPackReads = new CopyOnWriteArrayList<>();
        final List<String> listings = new CopyOnWriteArrayList<>();

        CountingSink(BackupSink inner) {
            super(inner);
        }

        @Override
        public InputStream read(String key) throws IOException {
            if (key.startsWith("dedup/packs/")) {
                packReads.add(key.substring(key.lastIndexOf('/') + 1));
            }
            return inner.read(key);
        }

        @Override
        public InputStream read(String key, long offset, long length) throws IOException {
            if (key.startsWith("dedup/packs/")) {
                rangedPackReads.add(key);
            }
            return inner.read(key, offset, length);
        }

        @Override
        public ListPage list(String prefix, String pageToken) throws IOException {
            listings.add(prefix);
            return inner.list(prefix, pageToken);
        }

        void reset() {
            packReads.clear();
            rangedPackReads.clear();
            listings.clear();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private List<Path> packs(Path sinkDir) throws IOException {
        try (Stream<Path> s = Files.walk(sinkDir.resolve("dedup/packs"))) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static void flip(Path file, long at) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int i = (int) (at < 0 ? b.length + at : at);
        b[i] ^= 1;
        Files.write(file, b);
    }

    /** {@code stores} stores of one 1 MiB random artifact each: one pack per store. */
    private RunResult backup(SgBackup sg, int stores) {
        List<BytesStore> all = new ArrayList<>();
        for (int i = 0; i < stores; i++) {
            all.add(new BytesStore("s" + i).with("art", random(1 << 20, i)));
        }
        RunResult r = sg.backup(all);
        assertThat(r.ok()).as(r.toString()).isTrue();
        return r;
    }

    @Test
    void structureIsTheDefaultAndReadsOnlyContentTablesReadDataReadsEachPackOnceWhole() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        CountingSink sink = new CountingSink(Sinks.local(sinkDir));
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).build();
        RunResult r = backup(sg, 3);
        List<Path> packs = packs(sinkDir);
        assertThat(packs).hasSize(3);
        sink.reset();

        VerifyReport structure = sg.verify(r.backupId());
        assertThat(structure.ok()).as(structure.toString()).isTrue();
        assertThat(structure.options()).isEqualTo(VerifyOptions.structure());
        assertThat(structure.packs()).isEqualTo(3);
        assertThat(structure.packsRead()).isZero();
        assertThat(structure.chunks()).isPositive();
        assertThat(sink.packReads).isEmpty();
        // the content tables' chunks (one small chunk per artifact here), to find the content chunks: no content chunk
        assertThat(sink.rangedPackReads).hasSize(3);
        assertThat(sink.listings).containsOnlyOnce("dedup/packs/");

        sink.reset();
        VerifyReport data = sg.verify(r.backupId(), VerifyOptions.readData());
        assertThat(data.ok()).as(data.toString()).isTrue();
        assertThat(data.packsRead()).isEqualTo(3);
        // the three artifacts' bytes, and their content tables' (a few dozen bytes each)
        assertThat(data.bytes()).isBetween(3L << 20, (3L << 20) + 1024);
        assertThat(sink.packReads).containsExactlyInAnyOrderElementsOf(packs.stream().map(p -> p.getFileName().toString()).toList());
        // whole packs, not chunk by chunk: the only ranged reads are of the content tables' chunks, as for structure
        assertThat(sink.rangedPackReads).hasSize(3);
        assertThat(data.toString()).contains("3 of 3 packs read (read-data)");
    }

    @Test
    void aFlippedByteInAChunkPassesStructureAndIsNamedByReadDataWithPackAndChunk() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).build();
        RunResult r = backup(sg, 1);
        Path pack = packs(sinkDir).get(0);
        flip(pack, 1000); // inside the first blob
        String name = pack.getFileName().toString();

        assertThat(sg.verify(r.backupId()).ok()).as("structure does not read chunks").isTrue();
        VerifyReport report = sg.verify(r.backupId(), VerifyOptions.readData());
        assertThat(report.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Problem.Kind.DAMAGED);
            assertThat(p.store()).isEqualTo("s0");
            assertThat(p.message()).startsWith("s0/art (dedup/trees/").containsPattern("chunk [0-9a-f]{64} in pack " + name);
        });
        assertThat(sg.verify(r.backupId(), VerifyOptions.readDataSubset(1)).ok()).as("1% of one pack is that pack").isFalse();
    }

    @Test
    void aDamagedPackHeaderFailsTheWholePackHash() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).build();
        RunResult r = backup(sg, 1);
        Path pack = packs(sinkDir).get(0);
        flip(pack, -9); // the header's last byte, just before the trailer: no chunk the index points at changes
        assertThat(sg.verify(r.backupId()).ok()).isTrue();
        assertThat(sg.verify(r.backupId(), VerifyOptions.readData()).problems()).singleElement().asString()
                .contains("pack " + pack.getFileName() + " does not hash to its name");
    }

    @Test
    void structureFindsMissingAndTruncatedPacksAndChunksMissingFromTheIndexWithoutReadingPacks() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        CountingSink sink = new CountingSink(Sinks.local(sinkDir));
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).build();
        RunResult r = backup(sg, 3);
        List<Path> packs = packs(sinkDir);
        Files.delete(packs.get(0));
        byte[] b = Files.readAllBytes(packs.get(1));
        Files.write(packs.get(1), java.util.Arrays.copyOf(b, b.length / 2));
        sink.reset();

        VerifyReport report = sg.verify(r.backupId());
        assertThat(sink.packReads).isEmpty();
        assertThat(report.messages()).hasSize(2);
        assertThat(report.messages()).anySatisfy(m -> assertThat(m).contains("pack " + packs.get(0).getFileName()).contains("missing"));
        assertThat(report.messages()).anySatisfy(m -> assertThat(m).containsPattern("chunk [0-9a-f]{64} in pack " + packs.get(1).getFileName())
                .contains("truncated"));
        assertThat(report.problems()).extracting(VerifyReport.Problem::kind)
                .containsExactlyInAnyOrder(VerifyReport.Problem.Kind.MISSING, VerifyReport.Problem.Kind.DAMAGED);
        // read-data reads only the intact pack: the two bad ones are reported once, not again
        sink.reset();
        VerifyReport data = sg.verify(r.backupId(), VerifyOptions.readData());
        assertThat(data.messages()).hasSize(2);
        assertThat(data.packsRead()).isEqualTo(1);
        assertThat(sink.packReads).containsExactly(packs.get(2).getFileName().toString());

        // the index of a store lost: its chunks are named as not indexed
        try (Stream<Path> s = Files.walk(sinkDir.resolve("dedup/index"))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.delete(p);
            }
        }
        assertThat(sg.verify(r.backupId()).messages()).hasSize(3)
                .allSatisfy(m -> assertThat(m).containsPattern("chunk [0-9a-f]{64} (and \\d+ more of its chunks are|is) not in the index of store s\\d"));
    }

    @Test
    void aSwappedTreeObjectIsNamed() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).build();
        RunResult r = backup(sg, 1);
        String tree = sg.show(r.backupId()).artifacts().get(0).key();
        flip(sinkDir.resolve(tree), -1);
        assertThat(sg.verify(r.backupId()).problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Problem.Kind.DAMAGED);
            assertThat(p.message()).contains("tree object " + tree + " is damaged");
        });
        Files.delete(sinkDir.resolve(tree));
        assertThat(sg.verify(r.backupId()).problems()).singleElement()
                .satisfies(p -> assertThat(p.kind()).isEqualTo(VerifyReport.Problem.Kind.MISSING));
    }

    @Test
    void subsetsReadAShareOfThePacks() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        CountingSink sink = new CountingSink(Sinks.local(sinkDir));
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).build();
        RunResult r = backup(sg, 10);
        List<String> all = packs(sinkDir).stream().map(p -> p.getFileName().toString()).toList();
        assertThat(all).hasSize(10);

        sink.reset();
        VerifyReport tenth = sg.verify(r.backupId(), VerifyOptions.readDataSubset(10));
        assertThat(tenth.ok()).isTrue();
        assertThat(tenth.packsRead()).isEqualTo(1);
        assertThat(sink.packReads).hasSize(1);
        sink.reset();
        assertThat(sg.verify(r.backupId(), VerifyOptions.readDataSubset(25)).packsRead()).as("rounded up").isEqualTo(3);
        assertThat(sink.packReads).hasSize(3).doesNotHaveDuplicates();

        // n/m: a fixed partition; 1/3, 2/3 and 3/3 read every pack exactly once
        Set<String> seen = new HashSet<>();
        int total = 0;
        for (int n = 1; n <= 3; n++) {
            sink.reset();
            VerifyReport part = sg.verify(r.backupId(), VerifyOptions.parseSubset(n + "/3"));
            assertThat(part.ok()).isTrue();
            assertThat(part.options().toString()).isEqualTo("read-data-subset " + n + "/3");
            total += part.packsRead();
            seen.addAll(sink.packReads);
            sink.reset();
            sg.verify(r.backupId(), VerifyOptions.readDataSubset(n, 3));
            assertThat(sink.packReads).as("the same subset every time").hasSize(part.packsRead());
        }
        assertThat(total).isEqualTo(10);
        assertThat(seen).containsExactlyInAnyOrderElementsOf(all);

        // with every pack damaged, a 10% subset finds exactly the one pack it read
        for (Path p : packs(sinkDir)) {
            flip(p, 1000);
        }
        sink.reset();
        VerifyReport bad = sg.verify(r.backupId(), VerifyOptions.parseSubset("10%"));
        assertThat(bad.problems()).singleElement().asString().containsPattern("chunk [0-9a-f]{64} in pack " + sink.packReads.get(0));
    }

    @Test
    void subsetSpecsAreParsedAndBadOnesRefused() {
        assertThat(VerifyOptions.parseSubset("10%").percent()).isEqualTo(10);
        assertThat(VerifyOptions.parseSubset(" 2/5 ").subset()).isEqualTo(2);
        assertThat(VerifyOptions.parseSubset("100%")).isEqualTo(VerifyOptions.readData());
        assertThat(VerifyOptions.readDataSubset(1, 1)).isEqualTo(VerifyOptions.readData());
        for (String bad : List.of("0%", "101%", "10", "0/3", "4/3", "x%", "1/0", "")) {
            assertThatThrownBy(() -> VerifyOptions.parseSubset(bad)).as(bad).isInstanceOf(InvalidInputException.class);
        }
    }

    @Test
    void aFullBackupIsReadWholeWhateverTheOptions() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.to(Sinks.local(sinkDir));
        RunResult r = sg.backup(new BytesStore("s").with("art", random(100_000, 9)));
        VerifyReport structure = sg.verify(r.backupId());
        VerifyReport data = sg.verify(r.backupId(), VerifyOptions.readDataSubset(10));
        assertThat(structure.bytes()).isEqualTo(100_000).isEqualTo(data.bytes());
        assertThat(structure.packs()).isZero();
        // damage is found at the default level too: a full backup is always read
        try (Stream<Path> s = Files.walk(sinkDir.resolve("data"))) {
            Path art = s.filter(Files::isRegularFile).findFirst().orElseThrow();
            flip(art, 500);
        }
        assertThat(sg.verify(r.backupId()).ok()).isFalse();
    }
}
