package dev.sgbackup;

import dev.sgbackup.sink.Sinks;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.IntegrityException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.hash.Hashing;
import dev.sgbackup.manifest.BackupSummary;
import dev.sgbackup.internal.Layout;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Encrypted backups end to end through SgBackup on real local sinks. */
class EncryptedBackupTest {
    static final int S = 64 * 1024;
    static final int SEALED = S + 16;
    static final int H = 12;
    static final String SECRET = "ghp_s3cr3tT0kenFromTheCodeHostConfig0123";

    @TempDir
    Path dir;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static Encryption key(int seed) {
        return Encryption.key(random(32, seed));
    }

    SgBackup engine(String sinkDir, Encryption e, Compression c) {
        return SgBackup.builder().sink(Sinks.local(dir.resolve(sinkDir))).compression(c).encryption(e).build();
    }

    Path stored(String sinkDir, String key) {
        return dir.resolve(sinkDir).resolve(key);
    }

    static ArtifactInfo artifact(Manifest m, String name) {
        return m.artifacts().stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void roundTripAtSegmentEdgesAndSeveralMegabytes() {
        SgBackup sg = engine("sink", key(1), Compression.zstd());
        BytesStore src = new BytesStore("cfg").with("empty", new byte[0]).with("one", new byte[] {42})
                .with("seg-1", random(S - 1, 2)).with("seg", random(S, 3)).with("seg+1", random(S + 1, 4))
                .with("big", random(5 * 1024 * 1024 + 3, 5));
        assertThat(sg.planBackup(List.of(src)).transforms()).isEqualTo("zstd:3,aes-256-gcm-stream");
        RunResult r = sg.backup(src);
        Manifest m = sg.show(r.backupId());
        assertThat(m.encrypted()).isTrue();
        assertThat(m.encryption()).containsEntry("kdf", "raw").containsKey("wrappedKey");
        assertThat(m.artifacts()).allSatisfy(a -> {
            assertThat(a.transforms()).containsExactly("zstd", Encryption.TRANSFORM_ID);
            assertThat(a.key()).matches("data/" + r.backupId() + "/s01/\\d{6}\\.sgenc");
        });
        assertThat(sg.verify(r.backupId()).ok()).isTrue();
        BytesStore target = new BytesStore("cfg");
        sg.restore(r.backupId(), RestoreOptions.defaults(), target);
        assertThat(target.restored.keySet()).containsExactlyElementsOf(src.artifacts.keySet());
        src.artifacts.forEach((k, v) -> assertThat(target.restored.get(k)).as(k).isEqualTo(v));
    }

    @Test
    void noSecretNameOrHashAppearsInAnyStoredByte() throws IOException {
        byte[] content = ("{\"github\": {\"token\": \"" + SECRET + "\"}}\n").repeat(5000).getBytes(StandardCharsets.UTF_8);
        BytesStore src = new BytesStore("storenamesecret").with("artifactnamesecret.json", content);
        String plainSha = Hashing.sha256().hashBytes(content).toString();

        // control: without encryption every marker is visible, so the search below can find them
        SgBackup plain = engine("plain", null, Compression.none());
        plain.backup(src);
        String plainAll = allStoredBytes(plain.sink());
        assertThat(plainAll).contains(SECRET).contains("artifactnamesecret").contains("storenamesecret").contains(plainSha);

        SgBackup sg = engine("enc", key(1), Compression.none());
        RunResult r = sg.backup(src);
        String all = allStoredBytes(sg.sink());
        assertThat(all).doesNotContain(SECRET).doesNotContain(SECRET.substring(0, 10))
                .doesNotContain("artifactnamesecret").doesNotContain("storenamesecret").doesNotContain(plainSha)
                .doesNotContain("\"len\"");
        // the clear part of the manifest says only what the issue allows
        String manifest = Files.readString(stored("enc", Layout.manifestKey(r.backupId())));
        assertThat(manifest).contains(r.backupId()).contains("\"scope\"").contains("\"sealed\"").contains("\"kdf\" : \"raw\"")
                .doesNotContain("\"stores\"").doesNotContain("\"artifacts\"").doesNotContain("\"compression\"");
        BytesStore target = new BytesStore("storenamesecret");
        sg.restore(r.backupId(), RestoreOptions.defaults(), target);
        assertThat(target.restored.get("artifactnamesecret.json")).isEqualTo(content);
    }

    static String allStoredBytes(BackupSink sink) throws IOException {
        StringBuilder sb = new StringBuilder();
        List<String> keys = sink.listAll("").map(ObjectInfo::key).toList();
        assertThat(keys).isNotEmpty();
        for (String k : keys) {
            sb.append(k).append('\n');
            try (InputStream in = sink.read(k)) {
                sb.append(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).append('\n');
            }
        }
        return sb.toString();
    }

    @Test
    void wrongKeyOrNoKeyIsRefusedBeforeAnythingIsWritten() throws IOException {
        Path src = Files.createDirectories(dir.resolve("src"));
        Files.writeString(src.resolve("site.json"), SECRET);
        RunResult r = engine("sink", key(1), Compression.zstd()).backup(Stores.directory("vol", src));
        Path target = dir.resolve("target");

        SgBackup wrong = engine("sink", key(2), Compression.zstd());
        assertThatThrownBy(() -> wrong.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("vol", target)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong key for backup " + r.backupId());
        assertThatThrownBy(() -> wrong.verify(r.backupId())).isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong key");
        SgBackup none = engine("sink", null, Compression.zstd());
        assertThatThrownBy(() -> none.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("vol", target)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("backup " + r.backupId() + " is encrypted; set SGBACKUP_PASSPHRASE");
        assertThatThrownBy(() -> none.show(r.backupId())).hasMessageContaining("is encrypted")
                .isInstanceOfSatisfying(dev.sgbackup.run.PassphraseRequiredException.class,
                        e -> assertThat(e.backupId()).isEqualTo(r.backupId()));
        assertThat(!Files.exists(target) || isEmpty(target)).as("nothing written to the target").isTrue();

        // listing needs no key and shows only what is in clear
        List<BackupSummary> list = none.list();
        assertThat(list).singleElement().satisfies(b -> {
            assertThat(b.encrypted()).isTrue();
            assertThat(b.stores()).isEmpty();
            assertThat(b.size()).as("plain size is sealed").isEqualTo(-1);
            assertThat(b.storedSize()).as("what the sink holds for it").isEqualTo(r.storedBytes());
            assertThat(b.toString()).contains("encrypted");
        });

        engine("sink", key(1), Compression.zstd()).restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("vol", target));
        assertThat(Files.readString(target.resolve("site.json"))).isEqualTo(SECRET);
    }

    static boolean isEmpty(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    void realPassphraseWithDefaultIterations() {
        SgBackup sg = engine("sink", Encryption.passphrase("correct horse battery staple"), Compression.zstd());
        RunResult r = sg.backup(new BytesStore("cfg").with("a", SECRET.getBytes(StandardCharsets.UTF_8)));
        assertThat(sg.show(r.backupId()).encryption()).containsEntry("iterations", "600000").containsEntry("kdf", "pbkdf2-hmac-sha256");

        BytesStore target = new BytesStore("cfg");
        engine("sink", Encryption.passphrase("correct horse battery staple".toCharArray()), Compression.zstd())
                .restore(r.backupId(), RestoreOptions.defaults(), target);
        assertThat(target.restored.get("a")).isEqualTo(SECRET.getBytes(StandardCharsets.UTF_8));

        BytesStore untouched = new BytesStore("cfg");
        assertThatThrownBy(() -> engine("sink", Encryption.passphrase("correct horse battery stapler"), Compression.zstd())
                .restore(r.backupId(), RestoreOptions.defaults(), untouched))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong passphrase for backup " + r.backupId());
        assertThat(untouched.restored).isEmpty();
        assertThat(sg.toString()).doesNotContain("horse").contains("***");
    }

    /** Backs up one store with a 2½-segment artifact and a same-size sibling, without compression. */
    RunResult twoArtifacts(SgBackup sg, long seed) {
        return sg.backup(new BytesStore("s").with("x", random(2 * S + 100, seed)).with("y", random(2 * S + 100, seed + 1)));
    }

    void assertRefused(SgBackup sg, String id, String reason) {
        VerifyReport v = sg.verify(id);
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).anySatisfy(p -> assertThat(p.message()).contains("s/x").contains(reason));
        BytesStore target = new BytesStore("s");
        assertThatThrownBy(() -> sg.restore(id, RestoreOptions.defaults(), target)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("s/x").hasMessageContaining("no target was changed");
        assertThat(target.restored).isEmpty();
    }

    @Test
    void flippedByteIsRefused() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult r = twoArtifacts(sg, 1);
        Path p = stored("sink", artifact(sg.show(r.backupId()), "x").key());
        byte[] b = Files.readAllBytes(p);
        b[H + SEALED + 7] ^= 0x20;
        Files.write(p, b);
        assertRefused(sg, r.backupId(), "segment 1 does not authenticate");
    }

    @Test
    void droppedLastSegmentAndMidSegmentCutAreRefused() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult r = twoArtifacts(sg, 1);
        Path p = stored("sink", artifact(sg.show(r.backupId()), "x").key());
        byte[] b = Files.readAllBytes(p);
        assertThat(b).hasSize(H + 2 * SEALED + 100 + 16);
        Files.write(p, Arrays.copyOf(b, H + 2 * SEALED));
        assertRefused(sg, r.backupId(), "truncated");
        Files.write(p, Arrays.copyOf(b, H + SEALED + 1000));
        assertRefused(sg, r.backupId(), "does not authenticate");
    }

    @Test
    void aDamagedSegmentLateInAVolumeLeavesTheTargetUntouched() throws IOException {
        Path src = Files.createDirectories(dir.resolve("src"));
        Files.write(src.resolve("a.bin"), random(300_000, 1));
        Files.write(src.resolve("b.bin"), random(300_000, 2));
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult r = sg.backup(Stores.directory("vol", src));
        Path p = stored("sink", sg.show(r.backupId()).artifacts().get(0).key());
        byte[] b = Files.readAllBytes(p);
        b[b.length - 100] ^= 1; // the final segment: earlier segments were already handed to the store
        Files.write(p, b);
        Path target = dir.resolve("target");
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), Stores.directory("vol", target)))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("does not authenticate");
        assertThat(!Files.exists(target) || isEmpty(target)).as("nothing left in the target").isTrue();
    }

    @Test
    void reorderedSegmentsAreRefused() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult r = twoArtifacts(sg, 1);
        Path p = stored("sink", artifact(sg.show(r.backupId()), "x").key());
        byte[] b = Files.readAllBytes(p);
        byte[] swapped = b.clone();
        System.arraycopy(b, H, swapped, H + SEALED, SEALED);
        System.arraycopy(b, H + SEALED, swapped, H, SEALED);
        Files.write(p, swapped);
        assertRefused(sg, r.backupId(), "segment 0 does not authenticate");
    }

    @Test
    void artifactSwappedWithinABackupIsRefused() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult r = twoArtifacts(sg, 1);
        Manifest m = sg.show(r.backupId());
        Path x = stored("sink", artifact(m, "x").key());
        Path y = stored("sink", artifact(m, "y").key());
        byte[] bx = Files.readAllBytes(x);
        Files.write(x, Files.readAllBytes(y));
        Files.write(y, bx);
        assertRefused(sg, r.backupId(), "another artifact or backup");
    }

    @Test
    void artifactSwappedBetweenBackupsIsRefused() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.none());
        RunResult a = twoArtifacts(sg, 1);
        RunResult b = twoArtifacts(sg, 10);
        Path xa = stored("sink", artifact(sg.show(a.backupId()), "x").key());
        Path xb = stored("sink", artifact(sg.show(b.backupId()), "x").key());
        Files.write(xb, Files.readAllBytes(xa));
        assertRefused(sg, b.backupId(), "does not authenticate");
        assertThat(sg.verify(a.backupId()).ok()).isTrue();
    }

    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    /** Re-computes the manifest's self-hash, as a forger would: only authentication can catch what follows. */
    static String resign(ObjectNode root) throws IOException {
        root.remove("sha256");
        String d = Hashing.sha256().hashBytes(CANONICAL.writeValueAsBytes(CANONICAL.convertValue(root, Object.class))).toString();
        root.put("sha256", d);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    @Test
    void tamperingWithTheManifestIsDetected() throws IOException {
        SgBackup sg = engine("sink", key(1), Compression.zstd());
        RunResult r = sg.backup(new BytesStore("s").with("x", random(1000, 1)));
        Path mf = stored("sink", Layout.manifestKey(r.backupId()));
        String original = Files.readString(mf);

        // control: a re-signed but unchanged manifest still opens
        Files.writeString(mf, resign((ObjectNode) JSON.readTree(original)));
        assertThat(sg.show(r.backupId()).storeNames()).containsExactly("s");

        ObjectNode scope = (ObjectNode) JSON.readTree(original);
        scope.put("scope", "config");
        Files.writeString(mf, resign(scope));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("tampered");
        assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), new BytesStore("s")))
                .isInstanceOf(IntegrityException.class);

        ObjectNode time = (ObjectNode) JSON.readTree(original);
        time.put("createdAt", "2020-01-01T00:00:00Z");
        Files.writeString(mf, resign(time));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("tampered");

        ObjectNode sealed = (ObjectNode) JSON.readTree(original);
        char[] c = sealed.get("sealed").asText().toCharArray();
        c[40] = c[40] == 'A' ? 'B' : 'A';
        sealed.put("sealed", new String(c));
        Files.writeString(mf, resign(sealed));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("tampered");

        ObjectNode stripped = (ObjectNode) JSON.readTree(original);
        stripped.remove("sealed");
        Files.writeString(mf, resign(stripped));
        assertThatThrownBy(() -> sg.show(r.backupId())).isInstanceOf(IntegrityException.class).hasMessageContaining("no sealed part");

        Files.writeString(mf, original);
        assertThat(sg.verify(r.backupId()).ok()).isTrue();
    }

    @Test
    void aPlainBackupIsNotTrustedWhenAKeyIsGiven() {
        SgBackup plain = engine("sink", null, Compression.zstd());
        RunResult r = plain.backup(new BytesStore("s").with("x", random(10, 1)));
        SgBackup keyed = engine("sink", key(1), Compression.zstd());
        assertThatThrownBy(() -> keyed.restore(r.backupId(), RestoreOptions.defaults(), new BytesStore("s")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("is not encrypted, but a passphrase or key was given");
        assertThat(plain.verify(r.backupId()).ok()).isTrue();
    }
}
