package dev.sgbackup.gcs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.PendingObject;

/** Test helpers: deterministic data, a recording sleeper, quick sinks against the fake. */
final class Support {
    private Support() {
    }

    static byte[] data(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void put(BackupSink sink, String key, byte[] bytes) throws IOException {
        try (PendingObject o = sink.create(key)) {
            // write in odd-sized pieces so chunk boundaries fall mid-write
            int off = 0;
            int step = 100_003;
            while (off < bytes.length) {
                int n = Math.min(step, bytes.length - off);
                o.stream().write(bytes, off, n);
                off += n;
            }
            o.commit();
        }
    }

    static byte[] get(BackupSink sink, String key) throws IOException {
        try (InputStream in = sink.read(key)) {
            return in.readAllBytes();
        }
    }

    static byte[] get(BackupSink sink, String key, long off, long len) throws IOException {
        try (InputStream in = sink.read(key, off, len); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    /** Records backoff waits instead of sleeping. */
    static final class RecordingSleeper implements Sleeper {
        final List<Duration> waits = new CopyOnWriteArrayList<>();

        @Override
        public void sleep(Duration d) {
            waits.add(d);
        }
    }

    static Credentials.Env env(Map<String, String> vars, java.nio.file.Path home) {
        return new Credentials.Env(vars, home, "Linux");
    }
}
