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

    /** {@code ID CREATED SIZE STORES}, single spaces (the CLI's list format). */
    public String line() {
        return id + " " + createdAt + " " + storedSize + " " + String.join(",", stores);
    }

    @Override
    public String toString() {
        return id + "  " + createdAt + "  " + Sizes.human(storedSize) + "  " + String.join(",", stores) + (encrypted ? "  encrypted" : "");
    }
}
