package dev.sgbackup.manifest;

import dev.sgbackup.run.Sizes;
import java.time.Instant;
import java.util.List;

/** One line of a listing: a committed backup. */
public record BackupSummary(String id, Instant createdAt, String scope, long size, long storedSize, List<String> stores,
                            boolean encrypted) {
    public BackupSummary {
        stores = List.copyOf(stores);
    }

    public static BackupSummary of(Manifest m) {
        return new BackupSummary(m.id(), m.createdAt(), m.scope(), m.size(), m.storedSize(), m.storeNames(), m.encrypted());
    }

    /**
     * The summary of a stored manifest, without opening a sealed one: an encrypted backup has size -1 and no stores,
     * and the stored size its clear part records (a deduplicated backup's tree objects), or -1 if it records none (a
     * full backup: what its data prefix holds is the answer; or a deduplicated one written before sgbackup recorded it).
     *
     * @throws dev.sgbackup.run.IntegrityException if the manifest is damaged
     */
    public static BackupSummary ofStored(byte[] stored, String where) {
        Manifest m = Manifest.decode(stored, where, null);
        if (!m.encrypted()) {
            return of(m);
        }
        return new BackupSummary(m.id(), m.createdAt(), m.scope(), -1, ManifestCodec.clearStoredSize(stored), List.of(), true);
    }

    /** {@code ID CREATED SIZE STORES}, single spaces (the CLI's list format). */
    public String line() {
        return id + " " + createdAt + " " + storedSize + " " + String.join(",", stores);
    }

    @Override
    public String toString() {
        return id + "  " + createdAt + "  " + Sizes.human(storedSize) + "  " + String.join(",", stores) + (encrypted ? "  encrypted" : "");
    }
}
