package dev.sgbackup.examples.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Deduplicated backups side by side with restic, on the same tree in the same run (issue #14's targets). Every
 * sgbackup figure is a whole CLI process, run as the README tells users to run it: through the launcher
 * {@code examples/bin/sgbackup} (its JVM flags included), with {@code SGBACKUP_JAVA_OPTS=-Xmx256m}, JVM start
 * included; every restic figure a whole {@code restic} process; both encrypt (restic always does). Each figure is
 * the median of {@code --runs} runs (default 5), the two tools alternating run by run; ratios are sgbackup / restic
 * (or / the full zstd backup) per pair, then the median. Prints {@code ratio NAME VALUE target T PASS|FAIL} lines.
 *
 * <ol>
 *   <li>first backup: a full zstd backup (today's) and a first dedup backup, each into a fresh sink; restic's first
 *       backup into a fresh repository (for orientation);</li>
 *   <li>unchanged re-backup;</li>
 *   <li>before each run, 1% of the small files edited (a line inserted in the middle) and 1 MiB appended to a large
 *       file; time and bytes added to the repository;</li>
 *   <li>restore of the latest backup into a new empty directory (each run its own, all deleted at the end: see the
 *       comment there), then {@code sync}, checked against the source.</li>
 * </ol>
 *
 * <pre>
 * apt-get install -y restic          # 0.14 on Debian 12
 * mvn -B -q package -DskipTests
 * java -cp examples/target/sgbackup.jar dev.sgbackup.examples.bench.DedupBenchmark --size 1g --files 40000 --work /var/tmp/dd
 * </pre>
 * Options: {@code --size N[k|m|g]} (default 1g), {@code --files N} (default 40000), {@code --runs N} (default 5),
 * {@code --work DIR} (emptied first), {@code --smoke} (small, two runs, no restic needed: it is skipped when absent),
 * {@code --keep}, {@code --cli PATH} (the launcher; default: {@code ../bin/sgbackup} from the jar this runs from).
 */
public final class DedupBenchmark {
    private static final String PASSPHRASE = "dedup benchmark passphrase";
    /** The CLI's launcher script, which every sgbackup figure runs. */
    private static Path launcher;
    /** The launcher's cache (its class-data sharing archive): XDG_CACHE_HOME of every CLI run. */
    private static Path cache;

    private DedupBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        long size = 1L << 30;
        int files = 40_000;
        int runs = 5;
        Path work = null;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size" -> size = VolumeBenchmark.parseSize(args[++i]);
                case "--files" -> files = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--work" -> work = Path.of(args[++i]).toAbsolutePath();
                case "--smoke" -> {
                    size = 6L << 20;
                    files = 400;
                    runs = 2;
                }
                case "--keep" -> keep = true;
                case "--cli" -> launcher = Path.of(args[++i]).toAbsolutePath();
                default -> {
                    System.err.println("usage: DedupBenchmark [--size N[k|m|g]] [--files N] [--runs N] [--work DIR] [--smoke] [--keep] [--cli PATH]");
                    System.exit(2);
                }
            }
        }
        if (launcher == null) {
            // run from examples/target/sgbackup.jar: the launcher is examples/bin/sgbackup
            Path jar = Path.of(System.getProperty("java.class.path")).toAbsolutePath();
            launcher = jar.getParent() == null || jar.getParent().getParent() == null ? null
                    : jar.getParent().getParent().resolve("bin").resolve("sgbackup");
        }
        if (launcher == null || !Files.isRegularFile(launcher)) {
            System.err.println("cannot find the CLI launcher examples/bin/sgbackup from the class path "
                    + System.getProperty("java.class.path") + "; run the benchmark from examples/target/sgbackup.jar or give --cli PATH");
            System.exit(2);
        }
        if (work == null) {
            work = Files.createTempDirectory("sgbackup-dedup-bench");
        }
        VolumeBenchmark.deleteTree(work);
        Files.createDirectories(work);
        try {
            System.exit(new DedupBenchmark().run(work, size, files, runs) ? 0 : 1);
        } finally {
            if (!keep) {
                VolumeBenchmark.deleteTree(work);
            }
        }
    }

    private boolean restic;
    private final List<String> failures = new ArrayList<>();

    private boolean run(Path work, long size, int files, int runs) throws Exception {
        restic = hasRestic();
        Path src = work.resolve("src");
        long t0 = System.nanoTime();
        long[] g = VolumeBenchmark.generate(src, size, files);
        System.out.printf(Locale.ROOT, "tree: %s in %d entries (%d small files, %s in large files), generated in %.1f s%n",
                VolumeBenchmark.human(g[0]), g[1], files, VolumeBenchmark.human(g[2]), (System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "cpus: %d, java %s, %s, %d runs per figure (median), tools alternating%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                restic ? exec(List.of("restic", "version"), null).out.strip() : "restic: not installed (its figures skipped)", runs);
        System.out.printf(Locale.ROOT, "sgbackup runs as: sh %s ... (SGBACKUP_JAVA_OPTS=-Xmx256m)%n", launcher);
        // The launcher's class-data sharing archive is written by the first backup, restore or verify run of a jar and
        // mapped from the next run on: a user pays for writing it once. Write it here, on a small tree, so that no
        // measured run pays for it (the full backup would otherwise, being first).
        cache = work.resolve("cache");
        Path tiny = work.resolve("warm-up");
        VolumeBenchmark.generate(tiny.resolve("src"), 2 << 20, 100);
        cli(work, "backup", "--dedup", "--encrypt", "--volume", "data=" + tiny.resolve("src"), "--to", "file://" + tiny.resolve("sink"));
        cli(work, "list", "--from", "file://" + tiny.resolve("sink"));
        VolumeBenchmark.deleteTree(tiny);
        try (var archives = Files.list(cache.resolve("sgbackup"))) {
            System.out.printf(Locale.ROOT, "class-data sharing archive (written by a dedup backup of a 2 MiB tree): %s%n%n",
                    archives.map(a -> a.getFileName().toString()).sorted().toList());
        }

        // 1. first backups, each into a fresh sink / repository
        List<Double> full = new ArrayList<>();
        List<Double> first = new ArrayList<>();
        List<Double> firstRestic = new ArrayList<>();
        List<Long> firstHwm = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            Path fullSink = work.resolve("full");
            VolumeBenchmark.deleteTree(fullSink);
            full.add(cli(work, "backup", "--encrypt", "--volume", "data=" + src, "--to", "file://" + fullSink).wall);
            Path d = work.resolve("dedup");
            VolumeBenchmark.deleteTree(d);
            Result fr = cli(work, "backup", "--dedup", "--encrypt", "--volume", "data=" + src, "--to", "file://" + d);
            first.add(fr.wall);
            firstHwm.add(fr.hwmKb);
            if (restic) {
                Path repo = work.resolve("restic");
                VolumeBenchmark.deleteTree(repo);
                exec(List.of("restic", "init", "--repo", repo.toString()), work);
                firstRestic.add(exec(List.of("restic", "backup", "--repo", repo.toString(), src.toString()), work).wall);
            }
        }
        long fullStored = du(work.resolve("full"));
        VolumeBenchmark.deleteTree(work.resolve("full"));
        long dedupStored = du(work.resolve("dedup"));
        long resticStored = restic ? du(work.resolve("restic")) : -1;
        System.out.printf(Locale.ROOT, "first backup: full zstd %.2f s (%s), dedup %.2f s (%s, peak RSS %d MiB)%s%n",
                median(full), VolumeBenchmark.human(fullStored), median(first), VolumeBenchmark.human(dedupStored),
                maxL(firstHwm) / 1024, restic ? String.format(Locale.ROOT, ", restic %.2f s (%s)", median(firstRestic),
                        VolumeBenchmark.human(resticStored)) : "");
        ratio("first-dedup-backup-vs-full-zstd", pairRatios(first, full), 1.2);

        // 2. unchanged re-backup
        List<Double> again = new ArrayList<>();
        List<Double> againRestic = new ArrayList<>();
        List<Long> againHwm = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            Result a = cli(work, "backup", "--dedup", "--encrypt", "--volume", "data=" + src, "--to", "file://" + work.resolve("dedup"));
            again.add(a.wall);
            againHwm.add(a.hwmKb);
            if (restic) {
                againRestic.add(exec(List.of("restic", "backup", "--repo", work.resolve("restic").toString(), src.toString()), work).wall);
            }
        }
        System.out.printf(Locale.ROOT, "unchanged re-backup: dedup %.2f s (peak RSS %d MiB)%s%n", median(again), maxL(againHwm) / 1024,
                restic ? String.format(Locale.ROOT, ", restic %.2f s", median(againRestic)) : "");
        if (restic) {
            ratio("unchanged-rebackup-vs-restic", pairRatios(again, againRestic), 1.0);
        }

        // 3. 1% of the files edited and 1 MiB appended to a large file before each run
        List<Path> small = smallFiles(src);
        List<Double> changed = new ArrayList<>();
        List<Double> changedRestic = new ArrayList<>();
        List<Long> added = new ArrayList<>();
        List<Long> addedRestic = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            int edited = edit(small, r);
            appendTo(src, r);
            long before = du(work.resolve("dedup"));
            changed.add(cli(work, "backup", "--dedup", "--encrypt", "--volume", "data=" + src, "--to", "file://" + work.resolve("dedup")).wall);
            added.add(du(work.resolve("dedup")) - before);
            if (restic) {
                long rb = du(work.resolve("restic"));
                changedRestic.add(exec(List.of("restic", "backup", "--repo", work.resolve("restic").toString(), src.toString()), work).wall);
                addedRestic.add(du(work.resolve("restic")) - rb);
            }
            if (r == 0) {
                System.out.printf(Locale.ROOT, "each run: %d small files edited, 1 MiB appended to a large file%n", edited);
            }
        }
        System.out.printf(Locale.ROOT, "1%% changed: dedup %.2f s, %s added%s%n", median(changed),
                VolumeBenchmark.human((long) medianL(added)), restic ? String.format(Locale.ROOT, "; restic %.2f s, %s added",
                        median(changedRestic), VolumeBenchmark.human((long) medianL(addedRestic))) : "");
        if (restic) {
            ratio("one-percent-changed-time-vs-restic", pairRatios(changed, changedRestic), 1.0);
            ratio("one-percent-changed-bytes-vs-restic", pairRatiosL(added, addedRestic), 1.1);
        }

        // 4. restore of the latest backup
        String latest = latest(work);
        List<Double> restore = new ArrayList<>();
        List<Double> restoreRestic = new ArrayList<>();
        List<Long> restoreHwm = new ArrayList<>();
        List<String> diff = List.of();
        // Each restore goes into a directory of its own, and none is deleted until every run is done: ext4 does not
        // reuse an inode freed in the last minute or so (recently_deleted() in its inode allocator), so a restore right
        // after deleting the previous one's 40,000 files scans past them for every file it creates. That cost grew
        // run after run here (a restore's system time from 4.7 s to 30 s) and is not what restoring into a new
        // instance's empty volume meets. Both tools get the same treatment.
        List<Path> restored = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            Path target = work.resolve("restored-" + r);
            restored.add(target);
            exec(List.of("sync"), work);
            long t = System.nanoTime();
            Result rr = cli(work, "restore", "--from", "file://" + work.resolve("dedup"), "--backup", latest, "--volume", "data=" + target);
            exec(List.of("sync"), work);
            restore.add((System.nanoTime() - t) / 1e9);
            restoreHwm.add(rr.hwmKb);
            if (r == 0) {
                diff = VolumeBenchmark.compare(src, target);
            }
            if (restic) {
                Path rt = work.resolve("restored-restic-" + r);
                restored.add(rt);
                exec(List.of("sync"), work);
                t = System.nanoTime();
                exec(List.of("restic", "restore", "latest", "--repo", work.resolve("restic").toString(), "--target", rt.toString()), work);
                exec(List.of("sync"), work);
                restoreRestic.add((System.nanoTime() - t) / 1e9);
            }
        }
        for (Path p : restored) {
            VolumeBenchmark.deleteTree(p);
        }
        System.out.printf(Locale.ROOT, "restore (then sync): dedup %.2f s (peak RSS %d MiB)%s%n", median(restore), maxL(restoreHwm) / 1024,
                restic ? String.format(Locale.ROOT, ", restic %.2f s", median(restoreRestic)) : "");
        if (restic) {
            ratio("restore-vs-restic", pairRatios(restore, restoreRestic), 1.0);
        }
        System.out.println("restored tree equals the source: " + (diff.isEmpty() ? "yes" : "NO " + diff.subList(0, Math.min(5, diff.size()))));
        if (!diff.isEmpty()) {
            failures.add("restore differs");
        }
        return diff.isEmpty();
    }

    private void ratio(String name, double[] ratios, double target) {
        double m = median(ratios);
        boolean pass = m <= target;
        System.out.printf(Locale.ROOT, "ratio %s %.2f target %.1f %s   (pairs: %s)%n", name, m, target, pass ? "PASS" : "FAIL",
                Arrays.stream(ratios).mapToObj(x -> String.format(Locale.ROOT, "%.2f", x)).toList());
        if (!pass) {
            failures.add(name);
        }
    }

    // ---- tree edits

    private static List<Path> smallFiles(Path src) throws IOException {
        try (Stream<Path> s = Files.walk(src.resolve("repos"))) {
            return s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
    }

    /** Inserts a line in the middle of 1% of the files (a different 1% each run); returns how many. */
    private static int edit(List<Path> files, int run) throws IOException {
        int n = 0;
        for (int i = run; i < files.size(); i += 100) {
            Path p = files.get(i);
            byte[] b = Files.readAllBytes(p);
            int mid = b.length / 2;
            byte[] line = ("// edited in run " + run + "\n").getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[b.length + line.length];
            System.arraycopy(b, 0, out, 0, mid);
            System.arraycopy(line, 0, out, mid, line.length);
            System.arraycopy(b, mid, out, mid + line.length, b.length - mid);
            Files.write(p, out);
            n++;
        }
        return n;
    }

    private static void appendTo(Path src, int run) throws IOException {
        Path big;
        try (Stream<Path> s = Files.list(src.resolve("blobs"))) {
            big = s.sorted().findFirst().orElseThrow();
        }
        byte[] b = new byte[1 << 20];
        SplittableRandom rnd = new SplittableRandom(1000 + run);
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rnd.nextInt();
        }
        Files.write(big, b, StandardOpenOption.APPEND);
    }

    // ---- processes

    private record Result(double wall, String out, long hwmKb) {
    }

    private static boolean hasRestic() {
        try {
            return new ProcessBuilder("restic", "version").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Result cli(Path work, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", launcher.toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, work, Map.of("SGBACKUP_JAR", System.getProperty("java.class.path"), "SGBACKUP_JAVA_OPTS", "-Xmx256m",
                "JAVA_HOME", System.getProperty("java.home"), "XDG_CACHE_HOME", cache.toString()));
    }

    /** Runs a command to its end, stdout kept, stderr to a log; fails on a non-zero exit. Polls the peak RSS. */
    private static Result exec(List<String> cmd, Path work) throws Exception {
        return exec(cmd, work, Map.of());
    }

    private static Result exec(List<String> cmd, Path work, Map<String, String> extraEnv) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.putAll(extraEnv);
        env.put("SGBACKUP_PASSPHRASE", PASSPHRASE);
        env.put("RESTIC_PASSWORD", PASSPHRASE);
        if (work != null) {
            pb.redirectError(ProcessBuilder.Redirect.appendTo(work.resolve("bench-stderr.log").toFile()));
        }
        long t0 = System.nanoTime();
        Process p = pb.start();
        long[] hwm = {-1};
        Thread poll = new Thread(() -> {
            Path status = Path.of("/proc/" + p.pid() + "/status");
            while (p.isAlive()) {
                try {
                    for (String l : Files.readAllLines(status)) {
                        if (l.startsWith("VmHWM:")) {
                            hwm[0] = Math.max(hwm[0], Long.parseLong(l.replaceAll("[^0-9]", "")));
                        }
                    }
                    Thread.sleep(20);
                } catch (IOException | InterruptedException | NumberFormatException e) {
                    return;
                }
            }
        });
        poll.setDaemon(true);
        poll.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        double wall = (System.nanoTime() - t0) / 1e9;
        poll.join(1000);
        if (rc != 0) {
            throw new IllegalStateException("failed (exit " + rc + "): " + String.join(" ", cmd) + "\n" + out
                    + (work == null ? "" : "\nsee " + work.resolve("bench-stderr.log")));
        }
        return new Result(wall, out, hwm[0]);
    }

    private static String latest(Path work) throws Exception {
        String out = cli(work, "list", "--from", "file://" + work.resolve("dedup")).out;
        return out.lines().map(l -> l.split("\\s+")[0]).filter(s -> s.matches("\\d{8}T\\d{6}.*")).sorted()
                .reduce((a, b) -> b).orElseThrow(() -> new IllegalStateException("no backup listed: " + out));
    }

    /** Bytes of the regular files under a directory. */
    private static long du(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        }
    }

    // ---- statistics

    private static double[] pairRatios(List<Double> a, List<Double> b) {
        double[] r = new double[Math.min(a.size(), b.size())];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i) / b.get(i);
        }
        return r;
    }

    private static double[] pairRatiosL(List<Long> a, List<Long> b) {
        double[] r = new double[Math.min(a.size(), b.size())];
        for (int i = 0; i < r.length; i++) {
            r[i] = (double) a.get(i) / Math.max(1, b.get(i));
        }
        return r;
    }

    private static double median(List<Double> xs) {
        return median(xs.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double medianL(List<Long> xs) {
        return median(xs.stream().mapToDouble(Long::doubleValue).toArray());
    }

    private static double median(double[] xs) {
        if (xs.length == 0) {
            return Double.NaN;
        }
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static long maxL(List<Long> xs) {
        return xs.stream().mapToLong(Long::longValue).max().orElse(-1);
    }
}
