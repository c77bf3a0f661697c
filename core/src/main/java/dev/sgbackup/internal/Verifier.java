package dev.sgbackup.internal;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Verify: re-reads stored artifacts through the read pipeline to their end, where sizes and both hashes are
 * checked. A deduplicated artifact is read chunk by chunk: its tree is checked against the manifest, every chunk
 * must be in its store's index and in a pack that exists, and each chunk is checked against its id as it is read. Serves {@code verify} (every artifact of a backup) and the restore's damage diagnosis (was it the
 * bytes, or the store?), which share one read loop.
 */
final class Verifier {
    private final RunContext ctx;
    private final Catalog catalog;

    Verifier(RunContext ctx, Catalog catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    /** Reads one artifact to its end; damage surfaces as {@link IntegrityException}, a missing object as {@link NoSuchObjectException}. */
    private static void readToEnd(ArtifactSource source, StoreBackup sb, ArtifactInfo a, LongConsumer progress) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = source.open(sb, a, progress)) {
            while (in.read(buf) >= 0) {
                // reading to the end checks sizes and hashes
            }
        }
    }

    VerifyReport verify(String backupId) {
        Manifest m = catalog.manifest(backupId);
        Progress progress = ctx.progress(m.size(), m.artifacts().size());
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "verify " + backupId);
        List<VerifyReport.Problem> problems = new ArrayList<>();
        ArtifactSource source = new ArtifactSource(ctx, m);
        int checked = 0;
        for (StoreBackup sb : m.stores()) {
            for (ArtifactInfo a : sb.artifacts()) {
                checked++;
                progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, sb.name(), a.name(), null);
                try {
                    readToEnd(source, sb, a, n -> progress.add(sb.name(), n));
                } catch (NoSuchObjectException e) {
                    problems.add(problem(sb, a, VerifyReport.Problem.Kind.MISSING, sb.name() + "/" + a.name() + " (" + a.key() + "): missing"));
                } catch (IntegrityException e) {
                    problems.add(problem(sb, a, VerifyReport.Problem.Kind.DAMAGED, e.getMessage()));
                } catch (SinkException e) {
                    problems.add(problem(sb, a, VerifyReport.Problem.Kind.UNREADABLE, e.getMessage()));
                } catch (IOException e) {
                    problems.add(problem(sb, a, VerifyReport.Problem.Kind.UNREADABLE,
                            sb.name() + "/" + a.name() + " (" + a.key() + "): unreadable: " + e.getMessage()));
                }
                progress.artifacts.incrementAndGet();
                progress.emit(ProgressEvent.Type.ARTIFACT_FINISHED, sb.name(), a.name(), null);
            }
        }
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, problems.isEmpty() ? "ok" : problems.size() + " bad");
        return new VerifyReport(backupId, checked, progress.bytes.get(), problems);
    }

    private static VerifyReport.Problem problem(StoreBackup sb, ArtifactInfo a, VerifyReport.Problem.Kind kind, String message) {
        return new VerifyReport.Problem(sb.name(), a.name(), a.key(), kind, message);
    }

    /** Re-reads a store's stored bytes and returns the first damage found, or null if every artifact is intact. */
    String damage(Manifest m, StoreBackup sb) {
        ArtifactSource source = new ArtifactSource(ctx, m);
        for (ArtifactInfo a : sb.artifacts()) {
            try {
                readToEnd(source, sb, a, n -> { });
            } catch (IntegrityException e) {
                return e.getMessage();
            } catch (NoSuchObjectException e) {
                return "artifact " + sb.name() + "/" + a.name() + " (" + a.key() + ") is missing";
            } catch (IOException | RuntimeException e) {
                return null; // not provably damage (e.g. the sink is unreachable); keep the store's own error
            }
        }
        return null;
    }
}
