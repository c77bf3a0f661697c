package dev.sgbackup.store;

import java.util.List;
import java.util.Map;

/**
 * One artifact as recorded in a manifest.
 *
 * @param name        free-text name given by the store (table name, document name, "tar")
 * @param key         storage key relative to the sink root; for a deduplicated artifact, its tree object's key
 *                    ({@code dedup/trees/HEX}: the artifact's ordered chunk list)
 * @param size        plain size in bytes (what the store wrote)
 * @param sha256      hex SHA-256 of the plain bytes
 * @param storedSize  size in bytes as stored in the sink (after compression/encryption); for a deduplicated
 *                    artifact, the tree object's size
 * @param storedSha256 hex SHA-256 of the stored bytes; for a deduplicated artifact, the tree object's
 * @param transforms  the transforms applied on write, in order (e.g. ["zstd"]); undone in reverse order;
 *                    {@code ["dedup"]} for a deduplicated artifact
 * @param attributes  small facts from the store
 * @param chunks      for an artifact of a deduplicated backup, its chunk count and how many of its plain bytes were
 *                    new or already stored; null for an artifact of a full backup
 */
public record ArtifactInfo(String name, String key, long size, String sha256, long storedSize, String storedSha256,
                           List<String> transforms, Map<String, String> attributes, Chunks chunks) {
    public ArtifactInfo {
        transforms = List.copyOf(transforms);
        attributes = Map.copyOf(attributes);
    }

    /** An artifact of a full (not deduplicated) backup. */
    public ArtifactInfo(String name, String key, long size, String sha256, long storedSize, String storedSha256,
                        List<String> transforms, Map<String, String> attributes) {
        this(name, key, size, sha256, storedSize, storedSha256, transforms, attributes, null);
    }

    /** Whether this artifact is stored as chunks of a deduplicated repository. */
    public boolean deduplicated() {
        return chunks != null;
    }

    /**
     * How a deduplicated artifact was stored.
     *
     * @param count       its chunks
     * @param newBytes    plain bytes of the chunks it stored first
     * @param reusedBytes plain bytes of the chunks that were already stored (by an earlier backup, or earlier in this one)
     */
    public record Chunks(long count, long newBytes, long reusedBytes) {
    }
}
