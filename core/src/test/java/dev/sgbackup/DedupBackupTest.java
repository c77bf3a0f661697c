package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.CheckFailedException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PgFixtures;
import dev.sgbackup.store.postgres.PostgresStore;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deduplicated backups through the real engine: local sink, volume store on temp dirs, embedded PostgreSQL. */
class DedupBackupTest {
    private static final String FRONTEND = "sourcegraph-frontend-5.11.sql";

    @TempDir
    Path tmp;

    /** A volume of a few incompressible MiB plus small files. */
    private static Path volume(Path dir, long seed) throws IOException {
        Files.createDirectories(dir.resolve("repos/a"));
        Files.write(dir.resolve("repos/a/pack.bin"), random(12 << 20, seed));
        for (int i = 0; i < 20; i++) {
            Files.writeString(dir.resolve("repos/a/file-" + i + ".txt"), ("line " + i + " of a small file\n").repeat(50 + i));
        }
        return dir;
    }

    /** Every regular file's relative path and SHA-256. */
    static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                try {
                    out.put(root.relativize(p).toString(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(Files.readAllBytes(p))));
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }

    private static long sum(Manifest m, java.util.function.ToLongFunction<ArtifactInfo.Chunks> f) {
        return m.artifacts().stream().mapToLong(a -> f.applyAsLong(a.chunks())).sum();
    }

