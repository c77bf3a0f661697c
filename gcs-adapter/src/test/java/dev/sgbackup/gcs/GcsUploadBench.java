package dev.sgbackup.gcs;

import dev.sgbackup.sink.PendingObject;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * Uploads a multi-GiB object through the fake and prints throughput and the process's peak RSS (VmHWM) at
 * intervals, to show memory stays flat. Not a unit test; run with a small heap:
 * {@code java -Xmx256m -cp <test classpath> dev.sgbackup.gcs.GcsUploadBench 4}
 */
public final class GcsUploadBench {
    public static void main(String[] args) throws Exception {
        double gib = args.length > 0 ? Double.parseDouble(args[0]) : 2;
        int chunkMiB = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        long size = (long) (gib * 1024 * 1024 * 1024);
        Path dir = Files.createTempDirectory("gcs-bench");
        try (FakeGcs fake = new FakeGcs(dir).bucket("bench")) {
            fake.shortPersistEvery = 5;
            GcsSink sink = GcsSink.builder("bench").emulatorHost(fake.hostPort()).environment(Support.env(Map.of(), dir))
                    .chunkSize(chunkMiB * 1024 * 1024).build();
            byte[] buf = new byte[1 << 20];
            new Random(1).nextBytes(buf);
            System.out.printf("uploading %.2f GiB in %d MiB chunks, max heap %d MiB, RSS at start %d MiB%n",
                    size / (double) (1L << 30), chunkMiB, Runtime.getRuntime().maxMemory() >> 20, rssKiB("VmRSS") >> 10);
            long start = System.nanoTime();
            long written = 0;
            long nextReport = 1L << 29;
            try (PendingObject o = sink.create("bench/big.bin", size)) {
                OutputStream out = o.stream();
                while (written < size) {
                    buf[(int) (written >>> 20) % buf.length] ^= 1; // vary the data
                    int n = (int) Math.min(buf.length, size - written);
                    out.write(buf, 0, n);
                    written += n;
                    if (written >= nextReport) {
                        double s = (System.nanoTime() - start) / 1e9;
                        System.out.printf("  %5.2f GiB  %6.1f MiB/s  VmHWM %d MiB%n", written / (double) (1L << 30),
                                written / s / (1 << 20), rssKiB("VmHWM") >> 10);
                        nextReport += 1L << 29;
                    }
                }
                o.commit();
            }
            double s = (System.nanoTime() - start) / 1e9;
            FakeGcs.Obj obj = fake.object("bench", "bench/big.bin");
            System.out.printf("done: %d bytes stored (crc32c %s checked by the fake) in %.1f s = %.1f MiB/s; peak RSS (VmHWM) %d MiB; "
                            + "chunks %d, short 308s every 5th chunk%n",
                    obj.size, obj.crc32c, s, size / s / (1 << 20), rssKiB("VmHWM") >> 10, fake.count(FakeGcs.Kind.CHUNK));
            if (obj.size != size) {
                throw new AssertionError("stored " + obj.size + " bytes, wrote " + size);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    static long rssKiB(String field) throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
