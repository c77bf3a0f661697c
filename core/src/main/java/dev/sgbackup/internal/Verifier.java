package dev.sgbackup.internal;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.manifest.VerifyOptions;
import dev.sgbackup.manifest.VerifyReport;
import dev.sgbackup.dedup.Checker;
import dev.sgbackup.dedup.DedupRepository;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Verify: re-reads a full backup's artifacts through the read pipeline to their end, where sizes and both hashes
 * are checked. A deduplicated backup's artifacts are checked together by the repository's {@link Checker}, as deep
 * as the {@link VerifyOptions} ask: structure (trees against the manifest, chunks in the index, packs listed and
 * long enough), then some or all of the referenced packs read once each, every chunk checked against its id. Also
 * serves the restore's damage diagnosis (was it the bytes, or the store?), which reads artifacts to their end.
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

    VerifyReport verify(String backupId, VerifyOptions options) {
        Manifest m = catalog.manifest(backupId);
        long dedupBytes = m.artifacts().stream().filter(ArtifactInfo::deduplicated).mapToLong(ArtifactInfo::size).sum();
        long total = options.readsAllData() || dedupBytes == 0 ? m.size() : options.readsData() ? -1 : m.size() - dedupBytes;
        Progress progress = ctx.progress(total, m.artifacts().size());
        progress.emit(ProgressEvent.Type.RUN_STARTED, null, null, "verify " + backupId + (m.artifacts().stream()
                .anyMatch(ArtifactInfo::deduplicated) ? " (" + options + ")" : ""));
        List<VerifyReport.Problem> problems = new ArrayList<>();
        ArtifactSource source = new ArtifactSource(ctx, m);
        int checked = 0;
        List<StoreBackup> dedupStores = new ArrayList<>();
        List<ArtifactInfo> dedupArtifacts = new ArrayList<>();
        for (StoreBackup sb : m.stores()) {
            for (ArtifactInfo a : sb.artifacts()) {
                checked++;
                if (a.deduplicated()) { // checked together below, to the depth the options ask for
                    dedupStores.add(sb);
                    dedupArtifacts.add(a);
                    continue;
                }
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
        long bytes = progress.bytes.get();
        if (dedupArtifacts.isEmpty()) {
            progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, problems.isEmpty() ? "ok" : problems.size() + " bad");
            return new VerifyReport(backupId, checked, bytes, problems, options, 0, 0, 0);
        }
        Checker checker;
        try {
            if (ctx.keys().present() && options.readsData()) {
                DedupRepository.warmUp(); // every chunk of the packs read is opened
            }
            checker = ctx.dedup().repository(false).checker(backupId);
        } catch (IntegrityException e) { // no repository, or a damaged config: every deduplicated artifact is unreadable
            for (int i = 0; i < dedupArtifacts.size(); i++) {
                problems.add(problem(dedupStores.get(i), dedupArtifacts.get(i), VerifyReport.Problem.Kind.DAMAGED, e.getMessage()));
            }
            return new VerifyReport(backupId, checked, bytes, problems, options, 0, 0, 0);
        } catch (IOException e) {
            throw new SinkException("opening the deduplicated repository in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        for (int i = 0; i < dedupArtifacts.size(); i++) {
            StoreBackup sb = dedupStores.get(i);
            ArtifactInfo a = dedupArtifacts.get(i);
            progress.emit(ProgressEvent.Type.ARTIFACT_STARTED, sb.name(), a.name(), null);
            checker.artifact(sb.name(), a.name(), a.key(), a.storedSize(), a.storedSha256());
            progress.artifacts.incrementAndGet();
            progress.emit(ProgressEvent.Type.ARTIFACT_FINISHED, sb.name(), a.name(), null);
        }
        checker.checkPacks();
        List<String> packs = checker.packs();
        checker.read(select(options, packs), n -> progress.add(null, n));
        for (Checker.Finding f : checker.findings()) {
            problems.add(problem(dedupStores.get(f.artifact()), dedupArtifacts.get(f.artifact()),
                    VerifyReport.Problem.Kind.valueOf(f.kind().name()), f.message()));
        }
        progress.emit(ProgressEvent.Type.RUN_FINISHED, null, null, problems.isEmpty() ? "ok" : problems.size() + " bad");
        return new VerifyReport(backupId, checked, progress.bytes.get(), problems, options, checker.chunks(), packs.size(),
                checker.packsRead());
    }

    /**
     * The packs a verify reads: none (structure), all, subset n of m (a pack is in subset {@code 1 + first 8 hex digits
     * of its name mod m}: a fixed partition), or a fresh random N% (rounded up, at least one).
     */
    static List<String> select(VerifyOptions options, List<String> packs) {
        if (!options.readsData() || packs.isEmpty()) {
            return List.of();
        }
        if (options.readsAllData()) {
            return packs;
        }
        if (options.subsets() > 0) {
            return packs.stream().filter(p -> Long.parseLong(p.substring(0, 8), 16) % options.subsets() == options.subset() - 1).toList();
        }
        int n = (int) Math.max(1, Math.min(packs.size(), (packs.size() * (long) options.percent() + 99) / 100));
        List<String> shuffled = new ArrayList<>(packs);
        Collections.shuffle(shuffled, new SecureRandom());
        return shuffled.subList(0, n).stream().sorted().toList();
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
