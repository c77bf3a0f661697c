package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Archives crafted to escape the target: each is refused, names the entry, and changes nothing anywhere. */
class VolumeHostileArchiveTest {
    @TempDir
    Path tmp;
    Path outside;

    /** A tar built entry by entry with Commons Compress, names kept exactly (absolute ones too). */
    static final class Tar implements AutoCloseable {
        final TarArchiveOutputStream out;

        Tar(Path file) throws IOException {
            OutputStream os = Files.newOutputStream(file);
            out = new TarArchiveOutputStream(os, "UTF-8");
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        }

        Tar file(String name, String content) throws IOException {
            byte[] b = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
            e.setSize(b.length);
            out.putArchiveEntry(e);
            out.write(b);
            out.closeArchiveEntry();
            return this;
        }

        Tar dir(String name) throws IOException {
            return put(new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true));
        }

        Tar symlink(String name, String target) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
            e.setLinkName(target);
            return put(e);
        }

        Tar hardlink(String name, String target) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
            e.setLinkName(target);
            return put(e);
        }

        private Tar put(TarArchiveEntry e) throws IOException {
            out.putArchiveEntry(e);
            out.closeArchiveEntry();
            return this;
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    interface Build {
        void into(Tar tar, Path outside) throws IOException;
    }

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("dot-dot", "../escaped.txt", (Build) (t, o) -> t.file("../escaped.txt", "x")),
                Arguments.of("nested dot-dot", "a/../../escaped.txt",
                        (Build) (t, o) -> t.dir("a").file("a/../../escaped.txt", "x")),
                Arguments.of("absolute name", "<outside>/escaped.txt",
                        (Build) (t, o) -> t.file(o.resolve("escaped.txt").toString(), "x")),
                Arguments.of("file through absolute symlink", "evil/escaped.txt",
                        (Build) (t, o) -> t.symlink("evil", o.toString()).file("evil/escaped.txt", "x")),
                Arguments.of("file through relative symlink", "evil/outside/escaped.txt",
                        (Build) (t, o) -> t.symlink("evil", "..").file("evil/outside/escaped.txt", "x")),
                Arguments.of("file through a deeper symlink", "a/b/c/escaped.txt",
                        (Build) (t, o) -> t.dir("a").symlink("a/b", o.toString()).file("a/b/c/escaped.txt", "x")),
                Arguments.of("directory over a symlink", "evil/",
                        (Build) (t, o) -> t.symlink("evil", o.toString()).dir("evil").file("evil/escaped.txt", "x")),
                Arguments.of("file over a symlink to a file", "evil",
                        (Build) (t, o) -> t.symlink("evil", o.resolve("victim.txt").toString()).file("evil", "pwned")),
                Arguments.of("hard link with dot-dot", "h",
                        (Build) (t, o) -> t.hardlink("h", "../outside/victim.txt")),
                Arguments.of("hard link to an absolute path", "h",
                        (Build) (t, o) -> t.hardlink("h", o.resolve("victim.txt").toString())),
                Arguments.of("hard link through a symlink", "h",
                        (Build) (t, o) -> t.symlink("s", o.toString()).hardlink("h", "s/victim.txt")),
                Arguments.of("duplicate entry", "ok.txt", (Build) (t, o) -> t.file("ok.txt", "second")));
    }

    @BeforeEach
    void outside() throws IOException {
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("victim.txt"), "victim");
    }

    private Path craft(Build build) throws IOException {
        Path file = tmp.resolve("hostile.tar");
        try (Tar t = new Tar(file)) {
            t.file("ok.txt", "benign entry first, so the stage has content when the bad one comes");
            build.into(t, outside);
            t.file("after.txt", "last entry");
        }
        return file;
    }

    private void assertNothingEscaped(Map<String, String> outsideBefore) throws IOException {
        assertThat(Trees.snapshot(outside)).isEqualTo(outsideBefore);
        assertThat(Files.getAttribute(outside.resolve("victim.txt"), "unix:nlink")).isEqualTo(1);
        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all.map(p -> p.getFileName().toString()))
                    .doesNotContain("escaped.txt")
                    .noneMatch(n -> n.startsWith(".sgbackup-"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void refusedIntoANewDirectory(String title, String entry, Build build) throws IOException {
        Path tar = craft(build);
        Map<String, String> outsideBefore = Trees.snapshot(outside);
        Path target = tmp.resolve("target");

        assertThatThrownBy(() -> VolumeStore.of("vol", target)
                .restore(MemoryStoreIo.of("volume", "tar", tar).input("vol", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("'" + entry.replace("<outside>", outside.toString()) + "'");

        assertThat(target).doesNotExist();
        assertNothingEscaped(outsideBefore);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void refusedOverAnExistingTreeWithReplace(String title, String entry, Build build) throws IOException {
        Path tar = craft(build);
        Path target = VolumeRoundTripTest.awkwardTree(tmp.resolve("target"));
        Map<String, String> targetBefore = Trees.snapshot(target);
        Map<String, String> outsideBefore = Trees.snapshot(outside);

        assertThatThrownBy(() -> VolumeStore.of("vol", target)
                .restore(MemoryStoreIo.of("volume", "tar", tar).input("vol", new RestoreOptions(true, false))))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("'" + entry.replace("<outside>", outside.toString()) + "'");

        assertThat(Trees.snapshot(target)).isEqualTo(targetBefore);
        assertNothingEscaped(outsideBefore);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void refusedInADryRunWhenTheNameAloneGivesItAway(String title, String entry, Build build) throws IOException {
        Path tar = craft(build);
        Path target = tmp.resolve("target");
        boolean nameAlone = List.of("dot-dot", "nested dot-dot", "absolute name", "hard link with dot-dot",
                "hard link to an absolute path").contains(title);
        Runnable restore = () -> {
            try {
                VolumeStore.of("vol", target).restore(MemoryStoreIo.of("volume", "tar", tar).input("vol", new RestoreOptions(false, true)));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        if (nameAlone) {
            assertThatThrownBy(restore::run).isInstanceOf(IntegrityException.class);
        } else {
            restore.run();
        }
        assertThat(target).doesNotExist();
    }

    @Test
    void aBenignCraftedArchiveIsRestored() throws IOException {
        // The negative of the cases above: the same builder, nothing hostile, is accepted.
        Path tar = craft((t, o) -> t.dir("a").symlink("a/link", o.toString()).file("a/b/c.txt", "deep")
                .hardlink("h", "a/b/c.txt").symlink("rel", "../outside"));
        Path target = tmp.resolve("target");
        VolumeStore.of("vol", target).restore(MemoryStoreIo.of("volume", "tar", tar).input("vol", RestoreOptions.defaults()));
        assertThat(target.resolve("a/b/c.txt")).hasContent("deep");
        assertThat(Files.isSameFile(target.resolve("h"), target.resolve("a/b/c.txt"))).isTrue();
        assertThat(Files.readSymbolicLink(target.resolve("a/link"))).isEqualTo(outside);
        assertThat(target.resolve("after.txt")).hasContent("last entry");
    }
}
