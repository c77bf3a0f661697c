package dev.sgbackup.store.sourcegraph;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSONC (JSON with comments and trailing commas, as Sourcegraph stores its configuration) tokenizer
 * that finds where each value sits in the text, by RFC 6901 pointer, so values can be replaced in place:
 * comments, trailing commas and layout survive; the document is never re-serialized.
 */
final class Jsonc {

    /** Value types: string, number, object, array, literal (true/false/null). */
    enum Type { STRING, NUMBER, OBJECT, ARRAY, LITERAL }

    /**
     * One value in the text. {@code start}/{@code end} span the value's text (for a container: from its bracket
     * to its closing bracket, inclusive). For an object, {@code lastMemberEnd} is where its last member's value
     * ends (-1 when empty), and {@code bodyStart} is just after the opening brace.
     */
    record Value(String pointer, Type type, int start, int end, String string, int bodyStart, int lastMemberEnd) {
        @Override
        public String toString() {
            return pointer + " " + type + " [" + start + "," + end + ")"; // never the value: it may be a secret
        }
    }

    private final String text;
    private int pos;
    private final List<Value> values = new ArrayList<>();

    private Jsonc(String text) {
        this.text = text;
    }

    /** Every value of the document in order of appearance (containers before their members). */
    static List<Value> scan(String text) {
        Jsonc p = new Jsonc(text);
        p.skipBlank();
        if (p.pos >= text.length()) {
            throw p.error("empty document");
        }
        p.value("");
        p.skipBlank();
        if (p.pos < text.length()) {
            throw p.error("unexpected text after the document");
        }
        return p.values;
    }

    /** Values by pointer. */
    static Map<String, Value> index(String text) {
        Map<String, Value> map = new LinkedHashMap<>();
        for (Value v : scan(text)) {
            map.put(v.pointer(), v);
        }
        return map;
    }

    /**
     * Replaces values in place. {@code replacements} maps pointers to JSON literal text (e.g. {@code "\"s3cret\""}).
     * A pointer whose value is missing but whose parent is an object is added as the object's last member.
     *
     * @throws IllegalArgumentException naming the pointer when it cannot be placed (no parent object)
     */
    static String replace(String text, Map<String, String> replacements) {
        if (replacements.isEmpty()) {
            return text;
        }
        Map<String, Value> idx = index(text);
        record Edit(int start, int end, String with) {
        }
        List<Edit> edits = new ArrayList<>();
        for (Map.Entry<String, String> e : replacements.entrySet()) {
            String ptr = e.getKey();
            Value v = idx.get(ptr);
            if (v != null) {
                edits.add(new Edit(v.start(), v.end(), e.getValue()));
                continue;
            }
            int slash = ptr.lastIndexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("'" + ptr + "' is not a JSON pointer (it must start with '/')");
            }
            Value parent = idx.get(ptr.substring(0, slash));
            if (parent == null || parent.type() != Type.OBJECT) {
                throw new IllegalArgumentException("pointer " + ptr + " has no parent object in the document");
            }
            String member = quote(unescapePointer(ptr.substring(slash + 1))) + ": " + e.getValue();
            if (parent.lastMemberEnd() < 0) {
                edits.add(new Edit(parent.bodyStart(), parent.bodyStart(), member));
            } else {
                edits.add(new Edit(parent.lastMemberEnd(), parent.lastMemberEnd(), ", " + member));
            }
        }
        edits.sort(Comparator.comparingInt(Edit::start).reversed());
        StringBuilder sb = new StringBuilder(text);
        int lastStart = Integer.MAX_VALUE;
        for (Edit ed : edits) {
            if (ed.end() > lastStart) {
                throw new IllegalArgumentException("overlapping replacements (a pointer and one inside it)");
            }
            sb.replace(ed.start(), ed.end(), ed.with());
            lastStart = ed.start();
        }
        return sb.toString();
    }

    /** A JSON string literal for {@code s}. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    static String escapePointer(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    static String unescapePointer(String token) {
        return token.replace("~1", "/").replace("~0", "~");
    }

    // ---- parser ----

    private void value(String pointer) {
        if (pos >= text.length()) {
            throw error("unexpected end of document");
        }
        char c = text.charAt(pos);
        int start = pos;
        switch (c) {
            case '{' -> object(pointer);
            case '[' -> array(pointer);
            case '"' -> {
                String s = string();
                values.add(new Value(pointer, Type.STRING, start, pos, s, -1, -1));
            }
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    number();
                    values.add(new Value(pointer, Type.NUMBER, start, pos, null, -1, -1));
                } else if (text.startsWith("true", pos) || text.startsWith("null", pos)) {
                    pos += 4;
                    values.add(new Value(pointer, Type.LITERAL, start, pos, null, -1, -1));
                } else if (text.startsWith("false", pos)) {
                    pos += 5;
                    values.add(new Value(pointer, Type.LITERAL, start, pos, null, -1, -1));
                } else {
                    throw error("unexpected character '" + c + "'");
                }
            }
        }
    }

    private void object(String pointer) {
        int start = pos++;
        int slot = values.size();
        values.add(null);
        int lastMemberEnd = -1;
        skipBlank();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated object");
            }
            if (text.charAt(pos) == '}') {
                pos++;
                break;
            }
            if (text.charAt(pos) != '"') {
                throw error("expected a member name in quotes");
            }
            String key = string();
            skipBlank();
            expect(':');
            skipBlank();
            value(pointer + "/" + escapePointer(key));
            lastMemberEnd = pos;
            skipBlank();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                skipBlank();
            } else if (pos < text.length() && text.charAt(pos) != '}') {
                throw error("expected ',' or '}'");
            }
        }
        values.set(slot, new Value(pointer, Type.OBJECT, start, pos, null, start + 1, lastMemberEnd));
    }

    private void array(String pointer) {
        int start = pos++;
        int slot = values.size();
        values.add(null);
        int i = 0;
        skipBlank();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated array");
            }
            if (text.charAt(pos) == ']') {
                pos++;
                break;
            }
            value(pointer + "/" + i++);
            skipBlank();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                skipBlank();
            } else if (pos < text.length() && text.charAt(pos) != ']') {
                throw error("expected ',' or ']'");
            }
        }
        values.set(slot, new Value(pointer, Type.ARRAY, start, pos, null, start + 1, -1));
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return sb.toString();
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char e = text.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 4 > text.length()) {
                        throw error("bad \\u escape");
                    }
                    try {
                        sb.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                }
                default -> throw error("bad escape '\\" + e + "'");
            }
        }
    }

    private void number() {
        int start = pos;
        while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0) {
            pos++;
        }
        if (pos == start) {
            throw error("bad number");
        }
    }

    private void expect(char c) {
        if (pos >= text.length() || text.charAt(pos) != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    /** Skips whitespace and comments. */
    private void skipBlank() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\uFEFF') {
                pos++;
            } else if (c == '/' && pos + 1 < text.length() && text.charAt(pos + 1) == '/') {
                while (pos < text.length() && text.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (c == '/' && pos + 1 < text.length() && text.charAt(pos + 1) == '*') {
                int close = text.indexOf("*/", pos + 2);
                if (close < 0) {
                    throw error("unterminated /* comment");
                }
                pos = close + 2;
            } else {
                return;
            }
        }
    }

    private IllegalArgumentException error(String what) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(pos, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new IllegalArgumentException("not valid JSONC at line " + line + ", column " + col + ": " + what);
    }
}
