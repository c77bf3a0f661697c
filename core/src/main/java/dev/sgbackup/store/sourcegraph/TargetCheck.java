package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides whether a restore target may take a restore without replace.
 *
 * <p>Without replace, a restore only writes into a target that holds no configuration of its own that the restore
 * would overwrite or mix with the backup's. Counted are the configuration an operator makes: every code host
 * connection (external service), and global, organization and user settings that hold anything (settings that are
 * only {@code {}}, {@code null}, whitespace or comments are empty). A fresh instance has none of these. A document
 * that is byte for byte the backup's document of the same name is not counted, so a restore that is run again
 * (after a partial failure through the API, say) goes ahead and changes nothing that was not the backup's.
 *
 * <p>The site configuration does not count: every instance has one from its first start (and one that works needs
 * at least its own {@code externalURL}); putting the backup's in its place is what a configuration restore is for,
 * Sourcegraph keeps the previous one in its history, and overrides ({@code secret("site-config", "/externalURL",
 * ...)}) keep what must stay the target's own. Users and organizations themselves are not configuration.
 *
 * <p>A target that holds such configuration is refused in the check phase, before anything is written, with a
 * message that names the documents found and points to {@code --replace}; with replace the target's configuration
 * becomes the backup's instead (its code host connections and settings that the backup does not have are removed).
 */
final class TargetCheck {
    /** At most this many documents are named in the refusal. */
    static final int NAMED = 5;

    private TargetCheck() {
    }

    /**
     * The target's documents that make it not fresh for this backup, in the order the backend read them: what an
     * operator configured, unless it is byte for byte the backup's document of the same name.
     */
    static List<String> configured(Backend target, StoreBackup backup) throws IOException {
        Map<String, String> hashes = new HashMap<>();
        for (ArtifactInfo a : backup.artifacts()) {
            hashes.put(a.name(), a.sha256());
        }
        Set<String> names = new HashSet<>();
        List<String> found = new ArrayList<>();
        target.read(d -> {
            String name = d.artifactName();
            for (int n = 2; !names.add(name); n++) {
                name = d.artifactName() + " #" + n; // as a backup names them
            }
            if (configured(d) && !sha256(d.contents()).equals(hashes.get(name))) {
                found.add(name);
            }
        });
        return found;
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean configured(ConfigDocument d) {
        return switch (d.type()) {
            case SITE_CONFIG -> false;
            case EXTERNAL_SERVICE -> true;
            case GLOBAL_SETTINGS, ORG_SETTINGS, USER_SETTINGS -> !empty(d.contents());
        };
    }

    /** True for settings that hold nothing: blank, {@code null}, or an empty object (comments aside). */
    static boolean empty(String contents) {
        if (contents == null || contents.isBlank()) {
            return true;
        }
        try {
            List<Jsonc.Value> values = Jsonc.scan(contents);
            return values.size() == 1 && (values.get(0).type() == Jsonc.Type.OBJECT
                    || (values.get(0).type() == Jsonc.Type.LITERAL
                    && contents.substring(values.get(0).start(), values.get(0).end()).equals("null")));
        } catch (IllegalArgumentException | UncheckedIOException e) {
            return false; // not even JSONC: someone wrote it
        }
    }

    static String refusal(String target, List<String> found) {
        List<String> named = found.size() > NAMED ? found.subList(0, NAMED) : found;
        return "the restore target (" + target + ") already holds configuration (" + String.join(", ", named)
                + (found.size() > NAMED ? " and " + (found.size() - NAMED) + " more" : "")
                + "); a restore without replace only writes into a fresh instance (no code host connections, no"
                + " settings other than the backup's own), so nothing of it is mixed with the backup's; use --replace (RestoreOptions.replace)"
                + " to make the target's configuration the backup's: its code host connections and settings that"
                + " are not in the backup are removed";
    }
}
