package dev.sgbackup.store;

import java.util.List;
import java.util.Map;

/**
 * One store's part of a backup, as recorded in the manifest.
 *
 * @param name        the store's name
 * @param kind        the store's kind
 * @param description the one-line description at backup time
 * @param properties  facts the store recorded (versions, fingerprints)
 * @param artifacts   the artifacts in the order they were finished
 * @param warnings    warnings recorded while backing up
 */
public record StoreBackup(String name, String kind, String description, Map<String, String> properties,
                          List<ArtifactInfo> artifacts, List<String> warnings) {
    public StoreBackup {
        properties = Map.copyOf(properties);
        artifacts = List.copyOf(artifacts);
        warnings = List.copyOf(warnings);
    }

    public long size() {
        return artifacts.stream().mapToLong(ArtifactInfo::size).sum();
    }

    public long storedSize() {
        return artifacts.stream().mapToLong(ArtifactInfo::storedSize).sum();
    }
}
