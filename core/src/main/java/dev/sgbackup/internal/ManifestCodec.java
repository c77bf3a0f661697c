package dev.sgbackup.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.hash.Hashing;
import dev.sgbackup.IntegrityException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Manifest JSON. The document carries a SHA-256 of its own canonical form (keys sorted, compact, without the
 * {@code sha256} field), so damage is detected. It does not stop forgery: that takes an authenticated
 * (encrypted) manifest.
 */
public final class ManifestCodec {
    public static final String FORMAT = "sgbackup-manifest";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private ManifestCodec() {
    }

    public static byte[] encode(Manifest m) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("formatVersion", m.formatVersion());
        root.put("id", m.id());
        root.put("createdAt", m.createdAt().toString());
        root.put("completedAt", m.completedAt().toString());
        root.put("toolVersion", m.toolVersion());
        root.put("scope", m.scope());
        root.put("compression", m.compression());
        ObjectNode enc = root.putObject("encryption");
        m.encryption().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> enc.put(e.getKey(), e.getValue()));
        ArrayNode stores = root.putArray("stores");
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
            }
        }
        root.put("sha256", digest(root));
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
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

    /** Parses and checks a manifest; {@code where} names it in errors (e.g. the key). */
    public static Manifest decode(byte[] bytes, String where) {
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
        try {
            List<StoreBackup> stores = new ArrayList<>();
            for (JsonNode sn : root.withArray("stores")) {
                List<ArtifactInfo> arts = new ArrayList<>();
                for (JsonNode an : sn.withArray("artifacts")) {
                    List<String> t = new ArrayList<>();
                    an.withArray("transforms").forEach(x -> t.add(x.asText()));
                    arts.add(new ArtifactInfo(text(an, "name"), text(an, "key"), an.get("size").asLong(), text(an, "sha256"),
                            an.get("storedSize").asLong(), text(an, "storedSha256"), t, map(an.get("attributes"))));
                }
                List<String> warnings = new ArrayList<>();
                sn.withArray("warnings").forEach(x -> warnings.add(x.asText()));
                stores.add(new StoreBackup(text(sn, "name"), text(sn, "kind"), sn.path("description").asText(""),
                        map(sn.get("properties")), arts, warnings));
            }
            return new Manifest(version, text(root, "id"), Instant.parse(text(root, "createdAt")),
                    Instant.parse(text(root, "completedAt")), root.path("toolVersion").asText("?"), root.path("scope").asText("custom"),
                    root.path("compression").asText("?"), map(root.get("encryption")), stores);
        } catch (RuntimeException e) {
            throw new IntegrityException("manifest " + where + " is malformed (" + e.getMessage() + ")");
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
