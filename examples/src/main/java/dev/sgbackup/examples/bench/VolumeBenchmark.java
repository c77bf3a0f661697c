package dev.sgbackup.examples.bench;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.Stores;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One job, so one file: the volume benchmark.
 *
 * <p>Volume benchmark: generates a volume (tens of thousands of small source-like files plus a few large
 * incompressible ones), then, on the same data in the same run, times
 * <ul>
 *   <li>{@code tar -cf - DIR | gzip -1 > FILE} and {@code tar -xzf FILE && sync},</li>
 *   <li>a library backup to a local sink with zstd (default level) and with gzip:1, and a library restore,
 *       each in a child JVM with {@code -Xmx256m} whose peak RSS (VmHWM) is reported,</li>
 * </ul>
 * checks that the restored tree equals the source and prints the ratios.
 *
 * <pre>
 * mvn -B -q package -DskipTests
 * java -cp examples/target/sgbackup.jar dev.sgbackup.examples.bench.VolumeBenchmark --size 1g --work /var/tmp/vb
 * </pre>
 * Options: {@code --size N[k|m|g]} (default 1g), {@code --repeat N} (best of N, default 1), {@code --files N}
 * small files (default 40000, fewer for small sizes), {@code --work DIR} (default a temp dir; emptied first),
 * {@code --smoke} (a few MB, for the build), {@code --keep} (leave the work dir).
 */
public final class VolumeBenchmark {
    private static final String[] WORDS = ("func return if err nil package import type struct interface for range"
            + " var const string int byte context ctx repo commit search index shard query result errors fmt log"
            + " http client server handler request response db store sql row scan config settings user org token"
            + " value key map list len append make new go defer select case switch default true false buf path"
            + " name id count opts limit offset cursor batch worker pool mutex lock chan close open read write")
            .split(" ");

