package dev.sgbackup.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class KeyObjectTest {
    static final Layout LAYOUT = new Layout("dedup");

    static Map<String, byte[]> snapshot(BackupSink sink, String prefix) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        try (Stream<ObjectInfo> s = sink.listAll(prefix)) {
            for (ObjectInfo o : s.toList()) {
                try (InputStream in = sink.read(o.key())) {
                    out.put(o.key(), in.readAllBytes());
                }
            }
        }
        return out;
    }

    @Test
    void aRawKeyWrapsAndUnwrapsTheMasterKey() throws IOException {
        BackupSink sink = Sinks.memory();
        Encryption key = Encryption.key(FastCdcTest.random(31, 32));
        KeyObject.Unlocked created = KeyObject.create(sink, LAYOUT, key);
        KeyObject.Unlocked opened = KeyObject.open(sink, LAYOUT, Encryption.key(FastCdcTest.random(31, 32)));
        assertThat(opened.keyObject()).isEqualTo(created.keyObject()).startsWith("dedup/keys/");
        byte[] data = "same chunk".getBytes(StandardCharsets.UTF_8);
        // the same master key: the same keyed ids and gear table, not the unkeyed ones
        assertThat(opened.keys().id(data, 0, data.length)).isEqualTo(created.keys().id(data, 0, data.length))
                .isNotEqualTo(RepoKeys.unencrypted().id(data, 0, data.length));
        assertThat(opened.keys().gear()).isEqualTo(created.keys().gear()).isNotEqualTo(FastCdc.defaultGear());
        // a second repository has another master key
        KeyObject.Unlocked other = KeyObject.create(Sinks.memory(), LAYOUT, key);
        assertThat(other.keys().id(data, 0, data.length)).isNotEqualTo(created.keys().id(data, 0, data.length));
        String json = new String(snapshot(sink, LAYOUT.keysPrefix()).get(created.keyObject()), StandardCharsets.UTF_8);
        assertThat(json).contains("\"format\" : \"sgbackup-dedup-key\"", "\"masterKey\"", "\"wrappedKey\"");
        assertThat(created.keys().toString()).doesNotContain("=").contains("***");
    }

    @Test
    void aWrongKeyIsRejectedClearly() throws IOException {
        BackupSink sink = Sinks.memory();
        KeyObject.create(sink, LAYOUT, Encryption.key(FastCdcTest.random(32, 32)));
        assertThatThrownBy(() -> KeyObject.open(sink, LAYOUT, Encryption.key(FastCdcTest.random(33, 32))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("wrong passphrase or key for the deduplicated repository at " + sink.uri())
                .hasMessageContaining("none of its 1 key objects opens with it");
        assertThatThrownBy(() -> KeyObject.open(Sinks.memory(), LAYOUT, Encryption.key(FastCdcTest.random(33, 32))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("has no key object");
    }

    /** PBKDF2 at 600,000 iterations: a few seconds. */
    @Test
    void aPassphraseChangeRewritesOnlyTheKeyObject() throws IOException {
        BackupSink sink = Sinks.memory();
        KeyObject.Unlocked created = KeyObject.create(sink, LAYOUT, Encryption.passphrase("correct horse battery"));
        Map<ChunkId, byte[]> chunks = PackTest.chunks(created.keys(), 6);
        List<IndexEntry> entries = PackTest.writeAll(sink, created.keys(), chunks, 1 << 20);
        new IndexStore(new Repo(sink, LAYOUT, created.keys())).write("s", entries);
        Map<String, byte[]> data = snapshot(sink, LAYOUT.root() + "/packs/");
        data.putAll(snapshot(sink, LAYOUT.root() + "/index/"));

        String changed = KeyObject.changePassphrase(sink, LAYOUT, Encryption.passphrase("correct horse battery"),
                Encryption.passphrase("staple tiger moon river"));
        assertThat(snapshot(sink, LAYOUT.keysPrefix()).keySet()).containsExactly(changed);
        Map<String, byte[]> after = snapshot(sink, LAYOUT.root() + "/packs/");
        after.putAll(snapshot(sink, LAYOUT.root() + "/index/"));
        assertThat(after.keySet()).isEqualTo(data.keySet());
        data.forEach((k, v) -> assertThat(after.get(k)).as(k).isEqualTo(v));

        RepoKeys reopened = KeyObject.open(sink, LAYOUT, Encryption.passphrase("staple tiger moon river")).keys();
        ChunkIndex index = new IndexStore(new Repo(sink, LAYOUT, reopened)).load("s");
        PackReader reader = new PackReader(new Repo(sink, LAYOUT, reopened));
        for (var c : chunks.entrySet()) {
            assertThat(reader.read(index.get(c.getKey()))).isEqualTo(c.getValue());
        }
        assertThatThrownBy(() -> KeyObject.open(sink, LAYOUT, Encryption.passphrase("correct horse battery")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("wrong passphrase");
    }
}
