package dev.sgbackup.dedup;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.IntegrityException;
import java.io.IOException;

/**
 * The repository config, {@code ROOT/config}: what must stay fixed for the life of a repository. Created once, on
 * the first deduplicated backup, with {@code BackupSink.putIfAbsent} where the sink offers it (of two first backups
 * racing, one creates it and the other reads the winner's). JSON:
 * <pre>{@code
 * {"format": "sgbackup-dedup-config", "version": 1,
 *  "chunker": {"min": 262144, "avg": 1048576, "max": 4194304, "level": 2},
 *  "packSize": 16777216, "encrypted": true,
 *  "keyObject": "dedup/keys/HEX", "keyCheck": "16 hex digits"}
 * }</pre>
 * {@code keyObject} and {@code keyCheck} only when encrypted: the key object written with the config (informative:
 * a passphrase change replaces it), and the first 16 hex digits of {@code HMAC(id key, "shard:sgbackup/dedup/keycheck")},
 * which tells the repository's master key from that of a key object left by a writer that lost the race.
 */
record RepoConfig(ChunkParams chunker, long packSize, boolean encrypted, String keyObject, String keyCheck) {
    static final String FORMAT = "sgbackup-dedup-config";
    static final int VERSION = 1;
    /** The pack target size of new repositories. */
    static final long DEFAULT_PACK_SIZE = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The key check of {@code keys}: a fingerprint of the master key that reveals nothing about it. */
    static String keyCheck(RepoKeys keys) {
        return keys.shardName("sgbackup/dedup/keycheck");
    }

    /** Whether {@code keys} are this repository's: their key check is the config's (a key object's test of belonging). */
    boolean holds(RepoKeys keys) {
        return keyCheck(keys).equals(keyCheck);
    }

    byte[] encode() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.putObject("chunker").put("min", chunker.min()).put("avg", chunker.avg()).put("max", chunker.max())
                .put("level", chunker.level());
        root.put("packSize", packSize);
        root.put("encrypted", encrypted);
        if (encrypted) {
            root.put("keyObject", keyObject);
            root.put("keyCheck", keyCheck);
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static RepoConfig decode(byte[] bytes, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IntegrityException("repository config " + where + " is not JSON; it is damaged");
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new IntegrityException("repository config " + where + " is not a " + FORMAT + " object; it is damaged");
        }
        if (root.path("version").asInt() != VERSION) {
            throw new IntegrityException("repository config " + where + " has version " + root.path("version").asText()
                    + ", this sgbackup reads " + VERSION + "; upgrade sgbackup");
        }
        try {
            JsonNode c = root.path("chunker");
            ChunkParams p = new ChunkParams(c.get("min").asInt(), c.get("avg").asInt(), c.get("max").asInt(), c.get("level").asInt());
            boolean enc = root.get("encrypted").asBoolean();
            long packSize = root.get("packSize").asLong();
            if (packSize < 1) {
                throw new IllegalArgumentException("packSize " + packSize);
            }
            return new RepoConfig(p, packSize, enc, enc ? root.get("keyObject").asText() : null,
                    enc ? root.get("keyCheck").asText() : null);
        } catch (RuntimeException e) {
            throw new IntegrityException("repository config " + where + " is malformed (" + e.getMessage() + ")");
        }
    }
}
