package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.manifest.PassphraseChange;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.run.CheckFailedException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ForwardingSink;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SgBackup.changePassphrase: every encrypted backup, full and deduplicated, re-wrapped without touching its data. */
class PassphraseChangeTest {
    static final String OLD = "correct horse battery staple";
    static final String NEW = "tiger moon river gravel";

    @TempDir
    Path tmp;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Relative path → SHA-256 of every file under {@code dir}, but manifests and key objects. */
    private static Map<String, String> dataObjects(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String rel = dir.relativize(p).toString();
                if (!rel.startsWith("manifests/") && !rel.startsWith("dedup/keys/")) {
                    out.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static SgBackup engine(BackupSink sink, Encryption e, boolean dedup) {
        return SgBackup.builder().sink(sink).encryption(e).dedup(dedup).build();
    }

    private static void restoresExactly(SgBackup sg, String id, byte[] expected) {
        BytesStore target = new BytesStore("s");
        sg.restore(id, RestoreOptions.defaults(), target);
        assertThat(target.restored.get("art")).isEqualTo(expected);
    }

    @Test
    void everyEncryptedBackupOpensWithTheNewPassphraseAndNoneWithTheOldAndNoDataObjectChanges() throws Exception {
        Path dir = tmp.resolve("sink");
        BackupSink sink = Sinks.local(dir);
        byte[] a = random(1 << 20, 1);
        byte[] b = random(1 << 20, 2);
        SgBackup oldFull = engine(sink, Encryption.passphrase(OLD), false);
        SgBackup oldDedup = engine(sink, Encryption.passphrase(OLD), true);
        String full = oldFull.backup(new BytesStore("s").with("art", a)).backupId();
        String dedup1 = oldDedup.backup(new BytesStore("s").with("art", a)).backupId();
        String dedup2 = oldDedup.backup(new BytesStore("s").with("art", b)).backupId();
        String plain = SgBackup.to(sink).backup(new BytesStore("s").with("art", b)).backupId();
        List<Path> oldKeys = files(dir.resolve("dedup/keys"));
        assertThat(oldKeys).hasSize(1);
        Map<String, String> before = dataObjects(dir);
        assertThat(before.keySet()).anyMatch(k -> k.startsWith("dedup/packs/")).anyMatch(k -> k.startsWith("dedup/index/"))
                .anyMatch(k -> k.startsWith("dedup/trees/")).anyMatch(k -> k.startsWith("data/"));

        PassphraseChange change = oldFull.changePassphrase(Encryption.passphrase(NEW));
        assertThat(change.ok()).as(change.toString()).isTrue();
        assertThat(change.rewrapped()).containsExactlyInAnyOrder(full, dedup1, dedup2);
        assertThat(change.notEncrypted()).containsExactly(plain);
        assertThat(change.keyObjectAdded()).startsWith("dedup/keys/");
        assertThat(change.keyObjectsDeleted()).containsExactly(dir.relativize(oldKeys.get(0)).toString());
        assertThat(change.lines()).contains("rewrapped " + full, "unchanged " + plain + " (not encrypted)",
                "added key object " + change.keyObjectAdded(), "deleted key object " + change.keyObjectsDeleted().get(0));
        assertThat(files(dir.resolve("dedup/keys"))).extracting(p -> dir.relativize(p).toString()).containsExactly(change.keyObjectAdded());
        assertThat(dataObjects(dir)).as("no pack, index, tree or data object changed").isEqualTo(before);

        SgBackup neu = engine(sink, Encryption.passphrase(NEW), true);
        for (String id : List.of(full, dedup1, dedup2)) {
            assertThat(neu.verify(id, VerifyOptions.readData()).ok()).isTrue();
            assertThatThrownBy(() -> oldFull.verify(id)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("wrong passphrase for backup " + id);
        }
        restoresExactly(neu, full, a);
        restoresExactly(neu, dedup1, a);
        restoresExactly(neu, dedup2, b);
        assertThatThrownBy(() -> oldFull.restore(dedup2, RestoreOptions.defaults(), new BytesStore("s")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong passphrase for backup " + dedup2);
        // the repository itself no longer opens with the old passphrase; the new one backs up into it, reusing chunks
        assertThatThrownBy(() -> engine(sink, Encryption.passphrase(OLD), true).backup(new BytesStore("s").with("art", a)))
                .isInstanceOf(CheckFailedException.class)
                .hasMessageContaining("wrong passphrase or key for the deduplicated repository");
        RunResult again = neu.backup(new BytesStore("s").with("art", a));
        assertThat(neu.show(again.backupId()).artifacts().get(0).chunks().newBytes()).isZero();
        assertThat(SgBackup.to(sink).verify(plain).ok()).isTrue();

        // a second run changes nothing
        Map<String, String> manifests = new TreeMap<>();
        for (Path p : files(dir.resolve("manifests"))) {
            manifests.put(p.toString(), Files.readString(p));
        }
        PassphraseChange twice = oldFull.changePassphrase(Encryption.passphrase(NEW));
        assertThat(twice.ok()).isTrue();
        assertThat(twice.rewrapped()).isEmpty();
        assertThat(twice.alreadyChanged()).containsExactlyInAnyOrder(full, dedup1, dedup2, again.backupId());
        assertThat(twice.keyObjectAdded()).isNull();
        assertThat(twice.keyObjectsDeleted()).isEmpty();
        for (Path p : files(dir.resolve("manifests"))) {
            assertThat(Files.readString(p)).isEqualTo(manifests.get(p.toString()));
        }
    }

    /** Fails the commit of the {@code n}th manifest write (1-based); everything else goes through. */
    static final class FailingManifestWrite extends ForwardingSink {
        private final int n;
        private final AtomicInteger writes = new AtomicInteger();

        FailingManifestWrite(BackupSink inner, int n) {
            super(inner);
            this.n = n;
        }

        @Override
        public PendingObject create(String key) throws IOException {
            PendingObject real = inner.create(key);
            if (!key.startsWith("manifests/") || writes.incrementAndGet() != n) {
                return real;
            }
            return new PendingObject() {
                @Override
                public OutputStream stream() {
                    return real.stream();
                }

                @Override
                public void commit() throws IOException {
                    throw new IOException("connection reset (injected)");
                }

                @Override
                public void close() throws IOException {
                    real.close();
                }
            };
        }
    }

    @Test
    void aChangeInterruptedMidwayLeavesEveryBackupOpenableAndARerunCompletesIt() throws Exception {
        Path dir = tmp.resolve("sink");
        BackupSink sink = Sinks.local(dir);
        Encryption oldKey = Encryption.key(random(32, 10));
        Encryption newKey = Encryption.key(random(32, 11));
        SgBackup oldFull = engine(sink, oldKey, false);
        SgBackup oldDedup = engine(sink, oldKey, true);
        byte[] data = random(1 << 20, 3);
        List<String> ids = Stream.of( // in the order the change goes through them: by id
                oldDedup.backup(new BytesStore("s").with("art", data)).backupId(),
                oldFull.backup(new BytesStore("s").with("art", data)).backupId(),
                oldDedup.backup(new BytesStore("s").with("art", data)).backupId()).sorted().toList();
        Map<String, String> before = dataObjects(dir);

        PassphraseChange broken = engine(new FailingManifestWrite(sink, 2), oldKey, false).changePassphrase(newKey);
        assertThat(broken.ok()).isFalse();
        assertThat(broken.failed()).containsOnlyKeys(ids.get(1));
        assertThat(broken.failed().get(ids.get(1))).contains("injected");
        assertThat(broken.rewrapped()).containsExactly(ids.get(0), ids.get(2));
        assertThat(broken.keyObjectsDeleted()).as("the old key stays while a backup needs it").isEmpty();
        assertThat(files(dir.resolve("dedup/keys"))).hasSize(2);

        // every backup opens, with the old key or the new one, and restores
        SgBackup newEngine = engine(sink, newKey, false);
        assertThat(newEngine.verify(ids.get(0), VerifyOptions.readData()).ok()).isTrue();
        assertThat(newEngine.verify(ids.get(2), VerifyOptions.readData()).ok()).isTrue();
        assertThat(oldFull.verify(ids.get(1)).ok()).isTrue();
        restoresExactly(newEngine, ids.get(0), data);
        restoresExactly(oldFull, ids.get(1), data);
        // the repository opens with both meanwhile: an old-key dedup backup still works
        String straggler = oldDedup.backup(new BytesStore("s").with("art", data)).backupId();

        PassphraseChange rerun = oldFull.changePassphrase(newKey);
        assertThat(rerun.ok()).as(rerun.toString()).isTrue();
        assertThat(rerun.rewrapped()).containsExactlyInAnyOrder(ids.get(1), straggler);
        assertThat(rerun.alreadyChanged()).containsExactlyInAnyOrder(ids.get(0), ids.get(2));
        assertThat(rerun.keyObjectAdded()).as("the first run's key object is reused").isNull();
        assertThat(rerun.keyObjectsDeleted()).hasSize(1);
        assertThat(files(dir.resolve("dedup/keys"))).hasSize(1);
        for (String id : List.of(ids.get(0), ids.get(1), ids.get(2), straggler)) {
            assertThat(newEngine.verify(id, VerifyOptions.readData()).ok()).isTrue();
            assertThatThrownBy(() -> oldFull.verify(id)).isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong key for backup " + id);
        }
        Map<String, String> after = dataObjects(dir);
        assertThat(after).containsAllEntriesOf(before); // the straggler added its own objects; none of the others changed
    }

    @Test
    void withoutTheCurrentPassphraseOrWithAWrongOneNothingChanges() throws Exception {
        Path dir = tmp.resolve("sink");
        BackupSink sink = Sinks.local(dir);
        Encryption key = Encryption.key(random(32, 20));
        String id = engine(sink, key, true).backup(new BytesStore("s").with("art", random(1000, 4))).backupId();
        Map<String, String> before = dataObjects(dir);
        List<Path> keys = files(dir.resolve("dedup/keys"));
        byte[] manifest = Files.readAllBytes(files(dir.resolve("manifests")).get(0));

        assertThatThrownBy(() -> SgBackup.to(sink).changePassphrase(Encryption.key(random(32, 21))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("needs the current one");
        assertThatThrownBy(() -> engine(sink, Encryption.key(random(32, 22)), false).changePassphrase(Encryption.key(random(32, 21))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("opens with neither the old nor the new passphrase");
        assertThat(files(dir.resolve("dedup/keys"))).isEqualTo(keys);
        assertThat(Files.readAllBytes(files(dir.resolve("manifests")).get(0))).isEqualTo(manifest);
        assertThat(dataObjects(dir)).isEqualTo(before);
        assertThat(engine(sink, key, false).verify(id).ok()).isTrue();
    }
}
