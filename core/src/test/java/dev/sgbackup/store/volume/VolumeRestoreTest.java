package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeRestoreTest {
    static final RestoreOptions REPLACE = new RestoreOptions(true, false);

    @TempDir
    Path tmp;
    Path src;
    MemoryStoreIo out;

    @BeforeEach
    void backUp() throws IOException {
        src = VolumeRoundTripTest.awkwardTree(tmp.resolve("src"));
        Files.writeString(src.resolve("marked.txt"), "MARK".repeat(4096));
        out = VolumeRoundTripTest.backup(VolumeStore.of("vol", src), tmp.resolve("artifacts"));
    }

    /** An existing tree, with a symlink out of it: replacing must delete the link, not what it points to. */
    Path oldTree() throws IOException {
        Path target = Files.createDirectories(tmp.resolve("target/old-dir"));
        Files.writeString(target.resolve("old.txt"), "old");
        Files.createDirectories(tmp.resolve("elsewhere"));
        Files.writeString(tmp.resolve("elsewhere/keep.txt"), "keep");
        Files.createSymbolicLink(tmp.resolve("target/link-out"), tmp.resolve("elsewhere"));
        Files.writeString(tmp.resolve("target/a.txt"), "old version of a.txt");
        return tmp.resolve("target");
    }

    static List<String> leftovers(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".sgbackup-")).toList();
        }
    }

    /** Flips one byte inside a file's content in the stored artifact, so the tar still parses to its end. */
    void corrupt() throws IOException {
        int at = new String(out.bytes("tar"), StandardCharsets.ISO_8859_1).indexOf("MARKMARK") + 1000;
        out.damage("tar", at);
    }

    @Test
    void aNonEmptyTargetIsRefusedWithoutReplaceAndNotTouched() throws IOException {
        Path target = oldTree();
        Map<String, String> before = Trees.snapshot(target);
        MemoryStoreIo.Input in = out.input("vol", RestoreOptions.defaults());

        assertThatThrownBy(() -> VolumeStore.of("vol", target).restore(in))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(target.toString()).hasMessageContaining("not empty")
                .hasMessageContaining("replace");
        assertThat(in.opened).isZero();
        assertThat(Trees.snapshot(target)).isEqualTo(before);

        CheckReport report = new CheckReport();
        VolumeStore.of("vol", target).checkRestore(out.storeBackup("vol"), RestoreOptions.defaults(), report);
        assertThat(report.ok()).isFalse();
        assertThat(report.toString()).contains("not empty");
        CheckReport withReplace = new CheckReport();
        VolumeStore.of("vol", target).checkRestore(out.storeBackup("vol"), REPLACE, withReplace);
        assertThat(withReplace.ok()).as(withReplace.toString()).isTrue();
    }

    @Test
    void replaceSwapsTheContentsAndKeepsTheTargetDirectory() throws IOException {
        Path target = oldTree();
        Object inode = Files.getAttribute(target, "unix:ino");
        VolumeStore.of("vol", target).restore(out.input("vol", REPLACE));

        assertThat(Trees.snapshot(target)).isEqualTo(Trees.snapshot(src));
        assertThat(Files.getAttribute(target, "unix:ino")).as("same directory (a mount point stays)").isEqualTo(inode);
        assertThat(tmp.resolve("elsewhere/keep.txt")).hasContent("keep");
        assertThat(leftovers(target)).isEmpty();
    }

    @Test
    void anEmptyLostAndFoundCountsAsEmptyAndIsKept() throws IOException {
        Path target = tmp.resolve("target");
        Files.createDirectories(target.resolve("lost+found"));
        Object inode = Files.getAttribute(target.resolve("lost+found"), "unix:ino");
        CheckReport report = new CheckReport();
        VolumeStore.of("vol", tmp.resolve("target")).checkRestore(out.storeBackup("vol"), RestoreOptions.defaults(),
                report);
        assertThat(report.ok()).as(report.toString()).isTrue();

        VolumeStore.of("vol", tmp.resolve("target")).restore(out.input("vol", RestoreOptions.defaults()));
        assertThat(tmp.resolve("target/a.txt")).hasContent("hello\n");
        assertThat(Files.getAttribute(target.resolve("lost+found"), "unix:ino")).isEqualTo(inode);
    }

    @Test
    void aDamagedArtifactLeavesANewTargetUncreated() throws IOException {
        corrupt();
        Path target = tmp.resolve("new/target");
        assertThatThrownBy(() -> VolumeStore.of("vol", target)
                .restore(out.input("vol", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("damaged");
        assertThat(tmp.resolve("new")).doesNotExist();
    }

    @Test
    void aDamagedArtifactLeavesAnEmptyTargetEmpty() throws IOException {
        corrupt();
        Path target = Files.createDirectories(tmp.resolve("target"));
        var mtime = Files.getLastModifiedTime(target);
        assertThatThrownBy(() -> VolumeStore.of("vol", target)
                .restore(out.input("vol", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class);
        try (Stream<Path> s = Files.list(target)) {
            assertThat(s).isEmpty();
        }
        assertThat(Files.getLastModifiedTime(target)).isEqualTo(mtime);
    }

    @Test
    void aDamagedArtifactLeavesAReplacedTargetAsItWas() throws IOException {
        corrupt();
        Path target = oldTree();
        Map<String, String> before = Trees.snapshot(target);
        assertThatThrownBy(() -> VolumeStore.of("vol", target).restore(out.input("vol", REPLACE)))
                .isInstanceOf(IntegrityException.class);
        assertThat(Trees.snapshot(target)).isEqualTo(before);
    }

    @Test
    void aTruncatedArtifactLeavesAReplacedTargetAsItWas() throws IOException {
        out.truncate("tar", out.recorded("tar").size() / 2);
        Path target = oldTree();
        Map<String, String> before = Trees.snapshot(target);
        assertThatThrownBy(() -> VolumeStore.of("vol", target).restore(out.input("vol", REPLACE)))
                .isInstanceOfAny(IntegrityException.class, IOException.class);
        assertThat(Trees.snapshot(target)).isEqualTo(before);
    }

    @Test
    void anUndamagedArtifactRestoresOverTheSameTree() throws IOException {
        // the negative of the damage tests: the same steps without corrupt() succeed
        Path target = oldTree();
        VolumeStore.of("vol", target).restore(out.input("vol", REPLACE));
        assertThat(target.resolve("marked.txt")).hasContent("MARK".repeat(4096));
    }

    @Test
    void aDryRunReadsEverythingAndWritesNothing() throws IOException {
        Path target = tmp.resolve("target");
        MemoryStoreIo.Input in = out.input("vol", new RestoreOptions(false, true));
        VolumeStore.of("vol", target).restore(in);
        assertThat(in.opened).isEqualTo(1);
        assertThat(target).doesNotExist();

        corrupt();
        assertThatThrownBy(() -> VolumeStore.of("vol", target)
                .restore(out.input("vol", new RestoreOptions(false, true))))
                .isInstanceOf(IntegrityException.class);
    }

    @Test
    void aBackupWithoutATarArtifactIsNotAVolumeBackup() {
        StoreBackup other = new StoreBackup("vol", "postgres", "db", Map.of(), List.of(), List.of());
        MemoryStoreIo.Input in = new MemoryStoreIo("volume").input(other, RestoreOptions.defaults());
        assertThatThrownBy(() -> VolumeStore.of("vol", tmp.resolve("t")).restore(in))
                .isInstanceOf(StoreException.class).hasMessageContaining("postgres").hasMessageContaining("'tar'");
        CheckReport report = new CheckReport();
        VolumeStore.of("vol", tmp.resolve("t")).checkRestore(other, RestoreOptions.defaults(), report);
        assertThat(report.ok()).isFalse();
    }

    @Test
    void aTargetThatIsAFileIsRefused() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> VolumeStore.of("vol", file)
                .restore(out.input("vol", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("not a directory");
        assertThat(file).hasContent("x");
    }

    @Test
    void aFailureWhileMovingTheOldEntriesAsideMovesThemBack() throws Exception {
        Path target = oldTree();
        for (int i = 0; i < 20; i++) {
            Files.writeString(target.resolve("old-" + i), "old " + i);
        }
        Path stuck = Files.writeString(target.resolve("immutable"), "cannot be renamed");
        org.junit.jupiter.api.Assumptions.assumeTrue(chattr("+i", stuck), "chattr +i needs root on ext2/3/4");
        try {
            Map<String, String> before = Trees.snapshot(target);
            assertThatThrownBy(() -> VolumeStore.of("vol", target).restore(out.input("vol", REPLACE)))
                    .isInstanceOf(IOException.class).hasMessageContaining("immutable");
            assertThat(Trees.snapshot(target)).isEqualTo(before);
        } finally {
            chattr("-i", stuck);
        }
    }

    static boolean chattr(String flag, Path file) throws Exception {
        try {
            Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
