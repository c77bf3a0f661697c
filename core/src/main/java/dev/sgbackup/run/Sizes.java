package dev.sgbackup.run;

import java.util.Locale;

/** Human-readable byte sizes for plans and listings. */
public final class Sizes {
    private Sizes() {
    }

    /** {@code 1536} → {@code 1.5KiB}; {@code -1} → {@code ?}. */
    public static String human(long bytes) {
        if (bytes < 0) {
            return "?";
        }
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f%s", v, units[u]);
    }
}
