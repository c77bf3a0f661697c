package dev.sgbackup.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.Operation;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.SinkException;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.sink.NoSuchObjectException;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.transform.Encryption;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A backup whose steps run elsewhere (one process, pod or machine per step, e.g. the Kubernetes executor's worker
 * Jobs) and whose manifest a coordinator commits from their records. The same commit rule as {@link BackupRun}: the
 * manifest is written last, only when every step's record is there and every artifact it lists is in the sink with
 * its recorded stored size.
 *
 * <p>What lives under the backup's data prefix besides the artifacts, in {@code data/<id>/_steps/} (a name no store
 * can have): {@code key.json}, the encrypted backup's data key in its wrapped form (the manifest's clear
 * {@code encryption} parameters, never the key itself), written by the coordinator before any step so every worker
 * encrypts with the same data key; and {@code sNN.json}, the record of the step with ordinal NN: its store's part of
 * the manifest as a one-store manifest (sealed with the data key when encrypted, so no store or artifact name is in
 * clear), plus its status and byte counts; and for a deduplicated backup {@code lease.json}, the key of the
 * coordinator's lock object, whose presence a deduplicated step checks. A record exists only for a completed step. Without a committed manifest
 * all of it is a leftover that {@link Housekeeping#removeLeftovers} removes after the grace period.
 */
final class StepBackup {
    static final String DIR = "_steps/";
    static final String RECORD_FORMAT = "sgbackup-step-record";
    static final String KEY_FORMAT = "sgbackup-step-key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final RunContext ctx;
    private final StepExecutor executor;
    /** The shared leases of the deduplicated backups this engine began and has not committed or abandoned yet. */
    private final Map<String, Lease> leases = new ConcurrentHashMap<>();

    StepBackup(RunContext ctx, StepExecutor executor) {
        this.ctx = ctx;
        this.executor = executor;
    }

    static String keyObject(String backupId) {
        return Layout.dataPrefix(backupId) + DIR + "key.json";
    }

    static final String LEASE_FORMAT = "sgbackup-step-lease";

    /** A deduplicated backup's marker: the key of its coordinator's lock object. */
    static String leaseObject(String backupId) {
        return Layout.dataPrefix(backupId) + DIR + "lease.json";
    }

    static String recordKey(String backupId, int ordinal) {
        return Layout.dataPrefix(backupId) + DIR + String.format(Locale.ROOT, "s%02d.json", ordinal);
    }

    /** A running step's progress object: its bytes so far, rewritten every {@link #progressEvery()}. */
    static String progressKey(String backupId, int ordinal) {
        return Layout.dataPrefix(backupId) + DIR + String.format(Locale.ROOT, "s%02d.progress", ordinal);
    }

    static final String PROGRESS_FORMAT = "sgbackup-step-progress";
    /** System property: milliseconds between a step's progress objects (default 10 s; tests shorten it). */
    static final String PROGRESS_PROPERTY = "sgbackup.stepProgressMillis";

    static Duration progressEvery() {
        return Duration.ofMillis(Math.max(10, Long.getLong(PROGRESS_PROPERTY, 10_000)));
    }

    /**
     * Before any step: with a passphrase or key, a new data key, stored wrapped for the workers. A deduplicated
     * backup also takes its shared lease here (kept by this engine until {@link #commit} or {@link #abandon}: its
     * steps' new chunks are referenced by no committed backup until then, and the lease keeps a prune from collecting
     * them) and opens the repository, creating it if the sink has none, so its workers do not race to create it.
     */
    void begin(String backupId) {
        Layout.checkBackupId(backupId);
        if (committed(backupId)) {
            throw new InvalidInputException("backup " + backupId + " is already committed");
        }
        // begun once only: a second begin would take a new lease, and the steps run under the first may have lost
        // theirs to a prune in between
        boolean begun = leases.containsKey(backupId);
        try {
            begun |= ctx.sink().listAll(Layout.dataPrefix(backupId) + DIR).findAny().isPresent();
        } catch (RuntimeException e) {
            throw new SinkException("listing " + Layout.dataPrefix(backupId) + DIR + " in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        if (begun) {
            throw new InvalidInputException("backup " + backupId + " was begun already (" + Layout.dataPrefix(backupId) + DIR + " holds its"
                    + " objects): abandon it (abandonStepBackup) and begin a backup with a new id");
        }
        Lease lease = ctx.dedup().enabled() ? Lease.shared(ctx.sink(), "backup " + backupId, ctx.dedup().retryLock()) : null;
        try {
            if (lease != null) {
                try {
                    ctx.dedup().repository(true);
                } catch (IOException e) {
                    throw new SinkException("opening the deduplicated repository in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
                }
                // names the coordinator's lock object: a deduplicated step runs only while it is there
                ObjectNode marker = JSON.createObjectNode();
                marker.put("format", LEASE_FORMAT);
                marker.put("backupId", backupId);
                marker.put("lock", lease.key());
                write(leaseObject(backupId), marker);
            }
            Encryption.DataKey dataKey = ctx.keys().newDataKey();
            if (dataKey != null) {
                ObjectNode root = JSON.createObjectNode();
                root.put("format", KEY_FORMAT);
                root.put("backupId", backupId);
                ObjectNode p = root.putObject("encryption");
                dataKey.parameters().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> p.put(e.getKey(), e.getValue()));
                write(keyObject(backupId), root);
            }
        } catch (RuntimeException e) {
            if (lease != null) {
                lease.close();
            }
            throw e;
        }
        if (lease != null) {
            Lease before = leases.put(backupId, lease);
            if (before != null) {
                before.close();
            }
        }
    }

    /** One step: its artifacts, then its record; on failure what it wrote is removed and nothing is recorded. */
    StepResult step(String backupId, int ordinal, DataStore store) {
        Layout.checkBackupId(backupId);
        if (ordinal < 1 || ordinal > 99) {
            throw new InvalidInputException("a step's ordinal is its position in the plan, 1 to 99; got " + ordinal);
        }
        if (committed(backupId)) {
            throw new InvalidInputException("backup " + backupId + " is already committed: a step cannot be added to it");
        }
        Encryption.DataKey dataKey = dataKey(backupId);
        Set<String> written = ConcurrentHashMap.newKeySet();
        Instant started = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Progress progress = ctx.progress(-1, -1);
        ProgressWriter progressWriter = new ProgressWriter(backupId, ordinal, progress, written);
        StepExecutor.BackupRecord r;
        // a deduplicated step holds a shared lease of its own while it loads the index and writes: the coordinator's
        // covers the time from its begin to its commit, this one the worker's writes even if that one was lost
        Lease lease = null;
        String coordinatorLock = ctx.dedup().enabled() ? coordinatorLock(backupId) : null;
        try {
            try {
                if (coordinatorLock != null) {
                    lease = Lease.shared(ctx.sink(), String.format(Locale.ROOT, "backup %s step %02d", backupId, ordinal),
                            ctx.dedup().retryLock());
                    requireCoordinatorLease(backupId, coordinatorLock);
                }
                r = executor.backup(backupId, ordinal, store, dataKey, progress, written);
                if (lease != null) {
                    lease.check(); // lost (this worker suspended past it): a prune may have collected what it reused
                    requireCoordinatorLease(backupId, coordinatorLock);
                }
            } finally {
                progressWriter.stop();
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("interrupted");
            }
            StoreBackup sb = r.stored();
            Manifest one = new Manifest(Manifest.FORMAT_VERSION, backupId, started, Instant.now().truncatedTo(ChronoUnit.MILLIS),
                    Manifest.currentToolVersion(), Scope.CUSTOM.id(), ctx.compression().toString(),
                    dataKey == null ? Map.of() : dataKey.parameters(), List.of(sb));
            ObjectNode root = JSON.createObjectNode();
            root.put("format", RECORD_FORMAT);
            root.put("backupId", backupId);
            root.put("ordinal", ordinal);
            if (dataKey == null) {
                root.put("store", store.name()); // encrypted: the name is in the sealed record only
            }
            root.put("status", "completed");
            root.put("bytes", r.result().bytes());
            root.put("storedBytes", r.result().storedBytes());
            root.put("durationMillis", r.result().duration().toMillis());
            root.set("record", JSON.readTree(one.encode(dataKey)));
            write(recordKey(backupId, ordinal), root);
            written.add(recordKey(backupId, ordinal));
            return r.result();
        } catch (Throwable t) {
            delete(new ArrayList<>(written));
            if (t instanceof StepScheduler.StepFailure f) {
                throw Failures.backup(f.getCause(), store.name());
            }
            throw Failures.backup(t, store.name());
        } finally {
            if (lease != null) {
                lease.close();
            }
        }
    }

    /**
     * Writes a running step's bytes to its progress object every {@link #progressEvery()}, so a coordinator can show
     * them without reaching the worker (the Kubernetes executor's Role needs nothing more). Best effort: a failed
     * write is skipped. The object is plain JSON (format, backup id, ordinal, bytes, time), no store name; the commit
     * removes it with the records, a failed step with what it wrote.
     */
    private final class ProgressWriter {
        private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        private final Thread thread;

        ProgressWriter(String backupId, int ordinal, Progress progress, Set<String> written) {
            String key = progressKey(backupId, ordinal);
            Duration every = progressEvery();
            thread = new Thread(() -> {
                try {
                    while (!stopped.await(every.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                        ObjectNode root = JSON.createObjectNode();
                        root.put("format", PROGRESS_FORMAT);
                        root.put("backupId", backupId);
                        root.put("ordinal", ordinal);
                        root.put("bytes", progress.bytes.get());
                        root.put("at", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
                        try {
                            write(key, root);
                            written.add(key);
                        } catch (RuntimeException e) {
                            System.getLogger("dev.sgbackup").log(System.Logger.Level.DEBUG, "progress of step " + ordinal + " not written: "
                                    + e.getMessage());
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "sgbackup-step-progress");
            thread.setDaemon(true);
            thread.start();
        }

        /** Stops it and waits for a write in progress, so nothing is written after the step's record or its cleanup. */
        void stop() {
            stopped.countDown();
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A step's bytes: its record's when it completed, else its last progress object's; empty when neither exists. */
    java.util.OptionalLong bytes(String backupId, int ordinal) {
        Layout.checkBackupId(backupId);
        Optional<JsonNode> record = read(recordKey(backupId, ordinal));
        if (record.isPresent() && record.get().path("bytes").isNumber()) {
            return java.util.OptionalLong.of(record.get().path("bytes").asLong());
        }
        Optional<JsonNode> p = read(progressKey(backupId, ordinal));
        if (p.isPresent() && PROGRESS_FORMAT.equals(p.get().path("format").asText()) && p.get().path("bytes").isNumber()) {
            return java.util.OptionalLong.of(p.get().path("bytes").asLong());
        }
        return java.util.OptionalLong.empty();
    }

    /**
     * The commit: every step's record read and checked, then the one manifest. {@code stores} are the plan's stores
     * in order (ordinal = position + 1). Throws, committing nothing, when a record is missing or does not match.
     */
    RunResult commit(String backupId, Instant startedAt, Scope scope, List<String> stores) {
        Layout.checkBackupId(backupId);
        if (stores.isEmpty()) {
            throw new InvalidInputException("a backup needs at least one step");
        }
        Encryption.DataKey dataKey = dataKey(backupId);
        List<StoreBackup> done = new ArrayList<>();
        List<StepResult> results = new ArrayList<>();
        String compression = null;
        boolean deduplicated = false;
        Map<String, Long> sizes = new LinkedHashMap<>();
        try {
            ctx.sink().listAll(Layout.dataPrefix(backupId)).forEach(o -> sizes.put(o.key(), o.size()));
        } catch (RuntimeException e) {
            throw new SinkException("listing " + Layout.dataPrefix(backupId) + " in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        for (int i = 0; i < stores.size(); i++) {
            String name = stores.get(i);
            String key = recordKey(backupId, i + 1);
            JsonNode root = read(key).orElseThrow(() -> new IntegrityException("step " + name + " of backup " + backupId
                    + " left no record (" + key + "): it did not finish; nothing was committed"));
            if (!RECORD_FORMAT.equals(root.path("format").asText()) || !backupId.equals(root.path("backupId").asText())
                    || root.path("ordinal").asInt() != i + 1 || !"completed".equals(root.path("status").asText())) {
                throw new IntegrityException(key + " is not the completed record of step " + (i + 1) + " of backup " + backupId);
            }
            byte[] inner;
            try {
                inner = JSON.writeValueAsBytes(root.get("record"));
            } catch (IOException e) {
                throw new IntegrityException(key + ": unreadable record: " + e.getMessage(), e);
            }
            Manifest one = Manifest.decode(inner, key, dataKey == null ? null : p -> {
                if (!p.equals(dataKey.parameters())) {
                    throw new IntegrityException(key + " was sealed with another data key than backup " + backupId + "'s");
                }
                return dataKey;
            });
            if (!one.id().equals(backupId) || one.stores().size() != 1 || !one.stores().get(0).name().equals(name)
                    || one.encrypted() != (dataKey != null)) {
                throw new IntegrityException(key + " records " + one.storeNames() + " of backup " + one.id() + ", not step " + name
                        + " of " + backupId);
            }
            if (compression == null) {
                compression = one.compression();
            } else if (!compression.equals(one.compression())) {
                throw new IntegrityException("the steps of backup " + backupId + " used different compressions (" + compression + ", "
                        + one.compression() + ")");
            }
            StoreBackup sb = one.stores().get(0);
            for (ArtifactInfo a : sb.artifacts()) {
                if (a.deduplicated()) {
                    deduplicated = true;
                    checkTree(name, a);
                    continue;
                }
                Long size = sizes.get(a.key());
                if (size == null || size != a.storedSize()) {
                    throw new IntegrityException("step " + name + ": artifact " + a.key() + (size == null ? " is missing from the sink"
                            : " has " + size + " bytes in the sink, the record says " + a.storedSize()) + "; nothing was committed");
                }
            }
            done.add(sb);
            // a deduplicated step's stored bytes are its trees and the packs it added (its record's), not its trees only
            long stored = root.path("storedBytes").isNumber() ? root.path("storedBytes").asLong() : sb.storedSize();
            results.add(new StepResult(name, sb.kind(), StepResult.Status.COMPLETED, sb.artifacts().size(), sb.size(), stored,
                    Duration.ofMillis(root.path("durationMillis").asLong()), null, sb.warnings()));
        }
        if (deduplicated) {
            Lease lease = leases.get(backupId);
            if (lease == null) {
                throw new InvalidInputException("backup " + backupId + " has deduplicated steps, and this engine did not begin it (or"
                        + " it was committed or abandoned since): only the engine that began it holds the lease that kept prune from"
                        + " collecting the steps' chunks until the commit; nothing was committed. Begin, run the steps and commit with"
                        + " one engine (the Kubernetes executor does), or abandon this backup");
            }
            lease.check(); // lost (e.g. this process was suspended past it): a prune may have run; commit nothing
        }
        Manifest m = new Manifest(Manifest.FORMAT_VERSION, backupId, startedAt.truncatedTo(ChronoUnit.MILLIS),
                Instant.now().truncatedTo(ChronoUnit.MILLIS), Manifest.currentToolVersion(), scope.id(), compression,
                dataKey == null ? Map.of() : dataKey.parameters(), done);
        byte[] json = m.encode(dataKey);
        try (PendingObject o = ctx.sink().create(Layout.manifestKey(backupId), json.length)) {
            o.stream().write(json);
            o.commit();
        } catch (IOException e) {
            throw new SinkException("writing the manifest failed: " + e.getMessage() + "; nothing was committed", e);
        }
        // committed: the records and the wrapped data key are redundant now (the manifest holds both); the key object
        // must not outlive a passphrase change, which rewraps manifests only
        List<String> steps = new ArrayList<>(sizes.keySet().stream().filter(k -> k.startsWith(Layout.dataPrefix(backupId) + DIR)).toList());
        delete(steps);
        release(backupId);
        ctx.progress(-1, -1).emit(ProgressEvent.Type.RUN_FINISHED, null, null, "committed " + backupId);
        return new RunResult(Operation.BACKUP, backupId, true, results, Duration.between(startedAt, Instant.now()));
    }

    /** A backup that will not be committed: everything under its data prefix removed; returns how many objects. */
    long abandon(String backupId) {
        Layout.checkBackupId(backupId);
        release(backupId); // first, whatever fails below: its chunks and trees are garbage now, prune collects them
        if (committed(backupId)) {
            throw new InvalidInputException("backup " + backupId + " is committed: delete it with 'sgbackup delete'");
        }
        List<String> keys = new ArrayList<>();
        try {
            ctx.sink().listAll(Layout.dataPrefix(backupId)).map(ObjectInfo::key).forEach(keys::add);
            ctx.sink().deleteAll(keys);
        } catch (IOException | RuntimeException e) {
            throw new SinkException("removing " + Layout.dataPrefix(backupId) + " from " + ctx.sink().uri() + " failed (prune removes it"
                    + " after the grace period): " + e.getMessage(), e);
        }
        return keys.size();
    }

    /** The lock object key the coordinator of deduplicated backup {@code backupId} recorded when it began it. */
    private String coordinatorLock(String backupId) {
        JsonNode m = read(leaseObject(backupId)).orElseThrow(() -> new InvalidInputException("backup " + backupId + " was not begun as"
                + " a deduplicated backup (no " + leaseObject(backupId) + "): its coordinator holds the lease that keeps prune from"
                + " collecting the steps' chunks until the commit, so begin it with a deduplicated engine (--dedup on the coordinator)"));
        String lock = m.path("lock").asText("");
        if (!LEASE_FORMAT.equals(m.path("format").asText()) || !backupId.equals(m.path("backupId").asText())
                || !lock.startsWith(dev.sgbackup.sink.SinkLock.PREFIX)) {
            throw new IntegrityException(leaseObject(backupId) + " is not the lease marker of backup " + backupId);
        }
        return lock;
    }

    /** Throws unless the coordinator's lock object is still in the sink (else it stopped, or lost its lease). */
    private void requireCoordinatorLease(String backupId, String lock) {
        boolean there;
        try {
            there = ctx.sink().stat(lock).isPresent();
        } catch (IOException e) {
            throw new SinkException("reading " + lock + " in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        if (!there) {
            throw new dev.sgbackup.sink.SinkLock.LockedException("the lease of backup " + backupId + "'s coordinator (" + lock + ") is"
                    + " gone: the coordinator stopped or lost it, and a prune may have run; this step records nothing. Run the backup"
                    + " again");
        }
    }

    /** Ends the lease this engine holds for a deduplicated backup it began, if any. */
    private void release(String backupId) {
        Lease lease = leases.remove(backupId);
        if (lease != null) {
            lease.close();
        }
    }

    /** Ends every lease this engine still holds (the engine is closing: its uncommitted backups cannot be committed). */
    void close() {
        for (String id : List.copyOf(leases.keySet())) {
            release(id);
        }
    }

    /** A deduplicated artifact of step {@code name}: its tree object is in the sink with the recorded size. */
    private void checkTree(String name, ArtifactInfo a) {
        Optional<ObjectInfo> tree;
        try {
            tree = ctx.sink().stat(a.key());
        } catch (IOException e) {
            throw new SinkException("reading " + a.key() + " in " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
        if (tree.isEmpty() || tree.get().size() != a.storedSize()) {
            throw new IntegrityException("step " + name + ": the tree object " + a.key() + " of artifact " + a.name() + (tree.isEmpty()
                    ? " is missing from the sink" : " has " + tree.get().size() + " bytes in the sink, the record says " + a.storedSize())
                    + "; nothing was committed");
        }
    }

    private boolean committed(String backupId) {
        try {
            return ctx.sink().stat(Layout.manifestKey(backupId)).isPresent();
        } catch (IOException e) {
            throw new SinkException("reading " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
    }

    /** The backup's data key from its key object, or null when it is not encrypted (which must match the passphrase). */
    private Encryption.DataKey dataKey(String backupId) {
        Optional<JsonNode> k = read(keyObject(backupId));
        if (k.isEmpty()) {
            if (ctx.keys().present()) {
                throw new InvalidInputException("backup " + backupId + " has no data key object (" + keyObject(backupId) + "): its"
                        + " coordinator did not start it encrypted, or has not started it; a step of it cannot be encrypted");
            }
            return null;
        }
        JsonNode root = k.get();
        if (!KEY_FORMAT.equals(root.path("format").asText()) || !backupId.equals(root.path("backupId").asText())) {
            throw new IntegrityException(keyObject(backupId) + " is not the data key object of backup " + backupId);
        }
        Map<String, String> p = new LinkedHashMap<>();
        root.path("encryption").fields().forEachRemaining(e -> p.put(e.getKey(), e.getValue().asText()));
        return ctx.keys().unlock(backupId, p);
    }

    private Optional<JsonNode> read(String key) {
        try (InputStream in = ctx.sink().read(key)) {
            return Optional.of(JSON.readTree(in));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IntegrityException(key + " is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SinkException("reading " + key + " from " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
    }

    private void write(String key, JsonNode root) {
        byte[] bytes;
        try {
            bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        try (PendingObject o = ctx.sink().create(key, bytes.length)) {
            o.stream().write(bytes);
            o.commit();
        } catch (IOException e) {
            throw new SinkException("writing " + key + " to " + ctx.sink().uri() + " failed: " + e.getMessage(), e);
        }
    }

    private void delete(List<String> keys) {
        boolean wasInterrupted = Thread.interrupted();
        try {
            ctx.sink().deleteAll(keys);
        } catch (Exception e) {
            System.getLogger("dev.sgbackup").log(System.Logger.Level.WARNING, "could not remove what a failed step wrote (prune removes"
                    + " it later): " + e.getMessage());
        } finally {
            if (wasInterrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