    private VolumeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(args);
            return;
        }
        long size = 1L << 30;
        int files = -1;
        Path work = null;
        boolean keep = false;
        int repeat = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--size" -> size = parseSize(args[++i]);
                case "--files" -> files = Integer.parseInt(args[++i]);
                case "--work" -> work = Path.of(args[++i]).toAbsolutePath();
                case "--smoke" -> {
                    size = 4L << 20;
                    files = 300;
                }
                case "--keep" -> keep = true;
                default -> {
                    System.err.println("usage: VolumeBenchmark [--size N[k|m|g]] [--files N] [--work DIR] [--repeat N]"
                            + " [--smoke] [--keep]");
                    System.exit(2);
                }
            }
        }
        if (files < 0) {
            files = (int) Math.max(100, Math.min(40_000, size / (25L << 10)));
        }
        if (work == null) {
            work = Files.createTempDirectory("sgbackup-volume-bench");
        }
        deleteTree(work);
        Files.createDirectories(work);
        try {
            run(work, size, files, repeat);
        } finally {
            if (!keep) {
                deleteTree(work);
            }
        }
    }

    private static void run(Path work, long size, int files, int repeat) throws Exception {
        Path src = work.resolve("volume");
        long t0 = System.nanoTime();
        long[] generated = generate(src, size, files);
        System.out.printf(Locale.ROOT, "volume: %s in %d files (%d small, %s in large files), generated in %.1f s%n",
                human(generated[0]), generated[1], files, human(generated[2]), secs(System.nanoTime() - t0));
        System.out.printf(Locale.ROOT, "cpus: %d, java %s, load average %s, best of %d (runs alternate)%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), loadAverage(), repeat);

        Path tgz = work.resolve("baseline.tar.gz");
        Path tarOut = work.resolve("tar-restored");
        Measure tarBackup = new Measure();
        Measure tarRestore = new Measure();
        Measure zstd = new Measure();
        Measure gzip = new Measure();
        Measure restore = new Measure();
        Measure restoreGzip = new Measure();
        long tgzSize = 0;
        String zstdId = null;
        String gzipId = null;
        for (int r = 0; r < repeat; r++) {
            deleteTree(tgz);
            tarBackup.add(shell("tar -cf - -C '" + src + "' . | gzip -1 > '" + tgz + "'"));
            tgzSize = Files.size(tgz);
            deleteTree(work.resolve("sink-zstd"));
            Child z = child(work, "backup", work.resolve("sink-zstd").toString(), src.toString(), "zstd");
            zstd.add(z);
            zstdId = z.backupId;
            deleteTree(work.resolve("sink-gzip"));
            Child g = child(work, "backup", work.resolve("sink-gzip").toString(), src.toString(), "gzip:1");
            gzip.add(g);
            gzipId = g.backupId;

            deleteTree(tarOut);
            Files.createDirectories(tarOut);
            tarRestore.add(shell("tar -xzf '" + tgz + "' -C '" + tarOut + "' && sync"));
            deleteTree(tarOut);
            deleteTree(work.resolve("restored"));
            restore.add(child(work, "restore", work.resolve("sink-zstd").toString(), zstdId,
                    work.resolve("restored").toString()));
            deleteTree(work.resolve("restored-gzip"));
            restoreGzip.add(child(work, "restore", work.resolve("sink-gzip").toString(), gzipId,
                    work.resolve("restored-gzip").toString()));
        }
        Files.delete(tgz);

        List<String> diff = compare(src, work.resolve("restored"));
        List<String> diffGzip = compare(src, work.resolve("restored-gzip"));

        System.out.printf(Locale.ROOT, "%-33s %7s %6s %7s %6s %10s %9s%n", "", "wall", "ratio", "cpu", "ratio", "stored",
                "peak RSS");
        row("backup  tar | gzip -1", tarBackup, tarBackup, human(tgzSize), "");
        row("backup  sgbackup zstd (level 3)", zstd, tarBackup, human(zstd.stored), "target <= 0.50");
        row("backup  sgbackup gzip:1", gzip, tarBackup, human(gzip.stored), "target <= 1.00");
        row("restore tar -xzf && sync", tarRestore, tarRestore, "", "");
        row("restore sgbackup (zstd backup)", restore, tarRestore, "", "target <= 1.00");
        row("restore sgbackup (gzip:1 backup)", restoreGzip, tarRestore, "", "target <= 1.00");
        System.out.println();
        System.out.println("wall = elapsed (library: whole child JVM incl. start-up); cpu = user+sys of all its threads"
                + " (tar: of tar and gzip together)");
        System.out.println("restored trees equal the source: " + (diff.isEmpty() && diffGzip.isEmpty() ? "yes"
                : "NO " + diff.subList(0, Math.min(5, diff.size())) + diffGzip.subList(0, Math.min(5, diffGzip.size()))));
        if (!diff.isEmpty() || !diffGzip.isEmpty()) {
            System.exit(1);
        }
    }

    /** Best (lowest) wall and cpu of the runs; peak RSS the highest. */
    private static final class Measure {
        double wall = Double.MAX_VALUE;
        double cpu = Double.MAX_VALUE;
        long hwmKb = -1;
        long stored = -1;

        void add(double[] wallAndCpu) {
            wall = Math.min(wall, wallAndCpu[0]);
            cpu = Math.min(cpu, wallAndCpu[1]);
        }

        void add(Child c) {
            add(new double[] {c.wall(), c.cpu()});
            hwmKb = Math.max(hwmKb, c.hwmKb());
            stored = c.stored();
        }
    }

    private static void row(String title, Measure m, Measure base, String stored, String target) {
        System.out.printf(Locale.ROOT, "%-33s %6.1fs %5.2fx %6.1fs %5.2fx %10s %9s   %s%n", title, m.wall,
                m.wall / base.wall, m.cpu, m.cpu / base.cpu, stored, m.hwmKb < 0 ? "-" : human(m.hwmKb * 1024),
                target);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 4)[0];
        } catch (IOException e) {
            return "?";
        }
    }

    // ---- the library part, in a child JVM with a small heap

    private record Child(String backupId, double wall, double cpu, long stored, long hwmKb) {
    }

    private static Child child(Path work, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), VolumeBenchmark.class.getName(), "child"));
        cmd.addAll(List.of(args));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        double wall = secs(System.nanoTime() - t0);
        String result = out.lines().filter(l -> l.startsWith("RESULT ")).findFirst()
                .orElseThrow(() -> new IllegalStateException("child " + String.join(" ", args) + " failed (exit " + rc
                        + "): " + out));
        String[] f = result.split(" ");
        return new Child(f[1], wall, Double.parseDouble(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]));
    }

    private static void child(String[] args) throws IOException {
        SgBackup sg;
        String id;
        long stored = -1;
        if (args[1].equals("backup")) {
            sg = SgBackup.builder().sink(Sinks.local(Path.of(args[2]))).compression(args[4]).build();
            RunResult r = sg.backup(Stores.directory("volume", Path.of(args[3])));
            id = r.backupId();
            stored = r.storedBytes();
        } else {
            sg = SgBackup.to(Sinks.local(Path.of(args[2])));
            id = args[3];
            sg.restore(id, RestoreOptions.defaults(), Stores.directory("volume", Path.of(args[4])));
        }
        double cpu = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
        System.out.println("RESULT " + id + " " + cpu + " " + stored + " " + vmHwmKb());
    }

    private static long vmHwmKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    // ---- data

    /** Returns {total bytes, entries, large bytes}. */
    static long[] generate(Path root, long size, int smallFiles) throws IOException {
        SplittableRandom rnd = new SplittableRandom(42);
        long total = 0;
        long entries = 0;
        long smallBudget = Math.min(size / 2, smallFiles * 12_500L);
        int perDir = 80;
        StringBuilder sb = new StringBuilder(70_000);
        for (int i = 0; i < smallFiles; i++) {
            Path dir = root.resolve(String.format(Locale.ROOT, "repos/repo-%03d/pkg-%03d", i / 4000, (i / perDir) % 50));
            if (i % perDir == 0) {
                Files.createDirectories(dir);
            }
            int target = (int) Math.max(64, Math.min(60_000, (long) (rnd.nextDouble() * 2 * smallBudget / smallFiles)));
            sb.setLength(0);
            sourceLike(sb, target, rnd);
            byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
            Path f = dir.resolve("file_" + i + (i % 7 == 0 ? ".ts" : ".go"));
            Files.write(f, b);
            if (i % 97 == 0) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            total += b.length;
            entries++;
        }
        Files.createDirectories(root.resolve("repos/repo-000/empty"));
        Files.createSymbolicLink(root.resolve("repos/repo-000/link"), Path.of("pkg-000"));
        Files.createLink(root.resolve("repos/repo-000/hardlink.go"), root.resolve("repos/repo-000/pkg-000/file_0.ts"));
        entries += 3;
        long large = Math.max(0, size - total);
        int largeFiles = large > (64L << 20) ? 4 : 1;
        byte[] buf = new byte[1 << 20];
        Files.createDirectories(root.resolve("blobs"));
        long largeTotal = 0;
        for (int i = 0; i < largeFiles && large > 0; i++) {
            long n = large / largeFiles;
            try (var out = Files.newOutputStream(root.resolve("blobs/blob-" + i + ".bin"))) {
                for (long w = 0; w < n; w += buf.length) {
                    for (int j = 0; j < buf.length; j += 8) {
                        long v = rnd.nextLong();
                        for (int k = 0; k < 8; k++) {
                            buf[j + k] = (byte) (v >>> (8 * k));
                        }
                    }
                    out.write(buf, 0, (int) Math.min(buf.length, n - w));
                }
            }
            largeTotal += n;
            entries++;
        }
        return new long[] {total + largeTotal, entries, largeTotal};
    }

    private static void sourceLike(StringBuilder sb, int target, SplittableRandom rnd) {
        sb.append("// Code generated for the sgbackup volume benchmark. ").append(rnd.nextLong()).append('\n');
        while (sb.length() < target) {
            int indent = rnd.nextInt(4);
            for (int i = 0; i < indent; i++) {
                sb.append('\t');
            }
            int n = 2 + rnd.nextInt(9);
            for (int i = 0; i < n; i++) {
                String w = WORDS[rnd.nextInt(WORDS.length)];
                switch (rnd.nextInt(8)) {
                    case 0 -> sb.append(w).append(Character.toUpperCase(WORDS[rnd.nextInt(WORDS.length)].charAt(0)))
                            .append(WORDS[rnd.nextInt(WORDS.length)].substring(1));
                    case 1 -> sb.append('"').append(w).append(' ').append(rnd.nextInt(1000)).append('"');
                    case 2 -> sb.append(w).append('(');
                    case 3 -> sb.append(rnd.nextInt(100_000));
                    default -> sb.append(w);
                }
                sb.append(i + 1 < n ? (rnd.nextInt(5) == 0 ? ", " : " ") : "");
            }
            sb.append(rnd.nextInt(3) == 0 ? " {\n" : rnd.nextInt(2) == 0 ? ")\n" : "\n");
        }
        sb.setLength(target);
        sb.append('\n');
    }

    /** Differences between two trees: paths, types, modes, sizes, link targets and content hashes. */
    static List<String> compare(Path a, Path b) throws IOException {
        Map<String, String> left = describe(a);
        Map<String, String> right = describe(b);
        List<String> diff = new ArrayList<>();
        for (var e : left.entrySet()) {
            String r = right.get(e.getKey());
            if (!e.getValue().equals(r)) {
                diff.add(e.getKey() + ": " + e.getValue() + " vs " + r);
            }
        }
        for (String k : right.keySet()) {
            if (!left.containsKey(k)) {
                diff.add(k + ": only in the restored tree");
            }
        }
        return diff;
    }

    private static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
                int mode = (Integer) a.get("mode");
                String d = Integer.toOctalString(mode);
                if (Files.isSymbolicLink(p)) {
                    d += " -> " + Files.readSymbolicLink(p);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    d += " " + a.get("size") + " " + sha256(p) + " " + ((java.nio.file.attribute.FileTime)
                            a.get("lastModifiedTime")).toMillis() / 1000;
                }
                out.put(rel, d);
            }
        }
        return out;
    }

    private static String sha256(Path p) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(p)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- helpers

    /** Runs a shell pipeline; returns {wall, user+sys of all its processes} in seconds. */
    private static double[] shell(String command) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c",
                "TIMEFORMAT='CPU %U %S'; time ( " + command + " )").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        double wall = secs(System.nanoTime() - t0);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("failed: " + command + ": " + out);
        }
        String[] cpu = out.lines().filter(l -> l.startsWith("CPU ")).reduce((a, b) -> b).orElse("CPU 0 0").split(" ");
        return new double[] {wall, Double.parseDouble(cpu[1]) + Double.parseDouble(cpu[2])};
    }

    static long parseSize(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        switch (t.charAt(t.length() - 1)) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            default -> {
            }
        }
        if (mult > 1) {
            t = t.substring(0, t.length() - 1);
        }
        return (long) (Double.parseDouble(t) * mult);
    }

    private static double secs(long nanos) {
        return nanos / 1e9;
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(x -> {
                try {
                    Files.delete(x);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
