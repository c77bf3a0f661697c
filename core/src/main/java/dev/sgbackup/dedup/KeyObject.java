package dev.sgbackup.dedup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The key object of an encrypted deduplicated repository: a random 256-bit master key, wrapped by the
 * passphrase (or raw key) with the same machinery as a backup's data key ({@link Encryption}: PBKDF2-HMAC-SHA256,
 * 600,000 iterations, random salt, AES-256-GCM wrap). JSON:
 * <pre>{@code
 * {"format": "sgbackup-dedup-key", "version": 1,
 *  "encryption": {…what Encryption.DataKey.parameters() records: kdf, salt, iterations, keyNonce, wrappedKey…},
 *  "masterKey": base64(nonce ‖ AES-256-GCM(master key) ‖ tag)}
 * }</pre>
 * The master key is sealed by that wrapped data key ({@code DataKey.seal}, associated data
 * {@code "sgbackup/dedup/key/v1"}). A passphrase change writes a new key object for the same master key and
 * deletes the old one ({@link #changePassphrase}); packs and index objects are not touched. Several key objects
 * may unlock one repository (e.g. two passphrases); the first that opens wins.
 */
final class KeyObject {
    static final String FORMAT = "sgbackup-dedup-key";
    static final int VERSION = 1;
    private static final byte[] AAD = "sgbackup/dedup/key/v1".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    private KeyObject() {
    }

    /** An unlocked repository: its keys and the key object that opened it. */
    record Unlocked(RepoKeys keys, String keyObject) {
    }

    /** Creates a repository key: a fresh master key wrapped by {@code encryption}. Returns the key object's key. */
    static Unlocked create(BackupSink sink, Layout layout, Encryption encryption) throws IOException {
        byte[] master = Crypto.random(32);
        try {
            String key = write(sink, layout, encryption, master);
            return new Unlocked(RepoKeys.fromMaster(master), key);
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /**
     * Opens the repository with {@code encryption}.
     *
     * @throws InvalidInputException if there is no key object, or none opens with this passphrase or key
     */
    static Unlocked open(BackupSink sink, Layout layout, Encryption encryption) throws IOException {
        return open(sink, layout, encryption, k -> true);
    }

    /**
     * Opens the repository with the first key object that opens with {@code encryption} and whose master key
     * {@code belongs} to the repository (a key object left behind by a writer that lost the race to create the
     * repository opens with the same passphrase, but holds another master key).
     */
    static Unlocked open(BackupSink sink, Layout layout, Encryption encryption, java.util.function.Predicate<RepoKeys> belongs)
            throws IOException {
        List<String> keys;
        try (var s = sink.listAll(layout.keysPrefix())) {
            keys = s.map(ObjectInfo::key).toList();
        }
        if (keys.isEmpty()) {
            throw new InvalidInputException("the deduplicated repository at " + sink.uri() + " (" + layout.root()
                    + ") has no key object; it is not encrypted, or its key object was deleted");
        }
        List<String> reasons = new ArrayList<>();
        for (String k : keys) {
            try {
                RepoKeys repoKeys = keysOf(sink, k, encryption);
                if (belongs.test(repoKeys)) {
                    return new Unlocked(repoKeys, k);
                }
                reasons.add(k + ": opens, but holds another repository's master key (left by a writer that lost the race"
                        + " to create the repository)");
            } catch (InvalidInputException e) {
                reasons.add(k + ": " + e.getMessage());
            } catch (dev.sgbackup.sink.NoSuchObjectException e) {
                // listed, then deleted before it was read: a writer that lost the race to create the repository
                // removes its own key object (DedupRepository.open), possibly while another one opens the repository
                reasons.add(k + ": deleted while being read (left by a writer that lost the race to create the repository)");
            }
        }
        throw new InvalidInputException("wrong passphrase or key for the deduplicated repository at " + sink.uri()
                + ": none of its " + keys.size() + " key objects opens with it (" + String.join("; ", reasons) + ")");
    }

    /**
     * Rewraps the master key under {@code newEncryption}: writes a new key object, then deletes the one
     * {@code oldEncryption} opened. Packs and index objects are not touched. Returns the new key object's key.
     */
    static String changePassphrase(BackupSink sink, Layout layout, Encryption oldEncryption, Encryption newEncryption)
            throws IOException {
        String old = open(sink, layout, oldEncryption).keyObject();
        byte[] master = unwrap(sink, old, oldEncryption);
        try {
            String created = write(sink, layout, newEncryption, master);
            if (!created.equals(old)) {
                sink.delete(old);
            }
            return created;
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /**
     * Writes a new key object wrapping, under {@code to}, the master key that key object {@code from} holds
     * (opened with {@code fromEncryption}). Deletes nothing: a passphrase change deletes the old object last.
     */
    static String addKey(BackupSink sink, Layout layout, String from, Encryption fromEncryption, Encryption to) throws IOException {
        byte[] master = unwrap(sink, from, fromEncryption);
        try {
            return write(sink, layout, to, master);
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /**
     * The key objects last modified before {@code cutoff} that open with {@code encryption} but whose master key does
     * not {@code belong} to the repository: left by a writer that lost the race to create the repository and was
     * killed before deleting its own. No passphrase ever opens the repository through them, so they can go. A key
     * object that does not open with {@code encryption} (another passphrase's, or a damaged one) is not listed: it
     * cannot be told apart from a key object of the repository under another passphrase. {@code known}, the key
     * object the repository was opened with, is not read again (each read derives the wrapping key: a KDF's cost).
     */
    static List<String> lost(BackupSink sink, Layout layout, Encryption encryption, String known,
                             java.util.function.Predicate<RepoKeys> belongs, java.time.Instant cutoff) throws IOException {
        List<ObjectInfo> all;
        try (var s = sink.listAll(layout.keysPrefix())) {
            all = s.filter(o -> !o.key().equals(known) && o.lastModified() != null && o.lastModified().isBefore(cutoff)).toList();
        }
        List<String> lost = new ArrayList<>();
        for (ObjectInfo o : all) {
            try {
                if (!belongs.test(keysOf(sink, o.key(), encryption))) {
                    lost.add(o.key());
                }
            } catch (InvalidInputException | IntegrityException | dev.sgbackup.sink.NoSuchObjectException e) {
                // another passphrase's, damaged, or deleted meanwhile: not ours to judge
            }
        }
        return lost;
    }

    /** The repository keys that key object {@code key} wraps, unwrapped with {@code encryption}; the master key is wiped. */
    private static RepoKeys keysOf(BackupSink sink, String key, Encryption encryption) throws IOException {
        byte[] master = unwrap(sink, key, encryption);
        try {
            return RepoKeys.fromMaster(master);
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /** Whether key object {@code key} opens with {@code encryption} (false if it does not, or is damaged). */
    static boolean opensWith(BackupSink sink, String key, Encryption encryption) throws IOException {
        try {
            Arrays.fill(unwrap(sink, key, encryption), (byte) 0);
            return true;
        } catch (InvalidInputException | IntegrityException e) {
            return false;
        }
    }

    private static String write(BackupSink sink, Layout layout, Encryption encryption, byte[] master) throws IOException {
        Encryption.DataKey wrapping = encryption.newDataKey();
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        ObjectNode enc = root.putObject("encryption");
        wrapping.parameters().forEach(enc::put);
        root.put("masterKey", Base64.getEncoder().encodeToString(wrapping.seal(master, AAD)));
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        String key = layout.key(Crypto.hex(Crypto.sha256().digest(bytes)));
        try (PendingObject o = sink.create(key, bytes.length)) {
            o.stream().write(bytes);
            o.commit();
        }
        return key;
    }

    private static byte[] unwrap(BackupSink sink, String key, Encryption encryption) throws IOException {
        JsonNode root;
        try (InputStream in = sink.read(key)) {
            root = JSON.readTree(in.readNBytes(64 * 1024));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IntegrityException("key object " + key + " is not JSON; it is damaged", e);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()) || !root.path("encryption").isObject()
                || !root.path("masterKey").isTextual()) {
            throw new IntegrityException("key object " + key + " is not a " + FORMAT + " object; it is damaged");
        }
        if (root.path("version").asInt() != VERSION) {
            throw new IntegrityException("key object " + key + " has version " + root.path("version").asText()
                    + ", this sgbackup reads " + VERSION + "; upgrade sgbackup");
        }
        Map<String, String> params = new TreeMap<>();
        root.path("encryption").fields().forEachRemaining(f -> params.put(f.getKey(), f.getValue().asText()));
        // Encryption words its errors for backups; "backup <what>" reads as "backup key object K"
        Encryption.DataKey wrapping = encryption.unlock(params, "key object " + key);
        byte[] sealed;
        try {
            sealed = Base64.getDecoder().decode(root.path("masterKey").asText());
        } catch (IllegalArgumentException e) {
            throw new IntegrityException("key object " + key + ": masterKey is not base64; it is damaged");
        }
        byte[] master;
        try {
            master = wrapping.open(sealed, AAD);
        } catch (IntegrityException e) {
            throw new IntegrityException("key object " + key + ": the master key does not authenticate; the key object is damaged", e);
        }
        if (master.length != 32) {
            throw new IntegrityException("key object " + key + ": the master key has " + master.length + " bytes, not 32; it is damaged");
        }
        return master;
    }
}
