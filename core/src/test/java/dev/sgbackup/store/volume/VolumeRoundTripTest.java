package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeRoundTripTest {
    @TempDir
    Path tmp;

    static final String LONG_DIR = "d-" + "x".repeat(120);
    static final String LONG_FILE = "f-" + "y".repeat(200) + ".txt";
    static final String UNICODE = "ünïcödé-日本語-Ωμέγα.txt";

    static boolean isRoot(Path dir) throws IOException {
        return (Integer) Files.getAttribute(dir, "unix:uid") == 0;
    }

    /** Every awkward thing the issue names, with distinct old mtimes; returns the root. */
    static Path awkwardTree(Path root) throws IOException {
        Files.createDirectories(root);
        Files.writeString(root.resolve("a.txt"), "hello\n");
        Files.createFile(root.resolve("empty.bin"));
        write(root.resolve("exec.sh"), "#!/bin/sh\necho hi\n", "rwxr-xr-x");
        write(root.resolve("private.key"), "secret-ish", "rw-------");
        write(root.resolve("readonly.txt"), "ro", "r--r--r--");
        Files.createDirectories(root.resolve("empty-dir"));
        Files.createDirectories(root.resolve("setgid-dir"));
        Files.writeString(root.resolve("setgid-dir/f"), "g");
        Files.setAttribute(root.resolve("setgid-dir"), "unix:mode", 02775);
        Files.createDirectories(root.resolve("sticky"));
        Files.setAttribute(root.resolve("sticky"), "unix:mode", 01777);
        Files.createDirectories(root.resolve("deep/nested/dir"));
        Files.writeString(root.resolve("deep/nested/dir/file.txt"), "deep");
        Files.writeString(root.resolve(UNICODE), "unicode name");
        Files.createDirectories(root.resolve(LONG_DIR));
        Files.writeString(root.resolve(LONG_DIR).resolve(LONG_FILE), "long name");
        Files.createDirectories(root.resolve("links"));
        Files.createSymbolicLink(root.resolve("links/abs"), Path.of("/nonexistent/absolute/target"));
        Files.createSymbolicLink(root.resolve("links/rel"), Path.of("../a.txt"));
        Files.createSymbolicLink(root.resolve("links/dangling"), Path.of("../does-not-exist"));
        Files.createSymbolicLink(root.resolve("links/dir-link"), Path.of("../deep"));
        Files.createSymbolicLink(root.resolve("links/long-target"), Path.of("../" + LONG_DIR + "/" + LONG_FILE));
        Files.createSymbolicLink(root.resolve("links/unicode"), Path.of("../" + UNICODE));
        Files.createDirectories(root.resolve("hard"));
        Files.createDirectories(root.resolve("other"));
        Files.writeString(root.resolve("hard/one"), "shared inode");
        Files.createLink(root.resolve("hard/two"), root.resolve("hard/one"));
        Files.createLink(root.resolve("other/three"), root.resolve("hard/one"));
        if (isRoot(root)) {
            Files.writeString(root.resolve("owned.txt"), "owned");
            Files.setAttribute(root.resolve("owned.txt"), "unix:uid", 1234);
            Files.setAttribute(root.resolve("owned.txt"), "unix:gid", 5678);
            Files.setAttribute(root.resolve("deep"), "unix:uid", 4321, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(root.resolve("links/rel"), "unix:uid", 1234, LinkOption.NOFOLLOW_LINKS);
        }
        setOldTimes(root);
        return root;
    }

    static void write(Path p, String content, String perms) throws IOException {
        Files.writeString(p, content);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
    }

    /** Deepest first, so a directory's time is set after its contents change. */
    static void setOldTimes(Path root) throws IOException {
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(all::add);
        }
        long t = 1_000_000_000L; // 2001-09-09
        for (int i = all.size() - 1; i >= 0; i--) {
            Path p = all.get(i);
            if (!Files.isSymbolicLink(p)) {
                Files.setLastModifiedTime(p, FileTime.from(t + i * 3_601L, TimeUnit.SECONDS));
            }
        }
    }

    static MemoryStoreIo backup(VolumeStore store, Path artifacts) throws IOException {
        Files.createDirectories(artifacts);
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts);
        store.backup(out);
        return out;
    }

    @Test
    void awkwardTreeRoundTripsExactly() throws IOException {
        Path src = awkwardTree(tmp.resolve("src"));
        MemoryStoreIo out = backup(VolumeStore.of("vol", src), tmp.resolve("artifacts"));

        assertThat(out.warnings).isEmpty();
        assertThat(out.artifacts).singleElement().satisfies(a -> assertThat(a.name()).isEqualTo("tar"));
        assertThat(out.properties).containsEntry("hardlinks", "2").containsEntry("symlinks", "6")
                .containsEntry("skipped", "0");

        Path dst = tmp.resolve("restored/target");
        VolumeStore.of("vol", dst).restore(out.input("vol", RestoreOptions.defaults()));

        assertThat(Trees.snapshot(dst)).isEqualTo(Trees.snapshot(src));
        assertThat(Files.isSameFile(dst.resolve("hard/one"), dst.resolve("other/three"))).isTrue();
        assertThat(Files.readSymbolicLink(dst.resolve("links/abs"))).hasToString("/nonexistent/absolute/target");
        assertThat(Files.isSymbolicLink(dst.resolve("links/dir-link"))).isTrue();
        assertThat((Integer) Files.getAttribute(dst.resolve("setgid-dir"), "unix:mode") & 07777).isEqualTo(02775);
    }

    @Test
    void ownersAreRestoredWhenRunningAsRoot() throws IOException {
        Path src = awkwardTree(tmp.resolve("src"));
        assumeTrue(isRoot(src), "only root can give files to other users");
        MemoryStoreIo out = backup(VolumeStore.of("vol", src), tmp.resolve("artifacts"));
        Path dst = tmp.resolve("dst");
        VolumeStore.of("vol", dst).restore(out.input("vol", RestoreOptions.defaults()));
        assertThat(Files.getAttribute(dst.resolve("owned.txt"), "unix:uid")).isEqualTo(1234);
        assertThat(Files.getAttribute(dst.resolve("owned.txt"), "unix:gid")).isEqualTo(5678);
        assertThat(Files.getAttribute(dst.resolve("deep"), "unix:uid")).isEqualTo(4321);
        assertThat(Files.getAttribute(dst.resolve("links/rel"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(1234);
    }

    @Test
    void bigSparseFileRoundTrips() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        long size = 300L << 20;
        try (RandomAccessFile raf = new RandomAccessFile(src.resolve("big.img").toFile(), "rw")) {
            raf.setLength(size);
            for (long pos = 0; pos < size; pos += 37L << 20) {
                raf.seek(pos);
                raf.write(("marker at " + pos).getBytes(StandardCharsets.UTF_8));
            }
            raf.seek(size - 5);
            raf.write("tail!".getBytes(StandardCharsets.UTF_8));
        }
        Files.writeString(src.resolve("small"), "x");
        MemoryStoreIo out = backup(VolumeStore.of("vol", src), tmp.resolve("artifacts"));
        assertThat(out.properties.get("bytes")).isEqualTo(Long.toString(size + 1));

        Path dst = tmp.resolve("dst");
        VolumeStore.of("vol", dst).restore(out.input("vol", RestoreOptions.defaults()));
        assertThat(Files.size(dst.resolve("big.img"))).isEqualTo(size);
        assertThat(Trees.snapshot(dst)).isEqualTo(Trees.snapshot(src));
    }

    @Test
    void theArtifactIsAPlainTarThatGnuTarExtractsTheSame() throws Exception {
        assumeTrue(hasGnuTar(), "GNU tar not installed");
        Path src = awkwardTree(tmp.resolve("src"));
        MemoryStoreIo out = backup(VolumeStore.of("vol", src), tmp.resolve("artifacts"));
        Path dst = Files.createDirectories(tmp.resolve("by-gnu-tar"));
        run("tar", "-xpf", out.file(out.artifacts.get(0)).toString(), "-C", dst.toString());
        Map<String, String> expected = Trees.snapshot(src);
        Map<String, String> actual = Trees.snapshot(dst);
        if (!isRoot(src)) { // a non-root GNU tar restores neither owners nor the root entry's mode
            expected.keySet().retainAll(actual.keySet());
        }
        assertThat(actual).isEqualTo(expected);
    }

    @Test
    void restoresWhatGnuTarWrote() throws Exception {
        assumeTrue(hasGnuTar(), "GNU tar not installed");
        Path src = awkwardTree(tmp.resolve("src"));
        Path tar = tmp.resolve("gnu.tar");
        run("tar", "--format=posix", "-C", src.toString(), "-cf", tar.toString(), ".");
        Path dst = tmp.resolve("dst");
        VolumeStore.of("vol", dst).restore(MemoryStoreIo.of("volume", "tar", tar).input("vol", RestoreOptions.defaults()));
        assertThat(Trees.snapshot(dst)).isEqualTo(Trees.snapshot(src));
    }

    static boolean hasGnuTar() {
        try {
            Process p = new ProcessBuilder("tar", "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor() == 0 && v.contains("GNU tar");
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), output).isZero();
    }
}
