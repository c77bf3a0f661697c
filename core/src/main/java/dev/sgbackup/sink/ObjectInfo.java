package dev.sgbackup.sink;

import java.time.Instant;

/** A committed object: its key (relative to the sink root), size in bytes and last modification time. */
public record ObjectInfo(String key, long size, Instant lastModified) {
}
