package dev.sgbackup.store.volume;

import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.DataStoreContractTest;
import dev.sgbackup.store.MemoryStoreIo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/** The store contract for {@link VolumeStore}: directories in a temporary folder. */
class VolumeStoreContractTest extends DataStoreContractTest {
    private final AtomicInteger targets = new AtomicInteger();

    @Override
    protected DataStore source() throws IOException {
        Path src = tmp.resolve("source");
        if (!Files.exists(src)) {
            Files.createDirectories(src.resolve("sub/deeper"));
            Random r = new Random(42);
            for (int i = 0; i < 6; i++) {
                byte[] data = new byte[64 * 1024 + i];
                r.nextBytes(data); // incompressible: the artifact stays large enough to break half-way
                Files.write(src.resolve((i % 2 == 0 ? "sub/" : "") + "file-" + i + ".bin"), data);
            }
            Files.writeString(src.resolve("sub/deeper/note.txt"), "hello\n");
            Files.createSymbolicLink(src.resolve("link"), Path.of("sub/deeper/note.txt"));
            Files.createDirectories(src.resolve("empty-dir"));
            try (Stream<Path> s = Files.walk(src)) {
                for (Path p : s.filter(p -> !Files.isSymbolicLink(p)).toList()) {
                    Files.setLastModifiedTime(p, FileTime.from(1_000_000_000L, TimeUnit.SECONDS));
                }
            }
        }
        return VolumeStore.of("vol", src);
    }

    @Override
    protected DataStore emptyTarget() throws IOException {
        return VolumeStore.of("vol", Files.createDirectories(tmp.resolve("target-" + targets.incrementAndGet())));
    }

    @Override
    protected DataStore nonEmptyTarget() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("target-" + targets.incrementAndGet()));
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("keep.txt"), "old contents");
        Files.writeString(dir.resolve("sub/file-0.bin"), "not the source's");
        return VolumeStore.of("vol", dir);
    }

    /**
     * Every entry under the root (not following links): type, mode, and for files mtime, size and SHA-256. The
     * root directory's own times are left out: creating and removing a staging directory inside it touches them.
     */
    @Override
    protected String contentOf(DataStore store) throws IOException {
        Path root = ((VolumeStore) store).directory();
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return "<absent>";
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.sorted().toList();
        }
        StringBuilder out = new StringBuilder();
        for (Path p : all) {
            String rel = root.equals(p) ? "." : root.relativize(p).toString();
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            out.append(rel).append(' ').append(Integer.toOctalString(mode));
            if (Files.isSymbolicLink(p)) {
                out.append(" -> ").append(Files.readSymbolicLink(p));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                out.append(" mtime=").append(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() / 1000)
                        .append(" size=").append(Files.size(p)).append(" sha=").append(sha(p));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static String sha(Path p) throws IOException {
        MessageDigest md = MemoryStoreIo.sha256();
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
