package dev.sgbackup.dedup;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Compression;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.io.BufferedInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Measures FastCDC chunk sizes on data shaped like what sgbackup backs up, to choose {@link ChunkParams#DEFAULT}
 * (docs/dedup.md has the figures). Not a test; run it by hand:
 * <pre>
 * mvn -o -q -pl core test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp core/target/classes:core/target/test-classes:$(cat /tmp/cp.txt) dev.sgbackup.dedup.ChunkSizeBench [MB]
 * </pre>
 * Data sets (generated deterministically into a temp directory, deleted at the end):
 * <ul>
 *   <li>a PostgreSQL COPY text stream of an {@code event_logs}-like table (~MB, default 200), then the same with 2%
 *       rows appended, and with 2% appended plus 1% of the rows updated — once as one block in the middle, once
 *       scattered over the middle half (COPY follows physical order, so after VACUUM updates scatter);
 *   <li>a tar of a source tree (~MB/2 in small files plus three large files), then with 1% of files edited;
 *       chunked as one tar stream, and file by file (each file's contents on their own, as restic does).
 * </ul>
 * For each average size (min = avg/4, max = avg*4, normalization level 2) it prints chunk+id throughput, the
 * full store path's throughput (chunk, id, zstd, pack to a local sink), and the share of new bytes in the second
 * version: plaintext new / total, and pack bytes added / first backup's pack bytes.
 */
public final class ChunkSizeBench {
    private static final String[] EVENTS = {"ViewRepository", "ViewBlob", "SearchResultsQueried", "SearchSubmitted",
        "CodeIntelligenceHover", "GoToDefinition", "FindReferences", "ViewHome", "BatchChangeCreated", "InsightViewed",
        "CodyChatSubmitted", "CodyCompletionAccepted", "ViewSignIn", "UserSettingsUpdated", "ExtensionActivated"};
    private static final String[] WORDS = ("func return if else for range var const type struct interface package import "
            + "err nil string int bool map chan go defer select case switch default break continue true false make new "
            + "len append copy context ctx request response handler server client config options value result").split(" ");

    private ChunkSizeBench() {
    }

    public static void main(String[] args) throws IOException {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path dir = Files.createTempDirectory("sgbackup-dedup-bench-");
        try {
            long rows = mb * 1_000_000L / 265; // rows average 265 bytes
            Path v1 = dir.resolve("event_logs.v1");
            Path app = dir.resolve("event_logs.append");
            Path blk = dir.resolve("event_logs.block");
            Path sct = dir.resolve("event_logs.scatter");
            long t0 = System.nanoTime();
            writeRows(v1, rows, 0, 0);
            writeRows(app, rows + rows / 50, 0, 0);
            writeRows(blk, rows + rows / 50, 1, rows / 100);
            writeRows(sct, rows + rows / 50, 2, rows / 100);
            Path tree = dir.resolve("tree");
            Path tar1 = dir.resolve("tree.v1.tar");
            Path tar2 = dir.resolve("tree.v2.tar");
            makeTree(tree, mb / 2);
            tar(tree, tar1);
            editTree(tree);
            tar(tree, tar2);
            System.out.printf(Locale.ROOT, "data generated in %.1f s: COPY %d MB (%d rows), tar %d MB; %d cores, Java %s, load %s%n",
                    (System.nanoTime() - t0) / 1e9, Files.size(v1) >> 20, rows, Files.size(tar1) >> 20,
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), loadAverage());
            System.out.println("| data | avg (min/max) | chunks v1 | new plaintext | pack bytes added |");
            System.out.println("|---|---|---:|---:|---:|");
            for (int avg : new int[]{64 << 10, 256 << 10, 1 << 20}) {
                ChunkParams p = ChunkParams.withAverage(avg);
                run("COPY +2% rows appended", v1, app, p, dir);
                run("COPY +2% appended, 1% updated (block)", v1, blk, p, dir);
                run("COPY +2% appended, 1% updated (scattered)", v1, sct, p, dir);
                run("tar, 1% of files edited", tar1, tar2, p, dir);
                run("same tree chunked per file, 1% edited", tar1, tar2, p, dir);
            }
            System.out.printf(Locale.ROOT, "%nthroughput, best of %d (load average before: %s)%n", REPEAT, loadAverage());
            System.out.println("| data | avg | chunk+id MB/s | chunk+id+zstd+pack (memory sink) MB/s |");
            System.out.println("|---|---|---:|---:|");
            for (int avg : new int[]{64 << 10, 256 << 10, 1 << 20}) {
                throughput("COPY", v1, false, ChunkParams.withAverage(avg));
                throughput("tree per file", tar1, true, ChunkParams.withAverage(avg));
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** A stream to store: the whole file, or (per file) each file of a tar on its own, as restic chunks files. */
    private interface Storer {
        long store(InputStream in) throws IOException;
    }

    private static long feed(Path file, boolean perFile, Storer s) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            if (!perFile) {
                return s.store(in);
            }
            long total = 0;
            TarArchiveInputStream tar = new TarArchiveInputStream(new BufferedInputStream(in, 1 << 16));
            while (tar.getNextEntry() != null) {
                total += s.store(tar);
            }
            return total;
        }
    }

    private static void run(String name, Path first, Path second, ChunkParams p, Path dir) throws IOException {
        boolean perFile = name.contains("per file");
        RepoKeys keys = RepoKeys.unencrypted();
        FastCdc cdc = keys.chunker(p);
        Set<ChunkId> ids = new HashSet<>();
        feed(first, perFile, in -> cdc.chunk(in, (off, buf, o, len) -> ids.add(keys.id(buf, o, len))));
        int chunks = ids.size();
        // the store path: chunk, id, zstd, packs of 16 MiB on a local sink; then the second version
        Path repo = Files.createTempDirectory(dir, "repo-");
        BackupSink sink = Sinks.local(repo);
        Layout layout = new Layout("dedup");
        ChunkIndex index = new ChunkIndex();
        long firstPacks;
        try (ChunkWriter w = writer(keys, p, index, sink, layout, dir)) {
            feed(first, perFile, in -> w.write(in, (id, off, len, isNew) -> { }));
            w.close();
            firstPacks = w.packBytes();
        }
        long newPlain;
        long total;
        long addedPacks;
        try (ChunkWriter w = writer(keys, p, index, sink, layout, dir)) {
            total = feed(second, perFile, in -> w.write(in, (id, off, len, isNew) -> { }));
            w.close();
            newPlain = w.newBytes();
            addedPacks = w.packBytes();
        }
        System.out.printf(Locale.ROOT, "| %s | %d KiB (%d/%d) | %d | %.2f%% | %.2f%% |%n", name, p.avg() >> 10,
                p.min() >> 10, p.max() >> 10, chunks, 100.0 * newPlain / total, 100.0 * addedPacks / firstPacks);
        try (Stream<Path> s = Files.walk(repo)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    static final int REPEAT = 5;

    /** Best of {@link #REPEAT}: the build machine is shared, the best run is the least disturbed one. */
    private static void throughput(String name, Path file, boolean perFile, ChunkParams p) throws IOException {
        RepoKeys keys = RepoKeys.unencrypted();
        FastCdc cdc = keys.chunker(p);
        double mb = Files.size(file) / 1e6;
        double chunk = 0;
        double store = 0;
        for (int i = 0; i < REPEAT; i++) {
            long t = System.nanoTime();
            feed(file, perFile, in -> cdc.chunk(in, (off, buf, o, len) -> keys.id(buf, o, len)));
            chunk = Math.max(chunk, mb / ((System.nanoTime() - t) / 1e9));
            BackupSink sink = Sinks.memory();
            t = System.nanoTime();
            try (ChunkWriter w = writer(keys, p, new ChunkIndex(), sink, new Layout("dedup"), file.getParent())) {
                feed(file, perFile, in -> w.write(in, (id, off, len, isNew) -> { }));
            }
            store = Math.max(store, mb / ((System.nanoTime() - t) / 1e9));
        }
        System.out.printf(Locale.ROOT, "| %s | %d KiB | %.0f | %.0f |%n", name, p.avg() >> 10, chunk, store);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static ChunkWriter writer(RepoKeys keys, ChunkParams p, ChunkIndex index, BackupSink sink, Layout layout,
                                      Path tmp) {
        return new ChunkWriter(new Repo(sink, layout, keys), p, index, "bench", Compression.zstd(), 16 << 20, tmp);
    }

    /**
     * {@code rows} rows of an event_logs-like table in COPY text format; {@code variant} 1 updates {@code updated}
     * rows as one block in the middle, 2 updates them scattered over the middle half.
     */
    private static void writeRows(Path file, long rows, int variant, long updated) throws IOException {
        long original = rows * 50 / 51; // the 2% appended rows are the last ones
        SplittableRandom pick = new SplittableRandom(7);
        Set<Long> scattered = new HashSet<>();
        while (variant == 2 && scattered.size() < updated) {
            scattered.add(original / 4 + pick.nextLong(original / 2));
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            StringBuilder sb = new StringBuilder(512);
            for (long i = 0; i < rows; i++) {
                boolean upd = variant == 1 && i >= original / 2 && i < original / 2 + updated
                        || variant == 2 && scattered.contains(i);
                sb.setLength(0);
                row(sb, i, upd);
                out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static void row(StringBuilder sb, long id, boolean updated) {
        SplittableRandom r = new SplittableRandom(id * 0x9E3779B97F4A7C15L + 17);
        String event = EVENTS[r.nextInt(EVENTS.length)];
        long user = r.nextInt(5) == 0 ? 0 : 1 + r.nextInt(2000);
        long ts = 1_764_000_000_000_000L + id * 1_500_000L + r.nextInt(1_000_000);
        sb.append(id).append('\t').append(event).append('\t')
                .append("https://sourcegraph.example.com/github.com/org").append(r.nextInt(50)).append("/repo")
                .append(r.nextInt(3000)).append("/-/blob/").append(WORDS[r.nextInt(WORDS.length)]).append('/')
                .append(WORDS[r.nextInt(WORDS.length)]).append(".go").append('\t')
                .append(user).append('\t')
                .append(String.format(Locale.ROOT, "%08x-%04x-4%03x-a%03x-%012x", r.nextInt(), r.nextInt(1 << 16),
                        r.nextInt(1 << 12), r.nextInt(1 << 12), r.nextLong(1L << 48))).append('\t')
                .append(r.nextBoolean() ? "WEB" : "BACKEND").append('\t')
                .append("{\"query\": \"").append(WORDS[r.nextInt(WORDS.length)]).append(' ').append(WORDS[r.nextInt(WORDS.length)])
                .append(" repo:^github\\\\.com/org").append(r.nextInt(50)).append("$\", \"resultCount\": ")
                .append(updated ? r.nextInt(500) + 1000 : r.nextInt(500)).append(", \"durationMs\": ").append(r.nextInt(3000))
                .append("}\t5.11.0\t")
                .append(java.time.Instant.ofEpochSecond(ts / 1_000_000, (ts % 1_000_000) * 1000).toString()
                        .replace('T', ' ').replace("Z", "+00"))
                .append('\t').append(updated ? "{\"cody\": true}" : "{}").append('\n');
    }

    /** About {@code mb} MB of source-like files (log-uniform 1–64 KiB) plus three 5 MB files. */
    private static void makeTree(Path root, int mb) throws IOException {
        Files.createDirectories(root);
        SplittableRandom r = new SplittableRandom(42);
        long target = mb * 1_000_000L - 15_000_000L;
        long written = 0;
        int n = 0;
        while (written < target) {
            int size = (int) Math.pow(2, 10 + r.nextDouble() * 6);
            Path f = root.resolve("src/pkg" + (n % 97) + "/sub" + (n % 13) + "/file" + n + ".go");
            Files.createDirectories(f.getParent());
            Files.write(f, source(r, size));
            written += size;
            n++;
        }
        for (int i = 0; i < 3; i++) {
            Files.write(root.resolve("large" + i + ".dat"), source(r, 5_000_000));
        }
    }

    private static byte[] source(SplittableRandom r, int size) {
        StringBuilder sb = new StringBuilder(size + 100);
        while (sb.length() < size) {
            int indent = r.nextInt(4);
            sb.append("\t".repeat(indent));
            int words = 2 + r.nextInt(8);
            for (int w = 0; w < words; w++) {
                sb.append(WORDS[r.nextInt(WORDS.length)]).append(w == words - 1 ? "" : " ");
            }
            sb.append(r.nextInt(10) == 0 ? " {\n" : "\n");
        }
        sb.setLength(size);
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Edits 1% of the files: a line inserted in the middle (sizes and later offsets shift). */
    private static void editTree(Path root) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        SplittableRandom r = new SplittableRandom(99);
        for (int i = 0; i < files.size() / 100; i++) {
            Path f = files.get(r.nextInt(files.size()));
            byte[] b = Files.readAllBytes(f);
            int at = b.length / 2;
            byte[] ins = "\t// edited: handle the error here\n".getBytes(StandardCharsets.US_ASCII);
            byte[] out = new byte[b.length + ins.length];
            System.arraycopy(b, 0, out, 0, at);
            System.arraycopy(ins, 0, out, at, ins.length);
            System.arraycopy(b, at, out, at + ins.length, b.length - at);
            Files.write(f, out);
            Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(1_764_100_000_000L));
        }
    }

    private static void tar(Path root, Path tarFile) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new BufferedOutputStream(Files.newOutputStream(tarFile), 1 << 16))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Path f : files) {
                TarArchiveEntry e = new TarArchiveEntry(f.toFile(), root.relativize(f).toString());
                tar.putArchiveEntry(e);
                Files.copy(f, tar);
                tar.closeArchiveEntry();
            }
        }
    }
}