    @Test
    void volumeAndDatabaseRoundTripSecondBackupStoresLittleAndFullBackupsLiveBeside() throws Exception {
        Path src = volume(tmp.resolve("src"), 1);
        String db = PgFixtures.filled(FRONTEND);
        Map<String, String> dbBefore = PgFixtures.tables(db);
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = dedupEngine(sinkDir);
        RunResult first = sg.backup(Stores.directory("repos", src),
                PostgresStore.builder("frontend", PgFixtures.url(db)).mode(PostgresStore.Mode.JDBC).build());
        assertThat(first.ok()).as(first.toString()).isTrue();
        Manifest m1 = sg.show(first.backupId());
        assertThat(m1.artifacts()).allSatisfy(a -> {
            assertThat(a.deduplicated()).isTrue();
            assertThat(a.key()).startsWith("dedup/trees/");
        });
        assertThat(sum(m1, ArtifactInfo.Chunks::newBytes)).isGreaterThan(12 << 20);
        assertThat(sinkDir.resolve("dedup/config")).exists();
        assertThat(sinkDir.resolve("data")).doesNotExist();
        Map<String, String> v1 = snapshot(src);

        // a small change: one small file edited, one added, one row more in the database
        Files.writeString(src.resolve("repos/a/file-3.txt"), "edited\n", java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(src.resolve("repos/a/new.txt"), "new file\n");
        try (var c = java.sql.DriverManager.getConnection(PgFixtures.url(db)); var st = c.createStatement()) {
            st.execute("INSERT INTO versions (service, version, first_version) VALUES ('dedup-test', '5.11.0', '5.11.0')");
        }
        Map<String, String> dbAfter = PgFixtures.tables(db);
        assertThat(dbAfter).isNotEqualTo(dbBefore);
        RunResult second = sg.backup(Stores.directory("repos", src),
                PostgresStore.builder("frontend", PgFixtures.url(db)).mode(PostgresStore.Mode.JDBC).build());
        Manifest m2 = sg.show(second.backupId());
        // what the run reports as stored is what it added to the sink: far less than the first backup
        assertThat(second.storedBytes()).isPositive().isLessThan(first.storedBytes() / 3);
        long total = m2.size();
        long newBytes = sum(m2, ArtifactInfo.Chunks::newBytes);
        long reused = sum(m2, ArtifactInfo.Chunks::reusedBytes);
        // reused: content already stored; new: new content chunks and new chunks of the content tables
        assertThat(reused).isGreaterThan(0).isLessThanOrEqualTo(total);
        assertThat(reused + newBytes).isGreaterThan(total * 9 / 10);
        assertThat(newBytes).as("new bytes of %s", total).isLessThan(total / 3);
        assertThat(m2.toJson()).contains("\"chunks\"").contains("\"newBytes\"").contains("\"reusedBytes\"");
        Map<String, String> v2 = snapshot(src);

        // a full backup beside them
        SgBackup full = SgBackup.builder().sink(Sinks.local(sinkDir)).build();
        RunResult third = full.backup(Stores.directory("repos", src));
        assertThat(full.show(third.backupId()).artifacts()).noneMatch(ArtifactInfo::deduplicated);
        assertThat(full.show(third.backupId()).toJson()).doesNotContain("\"newBytes\"");
        assertThat(full.list()).extracting(BackupSummary::id)
                .containsExactlyInAnyOrder(first.backupId(), second.backupId(), third.backupId());

        // every backup restores exactly, from an engine without dedup set (reading needs no flag)
        assertThat(full.verify(first.backupId()).ok()).isTrue();
        assertThat(full.verify(second.backupId()).ok()).isTrue();
        full.restore(first.backupId(), RestoreOptions.defaults(), Stores.directory("repos", tmp.resolve("r1")));
        assertThat(snapshot(tmp.resolve("r1"))).isEqualTo(v1);
        sg.restore(second.backupId(), RestoreOptions.defaults(), Stores.directory("repos", tmp.resolve("r2")));
        assertThat(snapshot(tmp.resolve("r2"))).isEqualTo(v2);
        sg.restore(third.backupId(), RestoreOptions.defaults(), Stores.directory("repos", tmp.resolve("r3")));
        assertThat(snapshot(tmp.resolve("r3"))).isEqualTo(v2);
        for (RunResult backup : List.of(first, second)) {
            String target = PgFixtures.migrated(FRONTEND);
            RunResult rr = sg.restore(backup.backupId(), new RestoreOptions(true, false),
                    PostgresStore.builder("frontend", PgFixtures.url(target)).mode(PostgresStore.Mode.JDBC).build());
            assertThat(rr.ok()).as(rr.toString()).isTrue();
            assertThat(PgFixtures.tables(target)).isEqualTo(backup == first ? dbBefore : dbAfter);
        }

        // delete removes the manifest and the backup's trees, not the packs the other backup shares
        long packs = countFiles(sinkDir.resolve("dedup/packs"));
        sg.delete(first.backupId());
        assertThat(m1.artifacts()).allSatisfy(a -> assertThat(sinkDir.resolve(a.key())).doesNotExist());
        assertThat(countFiles(sinkDir.resolve("dedup/packs"))).isEqualTo(packs);
        sg.restore(second.backupId(), RestoreOptions.defaults(), Stores.directory("repos", tmp.resolve("r4")));
        assertThat(snapshot(tmp.resolve("r4"))).isEqualTo(v2);
    }

    private static SgBackup dedupEngine(Path sinkDir) {
        return SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).build();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    private static long countFiles(Path dir) throws IOException {
        return files(dir).size();
    }

    @Test
    void encryptedRoundTripRefusesAWrongPassphraseAndLeaksNoPlaintext() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("secret-project-dir"));
        String marker = "TOP-SECRET-CONTENT-MARKER";
        Files.writeString(src.resolve("secret-project-dir/confidential-notes.txt"), (marker + "\n").repeat(10_000));
        Files.write(src.resolve("secret-project-dir/blob.bin"), random(3 << 20, 7));
        Files.writeString(src.resolve("secret-project-dir/small.txt"), "a small secret file\n".repeat(500));
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true)
                .encryption(Encryption.passphrase("correct horse battery staple")).build();
        RunResult r1 = sg.backup(Stores.directory("vol", src));
        RunResult r2 = sg.backup(Stores.directory("vol", src));
        Manifest m2 = sg.show(r2.backupId());
        assertThat(m2.encrypted()).isTrue();
        assertThat(sum(m2, ArtifactInfo.Chunks::newBytes)).isZero();
        sg.restore(r1.backupId(), RestoreOptions.defaults(), Stores.directory("vol", tmp.resolve("out")));
        assertThat(snapshot(tmp.resolve("out"))).isEqualTo(snapshot(src));
        assertThat(sg.verify(r2.backupId()).ok()).isTrue();

        // a new dedup backup with a wrong passphrase: the repository's key object refuses it, clearly
        SgBackup wrong = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true)
                .encryption(Encryption.passphrase("correct horse battery stapler")).build();
        int before = sg.list().size();
        assertThatThrownBy(() -> wrong.backup(Stores.directory("vol", src))).isInstanceOf(CheckFailedException.class)
                .hasMessageContaining("wrong passphrase or key for the deduplicated repository");
        assertThat(sg.list()).hasSize(before);
        assertThatThrownBy(() -> wrong.restore(r1.backupId(), RestoreOptions.defaults(), Stores.directory("vol", tmp.resolve("x"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong passphrase");
        // without one: the repository says it is encrypted
        SgBackup none = SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).build();
        assertThatThrownBy(() -> none.backup(Stores.directory("vol", src))).isInstanceOf(CheckFailedException.class)
                .hasMessageContaining("is encrypted");

        // nothing in the sink shows a file name or content, nor an unkeyed hash of content: small.txt is one chunk of
        // its own (files are chunked one by one), so its plain SHA-256 would be its chunk id in an unencrypted repository
        byte[] plainId = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(src.resolve("secret-project-dir/small.txt")));
        String plainIdHex = HexFormat.of().formatHex(plainId);
        String plainIdRaw = new String(plainId, StandardCharsets.ISO_8859_1);
        assertThat(sinkDir.resolve("dedup/keys")).isNotEmptyDirectory();
        List<Path> objects = files(sinkDir);
        assertThat(objects).isNotEmpty();
        for (Path p : objects) {
            String text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
            assertThat(text).as(p.toString()).doesNotContain("secret-project").doesNotContain("confidential").doesNotContain(marker)
                    .doesNotContain("blob.bin").doesNotContain("small.txt").doesNotContain(plainIdHex).doesNotContain(plainIdRaw);
            assertThat(sinkDir.relativize(p).toString()).doesNotContain("vol").doesNotContain(plainIdHex);
        }
    }

    @Test
    void twoFirstBackupsRacingFromTwoEnginesBothCommitInOneRepository() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        byte[] key = random(32, 77);
        List<SgBackup> engines = List.of(
                SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).encryption(Encryption.key(key)).build(),
                SgBackup.builder().sink(Sinks.local(sinkDir)).dedup(true).encryption(Encryption.key(key)).build());
        List<byte[]> data = List.of(random(2 << 20, 1), random(2 << 20, 2));
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        List<java.util.concurrent.Future<RunResult>> runs = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int n = i;
            runs.add(pool.submit(() -> {
                start.await();
                return engines.get(n).backup(new BytesStore("s").with("art", data.get(n)));
            }));
        }
        List<RunResult> results = new java.util.ArrayList<>();
        for (var f : runs) {
            results.add(f.get());
        }
        pool.shutdown();
        assertThat(files(sinkDir.resolve("dedup/keys"))).as("the loser removed its key object").hasSize(1);
        // a third engine reads both: one config, one master key
        SgBackup reader = SgBackup.builder().sink(Sinks.local(sinkDir)).encryption(Encryption.key(key)).build();
        for (int i = 0; i < 2; i++) {
            assertThat(reader.verify(results.get(i).backupId()).ok()).isTrue();
            BytesStore target = new BytesStore("s");
            reader.restore(results.get(i).backupId(), RestoreOptions.defaults(), target);
            assertThat(target.restored.get("art")).isEqualTo(data.get(i));
        }
    }

    @Test
    void aBackupThatFailsMidwayCommitsNothingAndTheNextOneWorks() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = dedupEngine(sinkDir);
        byte[] data = random(3 << 20, 3);
        BytesStore good = new BytesStore("a").with("one", data);
        RunResult ok = sg.backup(good);
        BytesStore bad = new BytesStore("b").with("two", data).with("three", "x".getBytes(StandardCharsets.UTF_8));
        bad.failMidway = new IllegalStateException("the store died");
        assertThatThrownBy(() -> sg.backup(bad)).hasMessageContaining("the store died");
        assertThat(sg.list()).extracting(BackupSummary::id).containsExactly(ok.backupId());
        assertThat(Files.list(sinkDir.resolve("manifests")).count()).isEqualTo(1);
        // the failed backup's trees were removed; its packs stay, unreferenced, for a later prune
        assertThat(countFiles(sinkDir.resolve("dedup/trees"))).isEqualTo(1);

        bad.failMidway = null;
        RunResult later = sg.backup(bad);
        assertThat(later.ok()).isTrue();
        assertThat(sg.verify(later.backupId()).ok()).isTrue();
        BytesStore target = new BytesStore("b");
        sg.restore(later.backupId(), RestoreOptions.defaults(), target);
        assertThat(target.restored.get("two")).isEqualTo(data);
    }

    @Test
    void aDamagedPackIsNamedByVerifyAndRefusedByRestore() throws Exception {
        Path sinkDir = tmp.resolve("sink");
        SgBackup sg = dedupEngine(sinkDir);
        byte[] data = random(2 << 20, 5);
        RunResult r = sg.backup(new BytesStore("s").with("art", data));
        List<Path> packs = files(sinkDir.resolve("dedup/packs"));
        assertThat(packs).hasSize(1);
        Path pack = packs.get(0);
        byte[] bytes = Files.readAllBytes(pack);
        bytes[1000] ^= 1; // inside the first blob
        Files.write(pack, bytes);
        String packName = pack.getFileName().toString();

        assertThat(sg.verify(r.backupId()).ok()).as("the default verify checks structure, reads no chunk").isTrue();
        VerifyReport report = sg.verify(r.backupId(), dev.sgbackup.manifest.VerifyOptions.readData());
        assertThat(report.ok()).isFalse();
        assertThat(report.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Problem.Kind.DAMAGED);
            assertThat(p.message()).contains("pack " + packName).containsPattern("chunk [0-9a-f]{64}").contains("s/art");
        });
        BytesStore target = new BytesStore("s");
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), target))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("pack " + packName);
        assertThat(target.restored).isEmpty();

        // a missing pack is named too, before any byte reaches the store
        Files.delete(pack);
        assertThat(sg.verify(r.backupId()).problems()).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("pack " + packName).contains("missing"));
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), target))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("pack " + packName).hasMessageContaining("missing");
    }
}
