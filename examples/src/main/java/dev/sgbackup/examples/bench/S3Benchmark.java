package dev.sgbackup.examples.bench;

import dev.sgbackup.s3.S3Credentials;
import dev.sgbackup.s3.S3Sink;
import dev.sgbackup.sink.PendingObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Uploads and downloads one large file and many small files to a local S3Proxy with the S3 sink, then does
 * the same with {@code rclone copy} against the same server, compares the bytes, and prints times, ratios
 * and this JVM's peak RSS. Run it with {@code -Xmx256m}:
 *
 * <pre>java -Xmx256m -cp sgbackup-cli.jar dev.sgbackup.examples.bench.S3Benchmark S3PROXY_JAR WORKDIR [MIB=1024] [FILES=2000]</pre>
 *
 * rclone is optional (the comparison is skipped with a note when it is not installed).
 */
public final class S3Benchmark {
    static final int REPS = 2;

    private S3Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: S3Benchmark S3PROXY_JAR WORKDIR [MIB=1024] [FILES=2000]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path work = Path.of(args[1]).toAbsolutePath();
        long mib = args.length > 2 ? Long.parseLong(args[2]) : 1024;
        int files = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        deleteTree(work);
        Files.createDirectories(work);
        Path src = work.resolve("src");
        Path big = src.resolve("big.bin");
        Path small = src.resolve("small");
        long t0 = System.nanoTime();
        long smallBytes = generate(big, mib << 20, small, files);
        System.out.printf(Locale.ROOT, "source: %d MiB file + %d small files (%.1f MiB) generated in %.1f s%n",
                mib, files, smallBytes / 1048576.0, secs(t0));

