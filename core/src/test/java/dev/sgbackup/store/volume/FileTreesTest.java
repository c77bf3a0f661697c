package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @TempDir
    Path tmp;

    @Test
    void theFsyncFallbackWalksTheTreeWithoutFollowingLinks() throws IOException {
        Path root = VolumeRoundTripTest.awkwardTree(tmp.resolve("t"));
        Files.createSymbolicLink(root.resolve("to-missing-dir"), tmp.resolve("missing"));
        FileTrees.fsyncTree(root); // a followed dangling link would throw
        assertThatThrownBy(() -> FileTrees.fsyncTree(tmp.resolve("missing"))).isInstanceOf(NoSuchFileException.class);
        assertThat(FileTrees.syncFileSystem(root)).isTrue();
    }

    @Test
    void deleteRecursivelyRemovesLinksNotWhatTheyPointTo() throws IOException {
        Path keep = Files.createDirectories(tmp.resolve("keep"));
        Files.writeString(keep.resolve("file"), "kept");
        Path doomed = Files.createDirectories(tmp.resolve("doomed/sub"));
        Files.createSymbolicLink(doomed.resolve("link"), keep);
        FileTrees.deleteRecursively(tmp.resolve("doomed"));
        assertThat(tmp.resolve("doomed")).doesNotExist();
        assertThat(keep.resolve("file")).hasContent("kept");
    }
}
