package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Volumes in deduplicated backups are chunked file by file, and a file unchanged since the parent backup (same path,
 * size, mtime, ctime, inode) is taken from the parent without being read; restores into an empty directory give the
 * tree back exactly, whatever mix of read and reused files made the backup.
 */
class DedupFileReuseTest {
    /** A little over ArtifactWriter.RACY_NANOS. */
    static final long RACY_MILLIS = 3_100;

    @TempDir
    Path tmp;

    /** 120 small text files in 12 directories, a 6 MiB incompressible file, an empty file, a symlink and a hard link. */
    private static Path tree(Path root) throws IOException {
        for (int d = 0; d < 12; d++) {
            Path dir = Files.createDirectories(root.resolve("objects/" + String.format("%02x", d * 19)));
            for (int f = 0; f < 10; f++) {
                Files.writeString(dir.resolve("file-" + f + ".go"), ("package p" + d + "\n\nfunc F" + f + "() int { return " + (d * f)
                        + " }\n").repeat(20 + 7 * f));
            }
        }
        byte[] big = new byte[6 << 20];
        new Random(7).nextBytes(big);
        Files.write(root.resolve("objects/pack-1.pack"), big);
        Files.createFile(root.resolve("empty"));
        // names whose headers are not plain ustar ones (a PAX header): formatted again, never taken from the parent
        Files.writeString(root.resolve("a-long-name-" + "x".repeat(120) + ".txt"), "long name");
        Files.writeString(root.resolve("h\u00e9llo.txt"), "non-ASCII name");
        Files.createSymbolicLink(root.resolve("HEAD-link"), Path.of("objects/pack-1.pack"));
        Files.createLink(root.resolve("objects/pack-1.keep"), root.resolve("objects/pack-1.pack"));
        Files.setPosixFilePermissions(root.resolve("objects/00/file-1.go"), PosixFilePermissions.fromString("rwx------"));
        return root;
    }

