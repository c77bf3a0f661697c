package dev.sgbackup.internal;

import dev.sgbackup.store.DataStore;
import dev.sgbackup.run.InvalidInputException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one layout every sink uses, relative to the sink's root:
 * {@code data/<backup-id>/<store>/<artifact-key>} for artifacts and {@code manifests/<backup-id>.json} for
 * manifests. The manifest is written last; that write is the commit.
 */
public final class Layout {
    public static final String MANIFESTS = "manifests/";
    public static final String DATA = "data/";
    private static final Pattern ID = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Layout() {
    }

    /** A new backup id: sortable UTC time plus a random suffix, e.g. {@code 20261125T170744Z-3fa9c1}. */
    public static String newBackupId(Instant now) {
        byte[] r = new byte[3];
        RANDOM.nextBytes(r);
        return TIME.format(now) + "-" + HexFormat.of().formatHex(r);
    }

    /** When the backup with this id started (to the second). */
    public static Instant timeOf(String backupId) {
        return Instant.from(TIME.parse(checkBackupId(backupId).substring(0, 16)));
    }

    public static boolean isBackupId(String s) {
        return s != null && ID.matcher(s).matches();
    }

    public static String checkBackupId(String id) {
        if (!isBackupId(id)) {
            throw new InvalidInputException("'" + id + "' is not a backup id; ids look like 20261125T170744Z-3fa9c1 (see 'sgbackup list')");
        }
        return id;
    }

    /** Store names: {@code [a-z0-9][a-z0-9._-]*}, at most 63 characters. */
    public static String checkStoreName(String name) {
        return DataStore.checkName(name);
    }

    public static String manifestKey(String backupId) {
        return MANIFESTS + backupId + ".json";
    }

    public static String dataPrefix(String backupId) {
        return DATA + backupId + "/";
    }

    /** The key of a store's {@code seq}-th artifact; the artifact's own name lives in the manifest only. */
    public static String artifactKey(String backupId, String store, int seq, String name, String suffix) {
        return dataPrefix(backupId) + store + "/" + String.format(Locale.ROOT, "%06d", seq) + "-" + slug(name) + suffix;
    }

    /**
     * The key of an encrypted backup's artifact: {@code data/<id>/s<store ordinal>/<seq>.sgenc}. Neither the
     * store's nor the artifact's name appears; they live in the manifest's sealed part only.
     */
    public static String opaqueArtifactKey(String backupId, int storeOrdinal, int seq) {
        return dataPrefix(backupId) + String.format(Locale.ROOT, "s%02d/%06d.sgenc", storeOrdinal, seq);
    }

    /** The backup id of a manifest key, or null if the key is not a manifest. */
    public static String backupIdOfManifest(String key) {
        if (!key.startsWith(MANIFESTS) || !key.endsWith(".json")) {
            return null;
        }
        String id = key.substring(MANIFESTS.length(), key.length() - 5);
        return isBackupId(id) ? id : null;
    }

    /** The backup id of a data key, or null. */
    public static String backupIdOfData(String key) {
        if (!key.startsWith(DATA)) {
            return null;
        }
        int slash = key.indexOf('/', DATA.length());
        String id = slash < 0 ? key.substring(DATA.length()) : key.substring(DATA.length(), slash);
        return isBackupId(id) ? id : null;
    }

    static String slug(String name) {
        String s = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-").replaceAll("^[-._]+", "");
        if (s.length() > 48) {
            s = s.substring(0, 48);
        }
        return s.isEmpty() ? "artifact" : s;
    }
}
