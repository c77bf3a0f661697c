package dev.sgbackup.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.store.Phase;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Presets into a real S3 server: an instance's volumes backed up with the essential and all-data options,
 * encrypted, then restored into a new instance. (The database and configuration parts of the presets are
 * covered end to end on a local sink in core; the sink is the only thing that differs here.)
 */
class S3PresetEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void presetsRoundTripThroughS3() throws Exception {
        for (String v : new String[] {"gitserver-0", "prometheus", "lsif-bundles"}) {
            Path d = Files.createDirectories(tmp.resolve("old").resolve(v));
            Files.writeString(d.resolve("f.txt"), (v + "\n").repeat(5000));
        }
        Instance old = Instance.builder().volume("gitserver-0", tmp.resolve("old/gitserver-0"))
                .volume("prometheus", tmp.resolve("old/prometheus")).volume("lsif-bundles", tmp.resolve("old/lsif-bundles")).build();
        S3ProxyServer server = S3ProxyServer.get();
        BackupSink sink = server.sinkBuilder(server.newBucket()).prefix("sg/prod").build();
        SgBackup sg = SgBackup.builder().sink(sink).encryption(Encryption.key(new byte[32])).build();

        RunResult essential = sg.run(sg.planBackup(old, Scope.ESSENTIAL));
        assertThat(sg.show(essential.backupId()).storeNames()).containsExactlyInAnyOrder("prometheus", "lsif-bundles");
        RunResult all = sg.run(sg.planBackup(old, Scope.ALL));
        assertThat(sg.show(all.backupId()).storeNames()).containsExactlyInAnyOrder("gitserver-0", "prometheus", "lsif-bundles");
        assertThat(sg.verify(all.backupId()).ok()).isTrue();
        assertThat(sg.list()).hasSize(2);

        Instance fresh = Instance.builder().volume("gitserver-0", tmp.resolve("new/gitserver-0"))
                .volume("prometheus", tmp.resolve("new/prometheus")).volume("lsif-bundles", tmp.resolve("new/lsif-bundles")).build();
        RunResult r = sg.run(sg.planRestore(all.backupId(), fresh, RestoreOptions.defaults(), Phase.ALL));
        assertThat(r.ok()).isTrue();
        for (String v : new String[] {"gitserver-0", "prometheus", "lsif-bundles"}) {
            assertThat(Files.mismatch(tmp.resolve("old").resolve(v).resolve("f.txt"), tmp.resolve("new").resolve(v).resolve("f.txt")))
                    .isEqualTo(-1L);
        }
    }
}
