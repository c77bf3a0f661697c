package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single image's data directory ({@code /var/opt/sourcegraph}) → Docker Compose volumes: its live PGDATA
 * ({@code postgresql/}) is never copied, and its {@code repos/} restore into the one gitserver volume.
 */
class SingleImageVolumeTest {
    @TempDir
    Path tmp;

    /** /var/opt/sourcegraph as sourcegraph/server lays it out, with PostgreSQL running (postmaster.pid). */
    private Path singleImageData() throws IOException {
        Path data = tmp.resolve("var-opt-sourcegraph");
        write(data.resolve("postgresql/PG_VERSION"), "12\n");
        write(data.resolve("postgresql/postmaster.pid"), "42\n/var/opt/sourcegraph/postgresql\n");
        write(data.resolve("postgresql/base/16384/1259"), "heap page");
        write(data.resolve("repos/github.com/acme/api/.git/HEAD"), "ref: refs/heads/main\n");
        write(data.resolve("repos/github.com/acme/api/.git/objects/pack/pack-1.pack"), "PACK");
        write(data.resolve("zoekt/index/github.com%2Facme%2Fapi_v16.00000.zoekt"), "shard");
        write(data.resolve("prometheus/wal/00000000"), "wal");
        write(data.resolve("blobstore/buckets/lsif-uploads/upload-1"), "scip");
        return data;
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }

    private static List<String> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
    }

    @Test
    void theWholeDataDirectoryIsBackedUpWithoutItsPgdata() throws Exception {
        Path data = singleImageData();
        VolumeStore store = VolumeStore.of("data", data);
        CheckReport r = new CheckReport();
        store.checkBackup(r);
        assertThat(r.errors()).isEmpty();
        assertThat(r.findings()).anyMatch(f -> f.level() == CheckReport.Level.WARNING
                && f.message().contains("postgresql is a PostgreSQL data directory (PG_VERSION, postmaster.pid: running)")
                && f.message().contains("backed up logically"));
        assertThat(store.estimateSize()).isEqualTo(Files.size(data.resolve("repos/github.com/acme/api/.git/HEAD")) + 4 + 5 + 3 + 4);

        SgBackup sg = SgBackup.to(Sinks.local(tmp.resolve("sink")));
        RunResult b = sg.backup(store);
        assertThat(b.ok()).as(b.toString()).isTrue();
        assertThat(b.warnings()).anyMatch(w -> w.contains("left out of volume data"));
        assertThat(sg.show(b.backupId()).store("data").orElseThrow().properties()).containsEntry("excluded.pgdata", "postgresql");

        Path restored = tmp.resolve("restored");
        RunResult rr = sg.restore(b.backupId(), new RestoreOptions(false, false), VolumeStore.of("data", restored));
        assertThat(rr.ok()).as(rr.toString()).isTrue();
        assertThat(tree(restored)).isEqualTo(tree(data).stream().filter(f -> !f.startsWith("postgresql/")).toList())
                .noneMatch(f -> f.startsWith("postgresql"));
    }

    @Test
    void reposRestoreIntoTheOneComposeGitserverVolume() throws Exception {
        Path data = singleImageData();
        SgBackup sg = SgBackup.to(Sinks.local(tmp.resolve("sink")));
        // backed up by kind: the store is named as the Compose volume it restores into
        RunResult b = sg.backup(VolumeStore.of("gitserver-0", data.resolve("repos")),
                VolumeStore.of("zoekt", data.resolve("zoekt")), VolumeStore.of("prometheus", data.resolve("prometheus")));
        assertThat(b.ok()).as(b.toString()).isTrue();
        Path compose = tmp.resolve("docker/volumes");
        Path gitserver0 = compose.resolve("docker-compose_gitserver-0/_data");
        RunResult rr = sg.restore(b.backupId(), new RestoreOptions(false, false), VolumeStore.of("gitserver-0", gitserver0));
        assertThat(rr.ok()).as(rr.toString()).isTrue();
        assertThat(tree(gitserver0)).isEqualTo(tree(data.resolve("repos")))
                .contains("github.com/acme/api/.git/HEAD");
    }

    @Test
    void aVolumeThatIsItselfAPgdataIsRefused() throws Exception {
        Path pgdata = singleImageData().resolve("postgresql");
        VolumeStore store = VolumeStore.of("postgresql", pgdata);
        CheckReport r = new CheckReport();
        store.checkBackup(r);
        assertThat(r.errors()).singleElement().satisfies(f -> assertThat(f.message())
                .contains("is a PostgreSQL data directory (PG_VERSION)").contains("--postgres"));
        assertThatThrownBy(() -> SgBackup.to(Sinks.local(tmp.resolve("sink"))).backup(store))
                .isInstanceOf(SgBackupException.class).hasMessageContaining("PostgreSQL data directory");
    }
}
