package dev.sgbackup.store;

import java.util.List;
import java.util.Map;

/**
 * One artifact as recorded in a manifest.
 *
 * @param name        free-text name given by the store (table name, document name, "tar")
 * @param key         storage key relative to the sink root
 * @param size        plain size in bytes (what the store wrote)
 * @param sha256      hex SHA-256 of the plain bytes
 * @param storedSize  size in bytes as stored in the sink (after compression/encryption)
 * @param storedSha256 hex SHA-256 of the stored bytes
 * @param transforms  the transforms applied on write, in order (e.g. ["zstd"]); undone in reverse order
 * @param attributes  small facts from the store
 */
public record ArtifactInfo(String name, String key, long size, String sha256, long storedSize, String storedSha256,
                           List<String> transforms, Map<String, String> attributes) {
    public ArtifactInfo {
        transforms = List.copyOf(transforms);
        attributes = Map.copyOf(attributes);
    }
}
