package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.store.BackupOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Backs up one instance's configuration: one artifact per document, the text byte for byte, with the pointers of
 * every value the API redacted recorded beside it.
 */
final class ConfigBackup {
    private static final System.Logger LOG = System.getLogger(SourcegraphConfigStore.class.getName());

    private ConfigBackup() {
    }

    static void run(String name, Backend backend, BackupOutput out) throws IOException {
        String version = backend.version();
        out.property(SourcegraphConfigStore.PROPERTY_VERSION, version);
        out.property(SourcegraphConfigStore.PROPERTY_SOURCE, backend.source());
        Set<String> names = new HashSet<>();
        int[] count = new int[1];
        backend.read(read -> {
            out.checkCancelled();
            ConfigDocument doc = read;
            String artifact = doc.artifactName();
            if (!names.add(artifact)) {
                int n = 2;
                while (!names.add(artifact + " #" + n)) {
                    n++;
                }
                out.warn(artifact + " exists more than once; this one is backed up as '" + artifact + " #" + n
                        + "', and restores match connections of one kind and display name in order");
                artifact = artifact + " #" + n;
                doc = doc.withName(artifact);
            }
            List<String> redacted = List.of();
            if (!doc.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty()) {
                out.warn(artifact + " is encrypted with the source instance's keyring key '"
                        + doc.extra().get(ConfigDocument.ATTR_ENCRYPTION_KEY_ID)
                        + "'; the restore target needs the same encryption keys");
            } else if (doc.mayBeRedacted()) {
                try {
                    redacted = Secrets.redactedPointers(doc.contents());
                } catch (IllegalArgumentException e) {
                    out.warn(artifact + " is " + e.getMessage() + "; backed up as it is");
                }
            }
            try (BackupOutput.ArtifactStream s = out.artifact(artifact, doc.attributes(redacted))) {
                s.write(doc.contents().getBytes(StandardCharsets.UTF_8));
            }
            count[0]++;
            int n = redacted.size();
            String logged = artifact;
            LOG.log(System.Logger.Level.DEBUG, () -> "backed up " + logged + " (" + n + " redacted values)");
        });
        LOG.log(System.Logger.Level.INFO, () -> name + ": backed up " + count[0] + " configuration documents of Sourcegraph " + version);
    }
}