        try (LocalS3Proxy s3 = LocalS3Proxy.start(jar, work.resolve("s3proxy"))) {
            s3.createBucket("sgb");
            s3.createBucket("rcl");
            warmUp(s3, work, src, mib, files);
            boolean rclone = rcloneInstalled();
            if (!rclone) {
                System.out.println("rclone not installed (apt-get install -y rclone): comparison skipped");
            }
            // The machine is shared: each operation runs for both tools back to back, twice, and the best
            // time of each counts, so a burst of load elsewhere does not decide the ratio.
            double[] ours = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
            double[] theirs = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
            long rssAfterBig = 0;
            try (S3Sink sink = S3Sink.builder("sgb").endpoint(s3.endpoint()).region("us-east-1")
                    .credentials(S3Credentials.of(LocalS3Proxy.ACCESS_KEY, LocalS3Proxy.SECRET_KEY)).build()) {
                List<Path> smallFiles = listFiles(small);
                for (int rep = 0; rep < REPS; rep++) {
                    String p = "bench" + rep + "/";
                    String rp = "s3p:rcl/bench" + rep;
                    Path dl = work.resolve("dl-sgbackup");
                    Path rdl = work.resolve("dl-rclone");
                    deleteTree(dl);
                    deleteTree(rdl);
                    Files.createDirectories(dl.resolve("small"));
                    Files.createDirectories(rdl.resolve("small"));
                    ours[0] = Math.min(ours[0], time(() -> upload(sink, big, p + "big.bin")));
                    rssAfterBig = Math.max(rssAfterBig, peakRssKib());
                    if (rclone) {
                        theirs[0] = Math.min(theirs[0], time(() -> rcl(s3, work, "copy", big.toString(), rp)));
                    }
                    ours[1] = Math.min(ours[1], time(() -> parallel(smallFiles,
                            f -> upload(sink, f, p + "small/" + f.getFileName()))));
                    if (rclone) {
                        theirs[1] = Math.min(theirs[1], time(() -> rcl(s3, work, "copy", small.toString(), rp + "/small")));
                    }
                    ours[2] = Math.min(ours[2], time(() -> download(sink, p + "big.bin", dl.resolve("big.bin"))));
                    if (rclone) {
                        theirs[2] = Math.min(theirs[2], time(() -> rcl(s3, work, "copy", rp + "/big.bin", rdl.toString())));
                    }
                    ours[3] = Math.min(ours[3], time(() -> parallel(smallFiles, f -> download(sink,
                            p + "small/" + f.getFileName(), dl.resolve("small").resolve(f.getFileName())))));
                    if (rclone) {
                        theirs[3] = Math.min(theirs[3], time(() -> rcl(s3, work, "copy", rp + "/small",
                                rdl.resolve("small").toString())));
                    }
                    compare(src, dl, "sgbackup, round " + (rep + 1));
                    if (rclone) {
                        compare(src, rdl, "rclone, round " + (rep + 1));
                    }
                }
            }
            System.out.printf(Locale.ROOT, "sgbackup peak RSS (VmHWM): %d MiB after the %d MiB upload, %d MiB at the"
                    + " end (-Xmx %d MiB)%n", rssAfterBig / 1024, mib, peakRssKib() / 1024,
                    Runtime.getRuntime().maxMemory() >> 20);
            String[] names = {"upload " + mib + " MiB", "upload " + files + " files", "download " + mib + " MiB",
                    "download " + files + " files"};
            long[] bytes = {mib << 20, smallBytes, mib << 20, smallBytes};
            System.out.println();
            System.out.printf(Locale.ROOT, "best of %d %-12s %10s %10s %10s %10s %8s%n", REPS, "", "sgbackup s",
                    "MiB/s", "rclone s", "MiB/s", "ratio");
            for (int i = 0; i < 4; i++) {
                String r = !rclone ? String.format(Locale.ROOT, "%10s %10s %8s", "-", "-", "-")
                        : String.format(Locale.ROOT, "%10.1f %10.1f %7.2fx", theirs[i], bytes[i] / 1048576.0 / theirs[i],
                        theirs[i] / ours[i]);
                System.out.printf(Locale.ROOT, "%-22s %10.1f %10.1f %s%n", names[i], ours[i],
                        bytes[i] / 1048576.0 / ours[i], r);
            }
            System.out.println("(ratio = rclone time / sgbackup time; above 1.0x means sgbackup is faster)");
        }
        deleteTree(work);
    }

    /**
     * S3Proxy (and this JVM) run slowly until their JIT has warmed up; the first tool measured would pay for
     * it. So both tools first copy up to 64 MiB and 300 small files up and down, untimed.
     */
    static void warmUp(LocalS3Proxy s3, Path work, Path src, long mib, int files) throws Exception {
        long t = System.nanoTime();
        Path w = work.resolve("warmup");
        Path wbig = w.resolve("src/w.bin");
        generate(wbig.getParent().resolve("w.bin"), Math.min(64, Math.max(1, mib / 4)) << 20, w.resolve("src/small"),
                Math.min(300, Math.max(1, files / 4)));
        s3.createBucket("warm");
        try (S3Sink sink = S3Sink.builder("warm").endpoint(s3.endpoint()).region("us-east-1")
                .credentials(S3Credentials.of(LocalS3Proxy.ACCESS_KEY, LocalS3Proxy.SECRET_KEY)).build()) {
            for (int round = 0; round < 2; round++) {
                upload(sink, wbig, "w.bin");
                download(sink, "w.bin", w.resolve("w.out"));
                parallel(listFiles(w.resolve("src/small")), f -> upload(sink, f, "small/" + f.getFileName()));
                parallel(listFiles(w.resolve("src/small")), f -> download(sink, "small/" + f.getFileName(),
                        w.resolve("last.out")));
            }
        }
        try {
            rcl(s3, work, "copy", w.resolve("src").toString(), "s3p:warm/rclone");
            rcl(s3, work, "copy", "s3p:warm/rclone", w.resolve("rclone-down").toString());
        } catch (IOException noRclone) {
            // reported by rclone() below
        }
        deleteTree(w);
        System.out.printf(Locale.ROOT, "warm-up (both tools, untimed): %.1f s%n", secs(t));
    }

    interface Job {
        void run() throws Exception;
    }

    interface FileJob {
        void run(Path p) throws Exception;
    }

    static double time(Job j) throws Exception {
        long t = System.nanoTime();
        j.run();
        return secs(t);
    }

    static double secs(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static void upload(S3Sink sink, Path file, String key) throws IOException {
        try (PendingObject o = sink.create(key, Files.size(file)); InputStream in = Files.newInputStream(file)) {
            copy(in, o.stream());
            o.commit();
        }
    }

    static void download(S3Sink sink, String key, Path to) throws IOException {
        try (InputStream in = sink.read(key); OutputStream out = Files.newOutputStream(to)) {
            copy(in, out);
        }
    }

    static void copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[256 * 1024];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
        }
    }

    static List<Path> listFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** Four at a time, like rclone's default --transfers 4. */
    static void parallel(List<Path> files, FileJob job) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (Path f : files) {
                fs.add(pool.submit(() -> {
                    job.run(f);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
        }
    }

    static long generate(Path big, long size, Path small, int files) throws IOException {
        Files.createDirectories(small);
        SplittableRandom r = new SplittableRandom(2026);
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try (FileChannel ch = FileChannel.open(big, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long left = size; left > 0; ) {
                buf.clear();
                while (buf.remaining() >= 8) {
                    buf.putLong(r.nextLong());
                }
                buf.flip();
                buf.limit((int) Math.min(buf.limit(), left));
                left -= buf.remaining();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        }
        long total = 0;
        for (int i = 0; i < files; i++) {
            byte[] b = new byte[512 + r.nextInt(32 * 1024)];
            for (int j = 0; j < b.length; j++) {
                b[j] = (byte) r.nextInt();
            }
            Files.write(small.resolve(String.format(Locale.ROOT, "f%05d.bin", i)), b);
            total += b.length;
        }
        return total;
    }

    static void compare(Path src, Path dl, String who) throws IOException {
        long mismatches = 0;
        int n = 0;
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Path other = dl.resolve(src.relativize(f).toString());
                n++;
                if (!Files.exists(other) || Files.mismatch(f, other) != -1) {
                    mismatches++;
                }
            }
        }
        System.out.printf(Locale.ROOT, "%s: %d files downloaded and compared with the source: %s%n", who, n,
                mismatches == 0 ? "all identical" : mismatches + " DIFFER");
        if (mismatches != 0) {
            throw new IllegalStateException(who + ": " + mismatches + " files differ after the round trip");
        }
    }

    static boolean rcloneInstalled() throws InterruptedException {
        try {
            return new ProcessBuilder("rclone", "version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    static void rcl(LocalS3Proxy s3, Path work, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("rclone"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("rclone.log").toFile()));
        pb.environment().remove("AWS_CA_BUNDLE");
        pb.environment().put("RCLONE_CONFIG", work.resolve("rclone.conf").toString());
        pb.environment().put("RCLONE_CONFIG_S3P_TYPE", "s3");
        pb.environment().put("RCLONE_CONFIG_S3P_PROVIDER", "Other");
        pb.environment().put("RCLONE_CONFIG_S3P_ACCESS_KEY_ID", LocalS3Proxy.ACCESS_KEY);
        pb.environment().put("RCLONE_CONFIG_S3P_SECRET_ACCESS_KEY", LocalS3Proxy.SECRET_KEY);
        pb.environment().put("RCLONE_CONFIG_S3P_ENDPOINT", s3.endpoint());
        pb.environment().put("RCLONE_CONFIG_S3P_REGION", "us-east-1");
        int code = pb.start().waitFor();
        if (code != 0) {
            throw new IllegalStateException("rclone " + String.join(" ", args) + " exited " + code + "; see "
                    + work.resolve("rclone.log"));
        }
    }

    /** This JVM's peak resident set size (VmHWM) in KiB, or -1 where /proc is missing. */
    static long peakRssKib() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return -1;
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
