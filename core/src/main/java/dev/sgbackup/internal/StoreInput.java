package dev.sgbackup.internal;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The read side of the artifact pipeline: the {@link RestoreInput} one store reads its artifacts from. Bytes flow
 * sink object → stored hash and size → decryption → decompression → plain hash and size → the store; both hashes
 * are checked when the store reaches the end of an artifact. A deduplicated artifact's bytes come chunk by chunk from
 * the repository instead ({@link ArtifactSource}), its plain hash checked the same way.
 */
final class StoreInput implements RestoreInput {
    private final RunContext ctx;
    private final Manifest manifest;
    private final StoreBackup backup;
    private final RestoreOptions options;
    private final Progress progress;
    private final ArtifactSource source;
    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());

    StoreInput(RunContext ctx, Manifest manifest, StoreBackup backup, RestoreOptions options, Progress progress) {
        this.ctx = ctx;
        this.manifest = manifest;
        this.backup = backup;
        this.options = options;
        this.progress = progress;
        this.source = new ArtifactSource(ctx, manifest);
    }

    @Override
    public StoreBackup backup() {
        return backup;
    }

    @Override
    public InputStream open(ArtifactInfo artifact) throws IOException {
        if (!backup.artifacts().contains(artifact)) {
            throw new InvalidInputException("artifact " + artifact.name() + " is not part of store " + backup.name());
        }
        progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, backup.name(), artifact.name(), null);
        try {
            return source.open(backup, artifact, n -> progress.add(backup.name(), n));
        } catch (NoSuchObjectException e) {
            throw new IntegrityException("artifact " + backup.name() + "/" + artifact.name() + " (" + artifact.key()
                    + ") is missing from " + ctx.sink().uri() + "; the backup is incomplete — restore another backup");
        }
    }

    @Override
    public RestoreOptions options() {
        return options;
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
        progress.emit(ProgressEvent.Type.WARNING, backup.name(), null, message);
    }

    @Override
    public int parallelism() {
        return ctx.parallelism();
    }

    @Override
    public void checkCancelled() {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancelledException("restore cancelled");
        }
    }
}
