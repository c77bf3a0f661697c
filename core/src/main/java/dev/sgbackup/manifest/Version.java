package dev.sgbackup.manifest;

import java.io.InputStream;
import java.util.Properties;

/** The sgbackup version, from the build. */
final class Version {
    private static final String VERSION = load();

    private Version() {
    }

    static String current() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("/dev/sgbackup/version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "dev");
            }
        } catch (Exception e) {
            // fall through
        }
        return "dev";
    }
}
