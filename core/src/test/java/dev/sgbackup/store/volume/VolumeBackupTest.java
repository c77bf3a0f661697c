package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeBackupTest {
    @TempDir
    Path tmp;

    Path src() throws IOException {
        return Files.createDirectories(tmp.resolve("src"));
    }

    Path artifacts() throws IOException {
        return Files.createDirectories(tmp.resolve("artifacts"));
    }

    Map<String, String> restoreAndSnapshot(MemoryStoreIo out) throws IOException {
        Path dst = tmp.resolve("dst-" + System.nanoTime());
        VolumeStore.of("vol", dst).restore(out.input("vol", RestoreOptions.defaults()));
        Map<String, String> s = Trees.snapshot(dst);
        s.remove("./");
        return s;
    }

    @Test
    void socketsAndFifosAreSkippedAndListed() throws Exception {
        Path src = src();
        Files.writeString(src.resolve("file"), "x");
        Process p = new ProcessBuilder("mkfifo", src.resolve("fifo").toString()).start();
        assumeTrue(p.waitFor() == 0, "mkfifo not available");
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(src.resolve("sock")));
            MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
            VolumeStore.of("vol", src).backup(out); // must not block on the FIFO

            assertThat(out.warnings).containsExactlyInAnyOrder(
                    "skipped FIFO fifo (only files, directories and links are backed up)",
                    "skipped socket sock (only files, directories and links are backed up)");
            assertThat(out.properties).containsEntry("skipped", "2").containsEntry("files", "1");
            assertThat(restoreAndSnapshot(out)).containsOnlyKeys("file");
        }
    }

    @Test
    void excludeGlobsMatchNamesAnywhereOrPathsFromTheRoot() throws IOException {
        Path src = src();
        for (String f : List.of("keep.txt", "x.tmp", "sub/y.tmp", "sub/keep.txt", "cache/big", "sub/cache/big",
                "top.log", "sub/top.log", "repos/a/tmp_pack_1", "repos/a/objects", "node_modules/x/y")) {
            Files.createDirectories(src.resolve(f).getParent());
            Files.writeString(src.resolve(f), f);
        }
        VolumeStore store = VolumeStore.builder("vol", src).exclude("*.tmp", "cache", "/top.log")
                .exclude("repos/*/tmp_pack_*", "node_modules/**").build();
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        store.backup(out);

        assertThat(restoreAndSnapshot(out).keySet()).containsExactlyInAnyOrder("keep.txt", "sub/", "sub/keep.txt",
                "sub/top.log", "repos/", "repos/a/", "repos/a/objects");
        assertThat(out.properties).containsEntry("excludes", "*.tmp cache /top.log repos/*/tmp_pack_* node_modules/**");
        assertThat(store.estimateSize()).isEqualTo(
                ("keep.txt" + "sub/keep.txt" + "sub/top.log" + "repos/a/objects").length());
        assertThat(VolumeStore.of("vol", src).estimateSize()).isGreaterThan(store.estimateSize());
        assertThat(store.describe()).contains(src.toString()).contains("*.tmp");
    }

    @Test
    void aFileThatVanishesDuringTheBackupIsSkippedWithAWarning() throws IOException {
        Path src = src();
        Files.writeString(src.resolve("a"), "a");
        Files.writeString(src.resolve("b"), "b");
        Files.createDirectories(src.resolve("c/d"));
        Files.writeString(src.resolve("c/d/e"), "e");
        Files.writeString(src.resolve("z"), "z");
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        out.onCheck = n -> {
            if (n == 1) { // the root is listed; "a" is about to be read
                try {
                    Files.delete(src.resolve("b"));
                    Files.delete(src.resolve("c/d/e"));
                    Files.delete(src.resolve("c/d"));
                    Files.delete(src.resolve("c"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        VolumeStore.of("vol", src).backup(out);

        assertThat(out.warnings).containsExactly("vanished during the backup, skipped: b",
                "vanished during the backup, skipped: c");
        assertThat(out.aborted).isEmpty();
        assertThat(restoreAndSnapshot(out)).containsOnlyKeys("a", "z");
    }

    @Test
    void aFileThatGrowsWhileReadFailsTheBackupNamingIt() throws IOException {
        Path grows = sizeChangeFixture();
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        out.onWrite = written -> {
            if (once.compareAndSet(false, true)) {
                append(grows);
            }
        };
        assertThatThrownBy(() -> VolumeStore.of("vol", tmp.resolve("src")).backup(out))
                .isInstanceOf(StoreException.class).hasMessageContaining(grows.toString())
                .hasMessageContaining("changed size").hasMessageContaining("grew");
        assertThat(out.aborted).containsExactly("tar");
        assertThat(out.artifacts).isEmpty();
    }

    @Test
    void aFileThatShrinksWhileReadFailsTheBackupNamingIt() throws IOException {
        Path shrinks = sizeChangeFixture();
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        out.onWrite = written -> {
            if (once.compareAndSet(false, true)) {
                try (var ch = Files.newByteChannel(shrinks, StandardOpenOption.WRITE)) {
                    ch.truncate(100);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        assertThatThrownBy(() -> VolumeStore.of("vol", tmp.resolve("src")).backup(out))
                .isInstanceOf(StoreException.class).hasMessageContaining(shrinks.toString())
                .hasMessageContaining("shrank");
        assertThat(out.aborted).containsExactly("tar");
    }

    @Test
    void aFileThatKeepsItsSizeIsReadWhole() throws IOException {
        // the negative of the two above: the same fixture, untouched, backs up
        Path file = sizeChangeFixture();
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        VolumeStore.of("vol", tmp.resolve("src")).backup(out);
        assertThat(out.properties).containsEntry("bytes", Long.toString(Files.size(file)));
    }

    /**
     * 32 MiB: the hooks change it at the artifact's first write, and the reader cannot be more than the
     * write-behind queue (a few MiB) ahead of the writer, so the change always lands while it is being read.
     */
    private Path sizeChangeFixture() throws IOException {
        Path f = src().resolve("busy.log");
        Files.write(f, new byte[32 << 20]);
        return f;
    }

    private static void append(Path p) {
        try {
            Files.writeString(p, "more", StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theFileNameEncodingCheckNamesTheFix() {
        assertThat(FileNameEncoding.problem("UTF-8")).isNull();
        assertThat(FileNameEncoding.problem("utf8")).isNull();
        assertThat(FileNameEncoding.problem("ANSI_X3.4-1968")).contains("ANSI_X3.4-1968").contains("LANG=C.UTF-8")
                .contains("sun.jnu.encoding");
        assertThat(FileNameEncoding.problem(null)).isNotNull();
        assertThatThrownBy(() -> FileNameEncoding.check("ISO-8859-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("LANG=C.UTF-8");
    }

    @Test
    void aJvmStartedUnderLangCRefusesToBackUp() throws Exception {
        Path src = src();
        Files.writeString(src.resolve("ü.txt"), "x");
        assertThat(runProbe(src, "C")).contains("not UTF-8").contains("LANG=C.UTF-8");
        assertThat(runProbe(src, "C.UTF-8")).isEqualTo("ok");
    }

    private String runProbe(Path src, String lang) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"), EncodingProbe.class.getName(),
                src.toString(), artifacts().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("LC_") || k.equals("LANG") || k.equals("LANGUAGE"));
        pb.environment().put("LANG", lang);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    @Test
    void badNamesAndGlobsAreRefusedUpFront() {
        assertThatThrownBy(() -> VolumeStore.of("Git Server", tmp)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'Git Server'");
        assertThatThrownBy(() -> VolumeStore.builder("vol", tmp).exclude("[unclosed").build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("[unclosed");
        assertThat(VolumeStore.of("gitserver-0", tmp).toString()).contains("gitserver-0").contains(tmp.toString());
    }

    @Test
    void checkBackupReportsAMissingDirectory() throws IOException {
        CheckReport report = new CheckReport();
        VolumeStore.of("vol", tmp.resolve("missing")).checkBackup(report);
        assertThat(report.ok()).isFalse();
        assertThat(report.toString()).contains("missing");

        CheckReport fine = new CheckReport();
        VolumeStore.of("vol", src()).checkBackup(fine);
        assertThat(fine.ok()).as(fine.toString()).isTrue();

        assertThatThrownBy(() -> VolumeStore.of("vol", tmp.resolve("missing")).backup(MemoryStoreIo.inDirectory("volume", tmp)))
                .isInstanceOf(StoreException.class).hasMessageContaining("not a directory");
    }

    @Test
    void theWalkDoesNotFollowSymlinksToDirectories() throws IOException {
        Path src = src();
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("secret"), "not part of the volume");
        Files.createSymbolicLink(src.resolve("link"), elsewhere);
        Files.createSymbolicLink(src.resolve("loop"), Path.of("."));
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        VolumeStore.of("vol", src).backup(out);
        assertThat(out.properties).containsEntry("files", "0").containsEntry("symlinks", "2");
        try (Stream<String> lines = Stream.of(restoreAndSnapshot(out).keySet().toArray(String[]::new))) {
            assertThat(lines).containsExactlyInAnyOrder("link", "loop");
        }
    }

    @Test
    void namesAndLinkTargetsThatAreNotUtf8AreSkippedWithAWarning() throws Exception {
        Path src = src();
        Files.writeString(src.resolve("fine.txt"), "x");
        Process p = new ProcessBuilder("bash", "-c", "cd '" + src + "' && touch $'bad-\\xff-name' && ln -s $'\\xfe' badlink")
                .redirectErrorStream(true).start();
        assumeTrue(p.waitFor() == 0, "bash cannot create the names");
        MemoryStoreIo out = MemoryStoreIo.inDirectory("volume", artifacts());
        VolumeStore.of("vol", src).backup(out);
        assertThat(out.warnings).hasSize(2)
                .anySatisfy(w -> assertThat(w).contains("name is not valid UTF-8"))
                .anySatisfy(w -> assertThat(w).contains("skipped symbolic link badlink"));
        assertThat(restoreAndSnapshot(out)).containsOnlyKeys("fine.txt");
    }
}
