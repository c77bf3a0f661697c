package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tar writer's {@code lstat}: every field, for files, directories, symbolic links and hard links. */
class FileStatTest {
    @TempDir
    Path tmp;

    @Test
    void everyFieldOfFilesDirectoriesLinksAndHardLinks() throws Exception {
        Path file = Files.writeString(tmp.resolve("a.txt"), "content");
        Files.setLastModifiedTime(file, FileTime.from(Instant.parse("2021-03-04T05:06:07.123456789Z")));
        Files.setAttribute(file, "unix:mode", 04755);
        Path dir = Files.createDirectory(tmp.resolve("d"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), Path.of("a.txt"));
        Path hard = Files.createLink(tmp.resolve("hard"), file);
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), Path.of("nowhere"));
        FileStat f = FileStat.lstat(file);
        assertThat(f.mode() & 07777).isEqualTo(04755);
        assertThat(f.mode() & TarWriter.S_IFMT).isEqualTo(TarWriter.S_IFREG);
        assertThat(f.size()).isEqualTo(7);
        assertThat(f.nlink()).isEqualTo(2);
        assertThat(f.ino()).isEqualTo(FileStat.lstat(hard).ino()).isPositive();
        assertThat(f.mtimeNanos()).isEqualTo(Instant.parse("2021-03-04T05:06:07.123456789Z").getEpochSecond() * 1_000_000_000L + 123_456_789L);
        assertThat(f.mtimeMillis()).isEqualTo(Instant.parse("2021-03-04T05:06:07.123Z").toEpochMilli());
        assertThat(f.ctimeNanos()).isPositive();
        assertThat(f.uid()).isEqualTo((Integer) Files.getAttribute(file, "unix:uid"));
        assertThat(f.dev()).isEqualTo((Long) Files.getAttribute(file, "unix:dev"));
        assertThat(FileStat.lstat(link).mode() & TarWriter.S_IFMT).as("not followed").isEqualTo(TarWriter.S_IFLNK);
        assertThat(FileStat.lstat(dangling).size()).isEqualTo("nowhere".length());
        assertThat(FileStat.lstat(dir).mode() & TarWriter.S_IFMT).isEqualTo(TarWriter.S_IFDIR);
    }
}
