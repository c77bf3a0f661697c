package dev.sgbackup.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.Stores;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deduplicated, encrypted backups through a real S3 server: the repository config created on S3 (conditional
 * create where the server honours it), packs read back with ranged GETs, a second backup storing only the change.
 */
class S3DedupEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void dedupBackupsRoundTripThroughS3() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] big = new byte[5 << 20];
        new Random(2).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("small.txt"), "one\n");
        S3ProxyServer server = S3ProxyServer.get();
        BackupSink sink = server.sinkBuilder(server.newBucket()).prefix("sg/dedup").build();
        SgBackup sg = SgBackup.builder().sink(sink).dedup(true).encryption(Encryption.key(new byte[32])).build();

        RunResult first = sg.backup(Stores.directory("vol", src));
        Files.writeString(src.resolve("small.txt"), "two\n");
        RunResult second = sg.backup(Stores.directory("vol", src));
        Manifest m = sg.show(second.backupId());
        assertThat(m.artifacts()).allMatch(ArtifactInfo::deduplicated);
        long newBytes = m.artifacts().stream().mapToLong(a -> a.chunks().newBytes()).sum();
        assertThat(newBytes).isLessThan(m.size() / 2);
        assertThat(sink.stat("dedup/config")).isPresent();
        assertThat(sg.verify(first.backupId()).ok()).isTrue();
        assertThat(sg.verify(second.backupId()).ok()).isTrue();

        sg.delete(first.backupId());
        sg.restore(second.backupId(), RestoreOptions.defaults(), Stores.directory("vol", tmp.resolve("out")));
        assertThat(Files.readAllBytes(tmp.resolve("out/big.bin"))).isEqualTo(big);
        assertThat(Files.readString(tmp.resolve("out/small.txt"))).isEqualTo("two\n");
    }
}
