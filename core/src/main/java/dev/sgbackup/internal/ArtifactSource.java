package dev.sgbackup.internal;

import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Opens the artifacts of one backup for reading, full or deduplicated alike: a full artifact through the
 * transforms ({@link Pipeline#open}), a deduplicated one chunk by chunk from the repository
 * ({@link Pipeline#openChunked}), each store's index loaded once per source. Plain size and SHA-256 are checked at
 * the end either way. One source per run (restore of a store, verify): a later backup's chunks are not in an index
 * loaded before it.
 */
final class ArtifactSource {
    private final RunContext ctx;
    private final Manifest manifest;
    private final Map<String, DedupRepository.Reader> readers = new HashMap<>();

    ArtifactSource(RunContext ctx, Manifest manifest) {
        this.ctx = ctx;
        this.manifest = manifest;
    }

    InputStream open(StoreBackup sb, ArtifactInfo a, LongConsumer progress) throws IOException {
        if (!a.deduplicated()) {
            return Pipeline.open(ctx.sink(), manifest.id(), sb.name(), a, ctx.keys().resolver(manifest), progress);
        }
        InputStream chunks = reader(sb.name()).open(manifest.id(), a.key(), a.storedSize(), a.storedSha256(), a.sha256());
        return Pipeline.openChunked(ctx.sink(), sb.name(), a, chunks, progress);
    }

    private synchronized DedupRepository.Reader reader(String store) throws IOException {
        DedupRepository.Reader r = readers.get(store);
        if (r == null) {
            r = ctx.dedup().repository(false).reader(store);
            readers.put(store, r);
        }
        return r;
    }
}
