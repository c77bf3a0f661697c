package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FastCdcTest {
    static final ChunkParams SMALL = ChunkParams.withAverage(8 << 10);

    record Cut(long offset, int length, ChunkId id) {
    }

    static List<Cut> cuts(FastCdc cdc, byte[] data) throws IOException {
        List<Cut> out = new ArrayList<>();
        cdc.chunk(new ByteArrayInputStream(data), (off, buf, o, len) ->
                out.add(new Cut(off, len, RepoKeys.unencrypted().id(buf, o, len))));
        return out;
    }

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    static FastCdc chunker(ChunkParams p) {
        return new FastCdc(p, FastCdc.defaultGear());
    }

    @Test
    void theDefaultGearTableIsPinned() {
        // the table is part of the repository format: changing it would change every boundary
        long[] g = FastCdc.defaultGear();
        assertThat(g).hasSize(256).doesNotHaveDuplicates();
        assertThat(new long[]{g[0], g[1], g[255]}).containsExactly(GEAR_0, GEAR_1, GEAR_255);
    }

    static final long GEAR_0 = -5392977151544787229L;
    static final long GEAR_1 = -5508995774457704364L;
    static final long GEAR_255 = -3943228759147958145L;

    @Test
    void boundariesAreDeterministicAndPinned() throws IOException {
        byte[] data = random(1, 1 << 20);
        List<Cut> a = cuts(chunker(SMALL), data);
        List<Cut> b = cuts(chunker(SMALL), data.clone());
        assertThat(a).isEqualTo(b);
        // pinned: the same on every JVM and run (the first ten chunk lengths of this input)
        assertThat(a.stream().limit(10).map(Cut::length).toList()).containsExactly(PINNED);
    }

    static final Integer[] PINNED = {4935, 2762, 8269, 10009, 8340, 8632, 8316, 5389, 9181, 12982};

    @Test
    void chunksCoverTheInputAndRespectMinAndMax() throws IOException {
        byte[] data = random(2, 3 << 20);
        List<Cut> cs = cuts(chunker(SMALL), data);
        long expect = 0;
        for (int i = 0; i < cs.size(); i++) {
            Cut c = cs.get(i);
            assertThat(c.offset()).isEqualTo(expect);
            assertThat(c.length()).isLessThanOrEqualTo(SMALL.max());
            if (i < cs.size() - 1) {
                assertThat(c.length()).isGreaterThanOrEqualTo(SMALL.min());
            }
            expect += c.length();
        }
        assertThat(expect).isEqualTo(data.length);
        double mean = (double) data.length / cs.size();
        // normalized chunking keeps the mean near the average on random data
        assertThat(mean).isBetween(SMALL.avg() * 0.7, SMALL.avg() * 1.5);
    }

    @Test
    void aRunOfZerosStaysWithinMax() throws IOException {
        // one repeated byte drives the hash to a fixed point: it cuts at once or never, and never past max
        List<Cut> cs = cuts(chunker(SMALL), new byte[200_000]);
        assertThat(cs).allSatisfy(c -> assertThat(c.length()).isBetween(1, SMALL.max()));
        assertThat(cs.stream().mapToLong(Cut::length).sum()).isEqualTo(200_000);
    }

    @Test
    void anInsertionChangesOnlyTheChunksAroundIt() throws IOException {
        byte[] data = random(3, 2 << 20);
        byte[] edited = new byte[data.length + 100];
        int at = 700_000;
        System.arraycopy(data, 0, edited, 0, at);
        System.arraycopy(random(4, 100), 0, edited, at, 100);
        System.arraycopy(data, at, edited, at + 100, data.length - at);
        List<ChunkId> before = cuts(chunker(SMALL), data).stream().map(Cut::id).toList();
        List<Cut> after = cuts(chunker(SMALL), edited);
        List<Cut> changed = after.stream().filter(c -> !before.contains(c.id())).toList();
        assertThat(before).hasSizeGreaterThan(100);
        assertThat(changed).hasSizeBetween(1, 3);
        assertThat(changed).allSatisfy(c -> assertThat(c.offset()).isBetween(at - 3L * SMALL.max(), at + 3L * SMALL.max()));
    }

    @Test
    void emptyAndTinyInputs() throws IOException {
        assertThat(cuts(chunker(SMALL), new byte[0])).isEmpty();
        assertThat(chunker(SMALL).chunk(InputStream.nullInputStream(), (o, b, off, l) -> {
            throw new AssertionError("no chunk expected");
        })).isZero();
        List<Cut> one = cuts(chunker(SMALL), new byte[]{42});
        assertThat(one).singleElement().satisfies(c -> {
            assertThat(c.offset()).isZero();
            assertThat(c.length()).isEqualTo(1);
        });
        byte[] belowMin = random(5, SMALL.min() - 1);
        assertThat(cuts(chunker(SMALL), belowMin)).singleElement().extracting(Cut::length).isEqualTo(belowMin.length);
    }

    @Test
    void keyedGearTablesCutElsewhere() throws IOException {
        byte[] data = random(6, 1 << 20);
        List<Cut> plain = cuts(chunker(SMALL), data);
        List<Cut> keyed = cuts(new FastCdc(SMALL, FastCdc.gear(new byte[32])), data);
        List<Cut> keyed2 = cuts(new FastCdc(SMALL, RepoKeys.fromMaster(random(7, 32)).gear()), data);
        assertThat(keyed.stream().map(Cut::offset).toList()).isNotEqualTo(plain.stream().map(Cut::offset).toList());
        assertThat(keyed2.stream().map(Cut::offset).toList()).isNotEqualTo(keyed.stream().map(Cut::offset).toList());
    }

    /** 256 MiB generated on the fly: the chunker never holds more than max bytes the consumer has not seen. */
    @Test
    void streamsWithBoundedMemory() throws IOException {
        ChunkParams p = ChunkParams.withAverage(64 << 10);
        long total = 256L << 20;
        long[] delivered = {0};
        long[] maxAhead = {0};
        InputStream gen = new InputStream() {
            private final SplittableRandom r = new SplittableRandom(8);
            private long produced;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (produced == total) {
                    return -1;
                }
                int n = (int) Math.min(len, total - produced);
                for (int i = 0; i < n; i += 8) {
                    long v = r.nextLong();
                    for (int j = 0; j < 8 && i + j < n; j++) {
                        b[off + i + j] = (byte) (v >>> (8 * j));
                    }
                }
                produced += n;
                maxAhead[0] = Math.max(maxAhead[0], produced - delivered[0]);
                return n;
            }
        };
        long[] chunks = {0};
        long read = chunker(p).chunk(gen, (off, buf, o, len) -> {
            assertThat(off).isEqualTo(delivered[0]);
            delivered[0] += len;
            chunks[0]++;
        });
        assertThat(read).isEqualTo(total);
        assertThat(delivered[0]).isEqualTo(total);
        assertThat(maxAhead[0]).isLessThanOrEqualTo(p.max());
        assertThat(chunks[0]).isBetween(total / p.max(), total / p.min());
    }

    @Test
    void theSplitterCutsWhatTheReaderCutsWhateverTheWriteSizes() throws IOException {
        byte[] data = random(11, 300_000);
        FastCdc cdc = chunker(SMALL);
        List<Cut> expected = cuts(cdc, data);
        for (int step : new int[]{1, 7, 4096, 40_000, data.length}) {
            List<Cut> got = new ArrayList<>();
            try (var out = cdc.splitter((off, buf, o, len) -> got.add(new Cut(off, len, RepoKeys.unencrypted().id(buf, o, len))))) {
                for (int i = 0; i < data.length; i += step) {
                    out.write(data, i, Math.min(step, data.length - i));
                }
            }
            assertThat(got).as("writes of %d bytes", step).isEqualTo(expected);
        }
        List<Cut> none = new ArrayList<>();
        cdc.splitter((off, buf, o, len) -> none.add(null)).close();
        assertThat(none).isEmpty();
    }

    @Test
    void aCutStartsTheChunksTheReaderCutsFromTheBytesAfterItAlone() throws IOException {
        // a file's content chunked after a cut gives the same chunks wherever the file sits in the stream
        byte[] before = random(12, 70_000);
        byte[] file = random(13, 250_000);
        FastCdc cdc = chunker(SMALL);
        List<ChunkId> alone = new ArrayList<>();
        for (Cut c : cuts(cdc, file)) {
            alone.add(c.id());
        }
        List<ChunkId> got = new ArrayList<>();
        int[] mark = new int[1];
        try (var out = cdc.splitter((off, buf, o, len) -> got.add(RepoKeys.unencrypted().id(buf, o, len)))) {
            out.write(before);
            out.cut();
            mark[0] = got.size();
            assertThat(out.position()).isEqualTo(before.length);
            out.write(file);
            out.cut();
            assertThat(got.subList(mark[0], got.size())).isEqualTo(alone);
            out.cut(); // nothing buffered: no empty chunk
            assertThat(got.size() - mark[0]).isEqualTo(alone.size());
        }
    }
}
