package dev.sgbackup.store.sourcegraph;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replacement values for redacted secrets and overrides for the new instance, by document (artifact name) and
 * RFC 6901 pointer. Values are kept as JSON literal text, ready to be put in place. Immutable; toString() shows
 * only counts.
 */
final class Secrets {
    private final Map<String, Map<String, String>> values;

    private Secrets(Map<String, Map<String, String>> values) {
        this.values = values;
    }

    static Secrets none() {
        return new Secrets(Map.of());
    }

    /**
     * Reads a secrets file: {@code {"<artifact name>": {"<pointer>": <value>, ...}, ...}}. String values are
     * used as strings; other JSON values (numbers, objects) as they are.
     */
    static Secrets load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("secrets file " + file + " does not exist; pass an existing JSON file "
                    + "of the form {\"<artifact name>\": {\"<pointer>\": \"<value>\"}}");
        } catch (IOException e) {
            throw new InvalidInputException("cannot read secrets file " + file + ": " + e.getMessage(), e);
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            // the message of a JSON error may quote the text: say only where it is
            throw new InvalidInputException("secrets file " + file + " is not valid JSON (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()
                    + "); expected {\"<artifact name>\": {\"<pointer>\": \"<value>\"}}");
        }
        if (root == null || !root.isObject()) {
            throw new InvalidInputException("secrets file " + file + " must hold a JSON object "
                    + "{\"<artifact name>\": {\"<pointer>\": \"<value>\"}}");
        }
        Secrets s = none();
        for (Iterator<Map.Entry<String, JsonNode>> docs = root.fields(); docs.hasNext(); ) {
            Map.Entry<String, JsonNode> doc = docs.next();
            if (!doc.getValue().isObject()) {
                throw new InvalidInputException("secrets file " + file + ": the entry for '" + doc.getKey()
                        + "' must be an object of pointers to values, e.g. {\"/token\": \"...\"}");
            }
            for (Iterator<Map.Entry<String, JsonNode>> ps = doc.getValue().fields(); ps.hasNext(); ) {
                Map.Entry<String, JsonNode> p = ps.next();
                JsonNode v = p.getValue();
                s = s.withJson(doc.getKey(), p.getKey(), v.isTextual() ? Jsonc.quote(v.asText()) : Json.write(v));
            }
        }
        return s;
    }

    /** Adds a string value (replaces an earlier one for the same document and pointer). */
    Secrets with(String document, String pointer, String value) {
        return withJson(document, pointer, Jsonc.quote(value));
    }

    Secrets withJson(String document, String pointer, String jsonLiteral) {
        if (document == null || document.isEmpty()) {
            throw new InvalidInputException("a secret needs a document name (an artifact name such as site-config)");
        }
        if (pointer == null || !pointer.startsWith("/")) {
            throw new InvalidInputException("'" + pointer + "' in " + document
                    + " is not a JSON pointer; write it as in RFC 6901, e.g. /auth.providers/1/clientSecret");
        }
        Map<String, Map<String, String>> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> copy.put(k, new LinkedHashMap<>(v)));
        copy.computeIfAbsent(document, k -> new LinkedHashMap<>()).put(pointer, jsonLiteral);
        return new Secrets(copy);
    }

    /** All values of another set on top of these. */
    Secrets and(Secrets other) {
        Secrets s = this;
        for (var doc : other.values.entrySet()) {
            for (var p : doc.getValue().entrySet()) {
                s = s.withJson(doc.getKey(), p.getKey(), p.getValue());
            }
        }
        return s;
    }

    Map<String, String> forDocument(String document) {
        return values.getOrDefault(document, Map.of());
    }

    Set<String> documents() {
        return values.keySet();
    }

    /** Every literal value, so messages can be scrubbed of them. */
    List<String> rawValues() {
        List<String> out = new ArrayList<>();
        values.values().forEach(m -> m.values().forEach(v -> {
            out.add(v);
            if (v.length() > 2 && v.startsWith("\"")) {
                out.add(v.substring(1, v.length() - 1));
            }
        }));
        return out;
    }

    static boolean isRedacted(String value) {
        return value.equals("REDACTED") || value.startsWith("REDACTED-DATA-CHUNK");
    }

    /** The pointers of the values of {@code jsonc} that an API read redacted. */
    static List<String> redactedPointers(String jsonc) {
        List<String> out = new ArrayList<>();
        for (Jsonc.Value v : Jsonc.scan(jsonc)) {
            if (v.type() == Jsonc.Type.STRING && isRedacted(v.string())) {
                out.add(v.pointer());
            }
        }
        return out;
    }

    @Override
    public String toString() {
        int n = values.values().stream().mapToInt(Map::size).sum();
        return "Secrets[" + values.size() + " documents, " + n + " values]";
    }
}
