package dev.sgbackup.store.volume;

import dev.sgbackup.run.StoreException;
import java.util.Locale;

/**
 * Java decodes and encodes file names with the charset named by {@code sun.jnu.encoding}, which it takes
 * from the locale of its environment at start-up. Under {@code LANG=C} (the default in many containers)
 * that is ASCII, and every non-ASCII name would be mangled to '?' or become unreadable. On Java 17 the
 * property cannot be changed with {@code -D}; only the environment fixes it.
 */
final class FileNameEncoding {
    private FileNameEncoding() {
    }

    /** Returns null when {@code encoding} is UTF-8, else the message that explains the fix. */
    static String problem(String encoding) {
        if (encoding != null) {
            String e = encoding.toUpperCase(Locale.ROOT).replace("-", "").replace("_", "");
            if (e.equals("UTF8")) {
                return null;
            }
        }
        return "the JVM's file-name encoding (sun.jnu.encoding) is '" + encoding + "', not UTF-8, so file names"
                + " that are not ASCII would be mangled or lost; start Java with a UTF-8 locale in its environment,"
                + " e.g. LANG=C.UTF-8 java ... (or LC_ALL=C.UTF-8; in a Dockerfile: ENV LANG=C.UTF-8)."
                + " -Dsun.jnu.encoding and -Dfile.encoding on the command line do not change it";
    }

    /** Throws {@link StoreException} with the fix when this JVM does not use UTF-8 for file names. */
    static void check(String encoding) {
        String problem = problem(encoding);
        if (problem != null) {
            throw new StoreException(problem);
        }
    }

    static String current() {
        return System.getProperty("sun.jnu.encoding");
    }
}
