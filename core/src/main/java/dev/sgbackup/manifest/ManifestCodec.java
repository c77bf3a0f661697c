package dev.sgbackup.manifest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.hash.Hashing;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Manifest JSON. The document carries a SHA-256 of its own canonical form (keys sorted, compact, without the
 * {@code sha256} field), so damage is detected. That does not stop forgery; an encrypted manifest adds that:
 * its sealed part is authenticated under the backup's data key together with the clear part.
 */
final class ManifestCodec {
    static final String FORMAT = "sgbackup-manifest";
    /** Version written for encrypted (sealed) manifests, so that readers which predate sealing refuse them. */
    static final int SEALED_FORMAT_VERSION = 2;
    /**
     * Version written for deduplicated backups (sealed or not), so that readers which predate them refuse them
     * ("upgrade sgbackup") rather than misreading tree objects as artifacts.
     */
    static final int DEDUP_FORMAT_VERSION = 3;
    /** The clear field of a sealed deduplicated manifest with its stored size (authenticated with the clear part). */
    static final String CLEAR_STORED_SIZE = "storedSize";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private ManifestCodec() {
    }

    static byte[] encode(Manifest m) {
        return encode(m, null);
    }

    /**
     * Encodes {@code m}; with a data key, only id, times, tool version, scope and the encryption parameters stay
     * in clear and everything else (compression, stores, artifact names, keys, sizes, hashes) goes into
     * {@code "sealed"}: AES-256-GCM under the data key, with the clear part's canonical form as associated data,
     * so the whole manifest is authenticated.
     */
    static byte[] encode(Manifest m, Encryption.DataKey key) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("formatVersion", m.artifacts().stream().anyMatch(ArtifactInfo::deduplicated) ? DEDUP_FORMAT_VERSION
                : key == null ? 1 : SEALED_FORMAT_VERSION);
        root.put("id", m.id());
        root.put("createdAt", m.createdAt().toString());
        root.put("completedAt", m.completedAt().toString());
        root.put("toolVersion", m.toolVersion());
        root.put("scope", m.scope());
        ObjectNode enc = root.putObject("encryption");
        m.encryption().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> enc.put(e.getKey(), e.getValue()));
        ObjectNode body = key == null ? root : JSON.createObjectNode();
        writeBody(body, m);
        try {
            if (key != null) {
                if (!m.encrypted()) {
                    throw new IllegalArgumentException("a sealed manifest must record its encryption parameters");
                }
                if (m.artifacts().stream().anyMatch(ArtifactInfo::deduplicated)) {
                    // what list shows: the tree objects' total. Their sizes and times are visible in the sink anyway,
                    // and the clear part's times bound which ones a backup wrote; a full backup's data/<id>/ is listed
                    root.put(CLEAR_STORED_SIZE, m.storedSize());
                }
                root.put("sealed", Base64.getEncoder().encodeToString(key.seal(JSON.writeValueAsBytes(body), clearPart(root))));
            }
            root.put("sha256", digest(root));
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compression and stores: the part an encrypted manifest seals. */
    private static void writeBody(ObjectNode body, Manifest m) {
        body.put("compression", m.compression());
        ArrayNode stores = body.putArray("stores");
        for (StoreBackup s : m.stores()) {
            ObjectNode sn = stores.addObject();
            sn.put("name", s.name());
            sn.put("kind", s.kind());
            sn.put("description", s.description());
            putMap(sn.putObject("properties"), s.properties());
            ArrayNode w = sn.putArray("warnings");
            s.warnings().forEach(w::add);
            ArrayNode arts = sn.putArray("artifacts");
            for (ArtifactInfo a : s.artifacts()) {
                ObjectNode an = arts.addObject();
                an.put("name", a.name());
                an.put("key", a.key());
                an.put("size", a.size());
                an.put("sha256", a.sha256());
                an.put("storedSize", a.storedSize());
                an.put("storedSha256", a.storedSha256());
                ArrayNode t = an.putArray("transforms");
                a.transforms().forEach(t::add);
                putMap(an.putObject("attributes"), a.attributes());
                if (a.chunks() != null) {
                    an.put("chunks", a.chunks().count());
                    an.put("newBytes", a.chunks().newBytes());
                    an.put("reusedBytes", a.chunks().reusedBytes());
                }
            }
        }
    }

    /** A readable JSON view of a (decoded, decrypted) manifest: every field, sizes totalled, nothing sealed. */
    static String toJson(Manifest m) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", m.id());
        root.put("createdAt", m.createdAt().toString());
        root.put("completedAt", m.completedAt().toString());
        root.put("toolVersion", m.toolVersion());
        root.put("scope", m.scope());
        root.put("encrypted", m.encrypted());
        root.put("size", m.size());
        root.put("storedSize", m.storedSize());
        writeBody(root, m);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The associated data of the sealed part: the canonical form of everything else but the self-hash. */
    static byte[] clearPart(ObjectNode root) {
        ObjectNode copy = root.deepCopy();
        copy.remove("sha256");
        copy.remove("sealed");
        try {
            return CANONICAL.writeValueAsBytes(CANONICAL.convertValue(copy, Object.class));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putMap(ObjectNode node, Map<String, String> map) {
        map.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> node.put(e.getKey(), e.getValue()));
    }

    /** SHA-256 of the canonical form of {@code root} without its {@code sha256} field. */
    static String digest(ObjectNode root) {
        ObjectNode copy = root.deepCopy();
        copy.remove("sha256");
        try {
            Object plain = CANONICAL.convertValue(copy, Object.class);
            byte[] canonical = CANONICAL.writeValueAsBytes(plain);
            return Hashing.sha256().hashBytes(canonical).toString();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Parses and checks a manifest; {@code where} names it in errors (e.g. the key). An encrypted manifest
     * comes back with its clear part only (no stores, compression {@code "?"}).
     */
    static Manifest decode(byte[] bytes, String where) {
        return decode(bytes, where, null);
    }

    /**
     * Parses and checks a manifest, opening its sealed part with the data key {@code unlock} returns for the
     * clear encryption parameters (null: return the clear part only).
     *
     * @throws IntegrityException if the sealed part or the clear part was altered
     */
    static Manifest decode(byte[] bytes, String where, Function<Map<String, String>, Encryption.DataKey> unlock) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IntegrityException("manifest " + where + " is damaged (not valid JSON: " + firstLine(e.getMessage())
                    + "); the backup cannot be trusted — restore another backup");
        }
        if (!(root instanceof ObjectNode obj) || !FORMAT.equals(root.path("format").asText())) {
            throw new IntegrityException("manifest " + where + " is not an sgbackup manifest (no \"format\": \"" + FORMAT + "\")");
        }
        int version = root.path("formatVersion").asInt(-1);
        if (version > Manifest.FORMAT_VERSION) {
            throw new IntegrityException("manifest " + where + " has format version " + version + "; this sgbackup ("
                    + Version.current() + ") reads up to " + Manifest.FORMAT_VERSION + ": upgrade sgbackup to read it");
        }
        if (version < 1) {
            throw new IntegrityException("manifest " + where + " has an invalid format version");
        }
        String recorded = root.path("sha256").asText("");
        String actual = digest(obj);
        if (!recorded.equals(actual)) {
            throw new IntegrityException("manifest " + where + " is damaged: its SHA-256 does not match its content; the backup cannot be trusted — restore another backup");
        }
        JsonNode body = root;
        JsonNode sealed = root.get("sealed");
        if (sealed != null) {
            if (version < SEALED_FORMAT_VERSION || !sealed.isTextual() || root.path("encryption").isEmpty()) {
                throw new IntegrityException("manifest " + where + " has a sealed part but no valid encryption parameters; it was altered");
            }
            if (unlock == null) {
                body = JSON.createObjectNode().put("compression", "?").set("stores", JSON.createArrayNode());
            } else {
                Encryption.DataKey key = unlock.apply(map(root.get("encryption")));
                byte[] plain;
                try {
                    plain = key.open(Base64.getDecoder().decode(sealed.asText()), clearPart(obj));
                } catch (IntegrityException | IllegalArgumentException e) {
                    throw new IntegrityException("manifest " + where + " was tampered with: its encrypted part does not authenticate"
                            + " together with its clear part (id, times, scope, encryption parameters); do not trust this backup");
                }
                try {
                    body = JSON.readTree(plain);
                } catch (IOException e) {
                    throw new IntegrityException("manifest " + where + ": its encrypted part is not valid JSON");
                }
            }
        } else if (!root.path("encryption").isEmpty()) {
            throw new IntegrityException("manifest " + where + " records encryption parameters but has no sealed part; it was altered");
        }
        try {
            List<StoreBackup> stores = new ArrayList<>();
            for (JsonNode sn : body.withArray("stores")) {
                List<ArtifactInfo> arts = new ArrayList<>();
                for (JsonNode an : sn.withArray("artifacts")) {
                    List<String> t = new ArrayList<>();
                    an.withArray("transforms").forEach(x -> t.add(x.asText()));
                    arts.add(new ArtifactInfo(text(an, "name"), text(an, "key"), an.get("size").asLong(), text(an, "sha256"),
                            an.get("storedSize").asLong(), text(an, "storedSha256"), t, map(an.get("attributes")),
                            an.has("chunks") ? new ArtifactInfo.Chunks(an.get("chunks").asLong(), an.get("newBytes").asLong(),
                                    an.get("reusedBytes").asLong()) : null));
                }
                List<String> warnings = new ArrayList<>();
                sn.withArray("warnings").forEach(x -> warnings.add(x.asText()));
                stores.add(new StoreBackup(text(sn, "name"), text(sn, "kind"), sn.path("description").asText(""),
                        map(sn.get("properties")), arts, warnings));
            }
            return new Manifest(version, text(root, "id"), Instant.parse(text(root, "createdAt")),
                    Instant.parse(text(root, "completedAt")), root.path("toolVersion").asText("?"), root.path("scope").asText("custom"),
                    body.path("compression").asText("?"), map(root.get("encryption")), stores);
        } catch (RuntimeException e) {
            throw new IntegrityException("manifest " + where + " is malformed (" + e.getMessage() + ")");
        }
    }

    /**
     * The stored manifest {@code stored} with its data key wrapped anew: {@code rewrap} gets the data key
     * {@code unlock} opens and returns the same key under another wrap. The clear part keeps every field but the
     * encryption parameters; the sealed part keeps its plaintext byte for byte but is sealed again (new nonce),
     * because its associated data is the clear part, wrap included. The result is checked to decode to the same
     * manifest before it is returned.
     *
     * @throws IntegrityException       if {@code stored} is damaged or tampered with
     * @throws IllegalArgumentException if it is not encrypted
     */
    static byte[] rewrap(byte[] stored, String where, Function<Map<String, String>, Encryption.DataKey> unlock,
                         Function<Encryption.DataKey, Encryption.DataKey> rewrap) {
        Manifest before = decode(stored, where, unlock); // every check a read makes
        if (!before.encrypted()) {
            throw new IllegalArgumentException("manifest " + where + " is not encrypted; it has no data key to wrap");
        }
        ObjectNode root;
        try {
            root = (ObjectNode) JSON.readTree(stored);
        } catch (IOException e) {
            throw new IntegrityException("manifest " + where + " is damaged (not valid JSON)");
        }
        Encryption.DataKey old = unlock.apply(map(root.get("encryption")));
        byte[] plain = old.open(Base64.getDecoder().decode(root.get("sealed").asText()), clearPart(root));
        Encryption.DataKey fresh = rewrap.apply(old);
        ObjectNode enc = JSON.createObjectNode();
        fresh.parameters().forEach(enc::put); // sorted, as encode writes them
        root.set("encryption", enc);
        root.put("sealed", Base64.getEncoder().encodeToString(fresh.seal(plain, clearPart(root))));
        root.put("sha256", digest(root));
        byte[] out;
        try {
            out = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        Manifest after = decode(out, where, p -> fresh);
        if (!new Manifest(after.formatVersion(), after.id(), after.createdAt(), after.completedAt(), after.toolVersion(), after.scope(),
                after.compression(), before.encryption(), after.stores()).equals(before)) {
            throw new IllegalStateException("manifest " + where + " does not read back the same after its data key was wrapped anew");
        }
        return out;
    }

    /** The stored size a sealed manifest records in clear (deduplicated backups), or -1; {@code stored} must decode. */
    static long clearStoredSize(byte[] stored) {
        try {
            JsonNode v = JSON.readTree(stored).get(CLEAR_STORED_SIZE);
            return v != null && v.canConvertToLong() && v.asLong() >= 0 ? v.asLong() : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("missing field '" + field + "'");
        }
        return v.asText();
    }

    private static Map<String, String> map(JsonNode n) {
        Map<String, String> m = new LinkedHashMap<>();
        if (n != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), e.getValue().asText());
            }
        }
        return m;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
