package dev.sgbackup.sink;

import dev.sgbackup.run.InvalidInputException;
import java.util.regex.Pattern;

/**
 * Rules for object keys, shared by every sink: {@code [a-z0-9._/-]} (plus the upper-case {@code T} and {@code Z} of
 * the ISO-8601 time in backup ids), no empty segment, no segment starting with {@code .}.
 */
public final class Keys {
    private static final Pattern KEY = Pattern.compile("[a-z0-9TZ._\\-]+(/[a-z0-9TZ._\\-]+)*");

    private Keys() {
    }

    /** Throws {@link InvalidInputException} unless {@code key} is a valid object key. */
    public static String check(String key) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw new InvalidInputException("invalid object key '" + key + "': keys use only [a-z0-9._/-] in non-empty segments");
        }
        for (String seg : key.split("/")) {
            if (seg.equals(".") || seg.equals("..") || seg.startsWith(".")) {
                throw new InvalidInputException("invalid object key '" + key + "': a segment may not start with '.'");
            }
        }
        return key;
    }

    /** Throws unless {@code prefix} is empty or a valid key prefix (may end with '/'). */
    public static String checkPrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            return "";
        }
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        if (!p.isEmpty()) {
            if (!KEY.matcher(p).matches()) {
                throw new InvalidInputException("invalid key prefix '" + prefix + "': keys use only [a-z0-9._/-]");
            }
        }
        return prefix;
    }

    /** A sink's key prefix as given by a user ({@code /a/b/}, {@code a/b}) without leading or trailing slashes. */
    public static String trimSlashes(String prefix) {
        int from = 0;
        int to = prefix.length();
        while (from < to && prefix.charAt(from) == '/') {
            from++;
        }
        while (to > from && prefix.charAt(to - 1) == '/') {
            to--;
        }
        return prefix.substring(from, to);
    }
}
