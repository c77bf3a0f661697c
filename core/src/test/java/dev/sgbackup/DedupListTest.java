package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Encryption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** list's stored size of deduplicated backups, encrypted or not, with or without the passphrase. */
class DedupListTest {
    @TempDir
    Path tmp;

    private static long treeBytes(Path sinkDir) throws Exception {
        try (Stream<Path> s = Files.walk(sinkDir.resolve("dedup/trees"))) {
            long total = 0;
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                total += Files.size(p);
            }
            return total;
        }
    }

    @Test
    void anEncryptedDedupBackupListsItsStoredSizeWithOrWithoutThePassphrase() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        Encryption key = Encryption.key(new byte[32]);
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).encryption(key).dedup(true).build();
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        String id = sg.backup(new BytesStore("s").with("one", data).with("two", "small".getBytes(StandardCharsets.UTF_8))).backupId();
        Manifest m = sg.show(id);
        assertThat(m.storedSize()).isPositive().isEqualTo(treeBytes(sinkDir));

        for (SgBackup reader : new SgBackup[] {sg, SgBackup.to(Sinks.local(sinkDir))}) {
            assertThat(reader.list()).singleElement().satisfies(b -> {
                assertThat(b.encrypted()).isTrue();
                assertThat(b.storedSize()).isEqualTo(m.storedSize());
                assertThat(b.size()).isEqualTo(-1);
                assertThat(b.stores()).isEmpty();
            });
        }
        // the same figure an unencrypted dedup backup lists
        Path plainDir = tmp.resolve("plain");
        SgBackup plain = SgBackup.builder().sink(Sinks.local(plainDir)).dedup(true).build();
        String plainId = plain.backup(new BytesStore("s").with("one", data)).backupId();
        assertThat(plain.list()).extracting(BackupSummary::storedSize).containsExactly(plain.show(plainId).storedSize());

        // the clear figure is authenticated: an edited one makes the manifest damaged, and list leaves it out
        Path manifest = sinkDir.resolve("manifests").resolve(id + ".json");
        String json = Files.readString(manifest);
        assertThat(json).contains("\"storedSize\" : " + m.storedSize() + ",");
        Files.writeString(manifest, json.replace("\"storedSize\" : " + m.storedSize() + ",", "\"storedSize\" : 1,"));
        assertThat(SgBackup.to(Sinks.local(sinkDir)).list()).isEmpty();
    }

    @Test
    void anEncryptedFullBackupStillListsWhatItsDataPrefixHolds() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).encryption(Encryption.key(new byte[32])).build();
        String id = sg.backup(new BytesStore("s").with("one", new byte[100_000])).backupId();
        long data;
        try (Stream<Path> s = Files.walk(sinkDir.resolve("data"))) {
            data = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        assertThat(SgBackup.to(Sinks.local(sinkDir)).list()).singleElement()
                .satisfies(b -> assertThat(b.storedSize()).isPositive().isEqualTo(data));
        assertThat(Files.readString(sinkDir.resolve("manifests").resolve(id + ".json"))).as("no new clear field for full backups")
                .doesNotContain("storedSize");
    }
}