    /** Path → content, mode and link target of everything in a tree. */
    private static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "-> " + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p)) {
                    out.put(rel, PosixFilePermissions.toString(Files.getPosixFilePermissions(p)) + " "
                            + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                } else {
                    out.put(rel, "dir " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
                }
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static StoreBackup store(Manifest m) {
        return m.stores().get(0);
    }

    private static ArtifactInfo.Chunks chunks(Manifest m) {
        return store(m).artifacts().get(0).chunks();
    }

    private Map<String, String> restore(SgBackup sg, String id, String name) throws IOException {
        Path target = tmp.resolve(name);
        RunResult r = sg.restore(id, RestoreOptions.defaults(), Stores.directory("repos", target));
        assertThat(r.ok()).as(r.toString()).isTrue();
        return snapshot(target);
    }

    @Test
    void unchangedFilesAreTakenFromTheParentChangedOnesAreReadAndEveryBackupRestoresExactly() throws Exception {
        Path src = tree(tmp.resolve("src"));
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).encryption(Encryption.passphrase("reuse test")).build();
        Thread.sleep(RACY_MILLIS); // files changed in the last seconds are read again by the next backup (see below)

        RunResult first = sg.backup(Stores.directory("repos", src));
        Manifest m1 = sg.show(first.backupId());
        assertThat(store(m1).properties()).containsEntry("unchanged", "0").containsEntry("files", "124");
        Map<String, String> v1 = snapshot(src);

        // nothing changed: every file comes from the parent, and the content tables are the parent's chunks too
        RunResult second = sg.backup(Stores.directory("repos", src));
        Manifest m2 = sg.show(second.backupId());
        assertThat(store(m2).properties()).containsEntry("unchanged", "124");
        assertThat(chunks(m2).newBytes()).isZero();
        assertThat(chunks(m2).reusedBytes()).isGreaterThan(6L << 20).isLessThanOrEqualTo(store(m2).artifacts().get(0).size());
        assertThat(chunks(m2).count()).isEqualTo(chunks(m1).count());
        assertThat(store(m2).artifacts().get(0).sha256()).isEqualTo(store(m1).artifacts().get(0).sha256());
        assertThat(restore(sg, second.backupId(), "r2")).isEqualTo(v1);

        // one file rewritten with the same size and mtime (its ctime moves), one appended to, one added, one removed,
        // the big file appended to: those are read, the rest reused
        Path same = src.resolve("objects/13/file-3.go");
        FileTime mtime = Files.getLastModifiedTime(same);
        String text = Files.readString(same);
        Files.writeString(same, text.replace("return", "RETURN"));
        Files.setLastModifiedTime(same, mtime);
        Files.writeString(src.resolve("objects/26/file-0.go"), "// appended\n", StandardOpenOption.APPEND);
        Files.writeString(src.resolve("objects/39/new.go"), "package new\n");
        Files.delete(src.resolve("objects/4c/file-9.go"));
        byte[] tail = new byte[100_000];
        new Random(8).nextBytes(tail);
        Files.write(src.resolve("objects/pack-1.pack"), tail, StandardOpenOption.APPEND);
        Map<String, String> v3 = snapshot(src);
        assertThat(v3).isNotEqualTo(v1);
        // past the racy window (3 s, ArtifactWriter.RACY_NANOS): a file changed just before it is read is recorded with
        // a stamp no file has; the third and the --force-read fourth backup must record the same stamps however long
        // the restores between them take (on a loaded machine they took more than 3 s, and the fourth found new
        // table bytes)
        Thread.sleep(3_200);

        RunResult third = sg.backup(Stores.directory("repos", src));
        Manifest m3 = sg.show(third.backupId());
        // 122 files (one removed, one added): the rewritten, the appended, the added and the big file are read
        assertThat(store(m3).properties()).containsEntry("files", "124").containsEntry("unchanged", "120");
        // the big file's first chunks are the parent's: only its last chunk(s) and the small files are new
        assertThat(chunks(m3).newBytes()).isLessThan(4L << 20);
        assertThat(chunks(m3).reusedBytes()).isGreaterThan(2L << 20);
        assertThat(restore(sg, third.backupId(), "r3")).isEqualTo(v3);
        assertThat(restore(sg, first.backupId(), "r1")).isEqualTo(v1);
        assertThat(sg.verify(third.backupId()).ok()).isTrue();

        // --force-read reads every file again, and finds every chunk stored already
        SgBackup force = sg.toBuilder().forceRead(true).build();
        RunResult fourth = force.backup(Stores.directory("repos", src));
        Manifest m4 = force.show(fourth.backupId());
        assertThat(store(m4).properties()).containsEntry("unchanged", "0");
        assertThat(chunks(m4).newBytes()).isZero();
        assertThat(store(m4).artifacts().get(0).sha256()).isEqualTo(store(m3).artifacts().get(0).sha256());
        assertThat(restore(force, fourth.backupId(), "r4")).isEqualTo(v3);
    }

    @Test
    void aFileChangedWhileKeepingSizeMtimeAndCtimeCannotBeMadeHereSoTheStampIncludesCtime() throws Exception {
        // The stamp compares ctime: chmod changes ctime, so a permission change alone makes the file read again and
        // its new mode restored.
        Path src = tree(tmp.resolve("src"));
        SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).dedup(true).build();
        Thread.sleep(RACY_MILLIS);
        sg.backup(Stores.directory("repos", src));
        Files.setPosixFilePermissions(src.resolve("objects/00/file-2.go"), PosixFilePermissions.fromString("r--r-----"));
        RunResult second = sg.backup(Stores.directory("repos", src));
        assertThat(store(sg.show(second.backupId())).properties()).containsEntry("unchanged", "123");
        assertThat(restore(sg, second.backupId(), "r")).isEqualTo(snapshot(src));
    }
}
