package dev.sgbackup.manifest;

import dev.sgbackup.run.IntegrityException;
import java.util.function.Function;
import dev.sgbackup.transform.Encryption;
import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A committed backup as its manifest records it. A backup without a manifest does not exist.
 *
 * @param formatVersion manifest format version (readers refuse versions newer than they know)
 * @param id            the backup id ({@code 20261125T170744Z-3fa9c1})
 * @param createdAt     when the backup started
 * @param completedAt   when the manifest was written
 * @param toolVersion   sgbackup version that wrote it
 * @param scope         what the backup was asked to hold ({@code config}, {@code postgres}, {@code all}, {@code custom}…)
 * @param compression   the compression used, e.g. {@code zstd:3}
 * @param encryption    encryption parameters in clear (KDF, salt, iterations, wrapped key), empty if not encrypted
 * @param stores        each store's part
 */
public record Manifest(int formatVersion, String id, Instant createdAt, Instant completedAt, String toolVersion,
                       String scope, String compression, Map<String, String> encryption, List<StoreBackup> stores) {
    /**
     * The newest manifest format this version reads (1: plain; 2: encrypted, with a sealed part; 3: deduplicated,
     * sealed or not: artifacts reference tree objects).
     */
    public static final int FORMAT_VERSION = 3;

    public Manifest {
        encryption = Map.copyOf(encryption);
        stores = List.copyOf(stores);
    }

    public boolean encrypted() {
        return !encryption.isEmpty();
    }

    /** Plain bytes of every artifact. */
    public long size() {
        return stores.stream().mapToLong(StoreBackup::size).sum();
    }

    /** Bytes as stored in the sink. */
    public long storedSize() {
        return stores.stream().mapToLong(StoreBackup::storedSize).sum();
    }

    public Optional<StoreBackup> store(String name) {
        return stores.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The store named {@code name}, or an error listing the stores this backup has. */
    public StoreBackup requireStore(String name) {
        return store(name).orElseThrow(() -> new InvalidInputException("backup " + id + " has no store '" + name
                + "'; it has: " + String.join(", ", storeNames())));
    }

    public List<String> storeNames() {
        return stores.stream().map(StoreBackup::name).toList();
    }

    public List<ArtifactInfo> artifacts() {
        return stores.stream().flatMap(s -> s.artifacts().stream()).toList();
    }

    public List<String> warnings() {
        return stores.stream().flatMap(s -> s.warnings().stream().map(w -> s.name() + ": " + w)).toList();
    }

    /** The manifest as readable JSON (every store, artifact, size and hash; for encrypted backups, decrypted). */
    public String toJson() {
        return ManifestCodec.toJson(this);
    }

    /** The version of sgbackup running, as new manifests record it in {@link #toolVersion()}. */
    public static String currentToolVersion() {
        return Version.current();
    }

    /**
     * The manifest in its stored form, as it is written to the sink: canonical JSON with a self-hash; with a data
     * key, everything but the id, times, tool version, scope and encryption parameters is sealed (AES-256-GCM,
     * the clear part authenticated as associated data). {@code dataKey} null: a plain manifest.
     */
    public byte[] encode(Encryption.DataKey dataKey) {
        return ManifestCodec.encode(this, dataKey);
    }

    /**
     * Parses and checks a stored manifest ({@code where} names it in errors, e.g. its key). A sealed manifest is
     * opened with the data key {@code unlock} returns for its encryption parameters; with {@code unlock} null it
     * comes back with its clear part only (no stores, compression {@code "?"}).
     *
     * @throws IntegrityException if it is damaged, tampered with, or of a newer format than this version reads
     */
    public static Manifest decode(byte[] stored, String where, Function<Map<String, String>, Encryption.DataKey> unlock) {
        return ManifestCodec.decode(stored, where, unlock);
    }

    /**
     * A stored encrypted manifest with its data key wrapped anew, for a passphrase change: {@code unlock} opens its
     * data key from the clear encryption parameters (the old passphrase), {@code to} wraps the same key (the new
     * one). Only the encryption parameters and the sealing change; the backup's data, encrypted with the data key,
     * stays readable as it is. The result is checked to decode to the same manifest.
     *
     * @throws IntegrityException       if the manifest is damaged or tampered with
     * @throws IllegalArgumentException if it is not encrypted
     */
    public static byte[] rewrap(byte[] stored, String where, Function<Map<String, String>, Encryption.DataKey> unlock, Encryption to) {
        return ManifestCodec.rewrap(stored, where, unlock, to::rewrap);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append("backup ").append(id).append("  created ").append(createdAt).append("  scope ").append(scope)
                .append("  ").append(compression).append(encrypted() ? "  encrypted" : "").append('\n');
        for (StoreBackup s : stores) {
            List<ArtifactInfo.Chunks> chunks = s.artifacts().stream().map(ArtifactInfo::chunks).filter(java.util.Objects::nonNull).toList();
            if (chunks.isEmpty()) {
                sb.append(String.format("  %-16s %-20s %5d artifacts %12s -> %12s%n", s.name(), s.kind(), s.artifacts().size(),
                        Sizes.human(s.size()), Sizes.human(s.storedSize())));
            } else { // deduplicated: what is stored is shared, so say what was new
                sb.append(String.format("  %-16s %-20s %5d artifacts %12s, dedup: %d chunks, %s new, %s reused%n", s.name(), s.kind(),
                        s.artifacts().size(), Sizes.human(s.size()), chunks.stream().mapToLong(ArtifactInfo.Chunks::count).sum(),
                        Sizes.human(chunks.stream().mapToLong(ArtifactInfo.Chunks::newBytes).sum()),
                        Sizes.human(chunks.stream().mapToLong(ArtifactInfo.Chunks::reusedBytes).sum())));
            }
        }
        for (String w : warnings()) {
            sb.append("  warning: ").append(w).append('\n');
        }
        return sb.toString();
    }
}
