package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import dev.sgbackup.plan.KubernetesManifests;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.transform.Encryption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sgbackup worker}, the command a Kubernetes executor Job runs: a backup step writes its artifacts and its step
 * record (no manifest); with --encrypt it takes the backup's data key the coordinator stored wrapped, unwrapping it
 * with SGBACKUP_PASSPHRASE; a restore step restores its one store.
 */
class CliWorkerTest {
    @TempDir
    Path tmp;

    private static final String PASS = "worker passphrase 1";

    private Path tree(String name, String content) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("a.txt"), content);
        return dir;
    }

    private List<String> files(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void encryptedWorkersWriteRecordsTheCoordinatorCommitsThenAWorkerRestores() throws Exception {
        Path sink = tmp.resolve("sink");
        String uri = sink.toUri().toString();
        Path a = tree("a", "shard a");
        Path b = tree("b", "shard b");
        String id = KubernetesManifests.newBackupId(Instant.now());
        Instant started = Instant.now();
        try (SgBackup coordinator = SgBackup.builder().sink(uri).encryption(Encryption.passphrase(PASS)).build()) {
            coordinator.beginStepBackup(id);
        }
        Map<String, String> env = Map.of("SGBACKUP_PASSPHRASE", PASS);
        CliTest.Run w1 = CliEncryptionTest.cli(env, "worker", "--operation", "backup", "--backup-id", id, "--step", "gitserver-0",
                "--ordinal", "1", "--to", uri, "--compression", "zstd:3", "--encrypt", "--volume", "gitserver-0=" + a);
        assertThat(w1.code()).as(w1.err()).isZero();
        assertThat(w1.out()).startsWith("gitserver-0 volume completed 1 artifacts");
        CliTest.Run w2 = CliEncryptionTest.cli(env, "worker", "--operation", "backup", "--backup-id", id, "--step", "gitserver-1",
                "--ordinal", "2", "--to", uri, "--compression", "zstd:3", "--encrypt", "--volume", "gitserver-1=" + b);
        assertThat(w2.code()).as(w2.err()).isZero();
        assertThat(files(sink)).contains("data/" + id + "/_steps/s01.json", "data/" + id + "/_steps/s02.json")
                .noneMatch(f -> f.startsWith("manifests"));
        // a worker without the passphrase fails and writes nothing more
        CliTest.Run nopass = CliEncryptionTest.cli(Map.of(), "worker", "--operation", "backup", "--backup-id", id, "--step", "x",
                "--ordinal", "3", "--to", uri, "--encrypt", "--volume", "x=" + a);
        assertThat(nopass.code()).isEqualTo(2);
        assertThat(nopass.err()).contains("SGBACKUP_PASSPHRASE");
        try (SgBackup coordinator = SgBackup.builder().sink(uri).encryption(Encryption.passphrase(PASS)).build()) {
            assertThat(coordinator.commitStepBackup(id, started, Scope.ALL, List.of("gitserver-0", "gitserver-1")).committed()).isTrue();
        }
        CliTest.Run verify = CliEncryptionTest.cli(env, "verify", "--from", uri, "--backup", id);
        assertThat(verify.code()).as(verify.err()).isZero();
        Path target = tmp.resolve("restored");
        CliTest.Run r = CliEncryptionTest.cli(env, "worker", "--operation", "restore", "--backup-id", id, "--step", "gitserver-1",
                "--from", uri, "--volume", "gitserver-1=" + target);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("gitserver-1 volume completed");
        assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("shard b");
    }

    @Test
    void dedupWorkersBackUpIntoTheRepositoryAndTheNextBackupsWorkersReuseTheirShardsParent() throws Exception {
        Path sink = tmp.resolve("sink");
        String uri = sink.toUri().toString();
        Path a = tree("a", "shard a\n".repeat(5000));
        byte[] pack = new byte[1_200_000];
        new java.util.Random(1).nextBytes(pack);
        Files.write(a.resolve("pack.bin"), pack);
        Thread.sleep(3_100); // past the racy window: a file changed in the last seconds is read again by the next backup
        Map<String, String> env = Map.of("SGBACKUP_PASSPHRASE", PASS);
        List<String> stored = new java.util.ArrayList<>();
        for (int round = 0; round < 2; round++) {
            String id = KubernetesManifests.newBackupId(Instant.now());
            try (SgBackup coordinator = SgBackup.builder().sink(uri).encryption(Encryption.passphrase(PASS)).dedup(true).build()) {
                coordinator.beginStepBackup(id); // holds the backup's lease until the commit
                CliTest.Run w = CliEncryptionTest.cli(env, "worker", "--operation", "backup", "--backup-id", id, "--step", "gitserver-0",
                        "--ordinal", "1", "--to", uri, "--encrypt", "--dedup", "--retry-lock", "1m", "--volume", "gitserver-0=" + a);
                assertThat(w.code()).as(w.err()).isZero();
                assertThat(w.out()).startsWith("gitserver-0 volume completed 1 artifacts");
                stored.add(w.out().strip().replaceAll(".* (\\d+) stored$", "$1"));
                assertThat(coordinator.commitStepBackup(id, Instant.now(), Scope.ALL, List.of("gitserver-0")).committed()).isTrue();
            }
            CliTest.Run show = CliEncryptionTest.cli(env, "show", "--from", uri, "--backup", id, "--json");
            assertThat(show.code()).as(show.err()).isZero();
            assertThat(show.out()).contains("\"chunks\"", "\"newBytes\"", "\"reusedBytes\"")
                    .contains("\"unchanged\" : \"" + (round == 0 ? 0 : 2) + "\"");
            CliTest.Run verify = CliEncryptionTest.cli(env, "verify", "--from", uri, "--backup", id, "--read-data");
            assertThat(verify.code()).as(verify.err()).isZero();
            Thread.sleep(1_100); // the next backup id's second
        }
        // the second backup stored its tree and no pack: nothing changed
        assertThat(Long.parseLong(stored.get(0))).isGreaterThan(1_000_000);
        assertThat(Long.parseLong(stored.get(1))).isLessThan(1_000);
        CliTest.Run restoreDedup = CliEncryptionTest.cli(env, "worker", "--operation", "restore", "--backup-id",
                KubernetesManifests.newBackupId(Instant.now()), "--step", "gitserver-0", "--from", uri, "--dedup", "--volume",
                "gitserver-0=" + tmp.resolve("r"));
        assertThat(restoreDedup.code()).isEqualTo(2);
        assertThat(restoreDedup.err()).contains("worker --operation restore takes --from and --replace");
    }

    @Test
    void aDatabaseStepNeedsItsPasswordVariableAndOneStoreFlag() {
        CliTest.Run noVar = CliEncryptionTest.cli(Map.of(), "worker", "--operation", "backup", "--backup-id", "20261202T142200Z-0a1b2c",
                "--step", "codeintel", "--ordinal", "1", "--to", tmp.toUri().toString(), "--postgres",
                "codeintel=jdbc:postgresql://h:5432/db?user=u", "--password-env", "CODEINTEL_PGPASSWORD");
        assertThat(noVar.code()).isEqualTo(2);
        assertThat(noVar.err()).contains("CODEINTEL_PGPASSWORD").contains("secretKeyRef");
        CliTest.Run two = CliEncryptionTest.cli(Map.of(), "worker", "--operation", "backup", "--backup-id", "20261202T142200Z-0a1b2c",
                "--step", "a", "--ordinal", "1", "--to", tmp.toUri().toString(), "--volume", "a=/x", "--volume", "b=/y");
        assertThat(two.code()).isEqualTo(2);
        assertThat(two.err()).contains("exactly one");
        assertThat(WorkerCommand.password("PGDATASOURCE", "postgres://sg:s%40cret@db:5432/sg")).isEqualTo("s@cret");
    }
}
