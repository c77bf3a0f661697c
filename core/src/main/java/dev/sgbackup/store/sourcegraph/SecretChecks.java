package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.StoreBackup;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Matches the secrets and overrides a restore was given to the backup's documents: every redacted value needs a
 * replacement, ciphertext takes none, unknown documents are pointed out, and the replacements are put in place.
 */
final class SecretChecks {
    private final Secrets secrets;

    SecretChecks(Secrets secrets) {
        this.secrets = secrets;
    }

    /** The pointers of the values redacted in the text itself (not only those the backup recorded). */
    static List<String> redactedIn(ConfigDocument d, CheckReport report) {
        if (!d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty() || !d.mayBeRedacted()) {
            return List.of(); // ciphertext, or settings (never redacted): nothing to scan
        }
        try {
            return Secrets.redactedPointers(d.contents());
        } catch (IllegalArgumentException e) {
            // restored as it is, unless something has to be put in it (then substitute() reports the error)
            report.warn(d.artifactName(), e.getMessage() + "; restored as it is");
            return List.of();
        }
    }

    void checkSecrets(ConfigDocument d, List<String> redacted, CheckReport report) {
        String doc = d.artifactName();
        Map<String, String> given = secrets.forDocument(doc);
        boolean encrypted = !d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty();
        if (encrypted && !given.isEmpty()) {
            report.error(doc, "the config is ciphertext of the source instance's keyring, so secrets and overrides "
                    + "cannot be put in it; remove the entries for " + doc + " from the secrets");
        }
        for (String p : redacted) {
            if (!given.containsKey(p)) {
                report.error(doc, "secret " + p + " was redacted by the API and has no replacement; add it to the "
                        + "secrets file as {\"" + doc + "\": {\"" + p + "\": \"<value>\"}}");
            }
        }
    }

    void checkUnusedSecrets(StoreBackup backup, CheckReport report) {
        Set<String> names = new HashSet<>();
        backup.artifacts().forEach(a -> names.add(a.name()));
        for (String doc : secrets.documents()) {
            if (!names.contains(doc)) {
                report.warn(doc, "the secrets name a document that is not in the backup; it is ignored "
                        + "(documents: site-config, global-settings, external-services/<KIND>/<display name>, "
                        + "orgs/<name>/settings, users/<name>/settings)");
            }
        }
    }

    /** Puts the secrets in place; with a report, records problems there instead of throwing. */
    String substitute(ConfigDocument d, CheckReport report) {
        Map<String, String> given = secrets.forDocument(d.artifactName());
        try {
            return Jsonc.replace(d.contents(), given);
        } catch (IllegalArgumentException e) {
            if (report == null) {
                throw new StoreException(d.artifactName() + ": " + e.getMessage());
            }
            report.error(d.artifactName(), e.getMessage());
            return null;
        }
    }
}
