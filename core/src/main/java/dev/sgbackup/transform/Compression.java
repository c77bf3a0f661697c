package dev.sgbackup.transform;

import dev.sgbackup.run.InvalidInputException;
import java.util.Locale;
import java.util.Objects;

/**
 * A compression choice: {@code Compression.zstd()} (default, level 3), {@code gzip(1)}, {@code none()}, or
 * parsed from {@code "zstd"}, {@code "zstd:9"}, {@code "gzip:1"}, {@code "none"}.
 */
public final class Compression {
    /** The algorithms. */
    public enum Codec { ZSTD, GZIP, NONE }

    private final Codec codec;
    private final int level;

    private Compression(Codec codec, int level) {
        this.codec = codec;
        this.level = level;
    }

    public static Compression zstd() {
        return new Compression(Codec.ZSTD, 3);
    }

    /** zstd at {@code level} 1..19 (higher is smaller and slower). */
    public static Compression zstd(int level) {
        if (level < 1 || level > 19) {
            throw new InvalidInputException("zstd level " + level + " is out of range; use 1 to 19 (default 3)");
        }
        return new Compression(Codec.ZSTD, level);
    }

    public static Compression gzip() {
        return new Compression(Codec.GZIP, 6);
    }

    /** gzip at {@code level} 1..9. */
    public static Compression gzip(int level) {
        if (level < 1 || level > 9) {
            throw new InvalidInputException("gzip level " + level + " is out of range; use 1 to 9 (default 6)");
        }
        return new Compression(Codec.GZIP, level);
    }

    public static Compression none() {
        return new Compression(Codec.NONE, 0);
    }

    /** Parses {@code zstd|gzip|none[:LEVEL]}. */
    public static Compression parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        String name = s;
        Integer level = null;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            name = s.substring(0, colon);
            try {
                level = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new InvalidInputException("invalid compression '" + spec + "': the level must be a number, e.g. zstd:3 or gzip:1");
            }
        }
        return switch (name) {
            case "zstd" -> level == null ? zstd() : zstd(level);
            case "gzip" -> level == null ? gzip() : gzip(level);
            case "none" -> {
                if (level != null) {
                    throw new InvalidInputException("invalid compression '" + spec + "': none takes no level");
                }
                yield none();
            }
            default -> throw new InvalidInputException("unknown compression '" + spec + "'; use zstd, gzip or none, optionally with :LEVEL");
        };
    }

    public Codec codec() {
        return codec;
    }

    public int level() {
        return level;
    }

    /** The transform that applies this compression, or null for {@code none}. */
    public Transform transform() {
        return switch (codec) {
            case ZSTD -> new ZstdTransform(level);
            case GZIP -> new GzipTransform(level);
            case NONE -> null;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Compression c && c.codec == codec && c.level == level;
    }

    @Override
    public int hashCode() {
        return Objects.hash(codec, level);
    }

    @Override
    public String toString() {
        return codec == Codec.NONE ? "none" : codec.name().toLowerCase(Locale.ROOT) + ":" + level;
    }
}
