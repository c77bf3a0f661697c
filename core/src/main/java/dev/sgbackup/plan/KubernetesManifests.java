package dev.sgbackup.plan;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.KubernetesOptions.Snapshots;
import dev.sgbackup.run.Operation;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.RestoreOptions;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Kubernetes executor's objects as YAML, built from a plan and the instance file of a Helm release
 * ({@code sgbackup discover --kubernetes}), without touching a cluster or a sink: one Job per step, each running the
 * sgbackup image's {@code worker} command for that one step, and the coordinator's Role and RoleBinding. What
 * {@code --executor kubernetes --emit-manifests DIR} writes, so placement, tolerations, security context and
 * {@code secretKeyRef}s can be checked by anyone before a run (docs/kubernetes.md).
 *
 * <pre>{@code
 * InstanceDescription d = InstanceDescription.fromJson(Files.readString(Path.of("instance.json")));
 * MigrationPlan plan = KubernetesManifests.backupPlan(d, Scope.ALL, "s3://bucket/sourcegraph", null);
 * KubernetesManifests.Result r = KubernetesManifests.of(d, plan, KubernetesManifests.newBackupId(Instant.now()),
 *         KubernetesManifests.Options.of("sourcegraph", "registry.example.com/sgbackup:0.1.0"));
 * }</pre>
 *
 * Needs {@code io.fabric8:kubernetes-client} on the class path, as Kubernetes discovery does (bundled in the CLI).
 */
public final class KubernetesManifests {
    /** Where a worker mounts a volume step's PVC: {@code /data/<store>}, as the plan's volume stores say. */
    public static final String WORKER_DATA_DIR = "/data";
    /** The coordinator's Role and RoleBinding. */
    public static final String COORDINATOR_ROLE = "sgbackup-coordinator";

    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final Pattern ID = Pattern.compile("[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    private static final SecureRandom RANDOM = new SecureRandom();
    static final List<String> CLIENT_CLASSES = List.of("io.fabric8.kubernetes.api.model.batch.v1.JobBuilder",
            "io.fabric8.kubernetes.api.model.rbac.RoleBuilder", "io.fabric8.kubernetes.client.utils.Serialization");

    private KubernetesManifests() {
    }

    /**
     * What every Job of a run shares.
     *
     * @param namespace          the release's namespace (its PVCs and Secrets are there)
     * @param image              the sgbackup image, the same the coordinator runs (a tag or digest of one version)
     * @param imagePullSecrets   pull secrets for that image, added to those of the workload each Job inherits
     * @param serviceAccount     the workers' ServiceAccount (the sink's cloud identity: IRSA, Workload Identity), or null
     * @param workerSecret       the Secret whose keys become each worker's environment (sink credentials,
     *                           SGBACKUP_PASSPHRASE), or null
     * @param jobTimeout         a Job's deadline ({@code activeDeadlineSeconds}), or null for none
     * @param coordinatorAccount the coordinator's ServiceAccount, the subject of its RoleBinding
     * @param compression        a backup's compression as {@code --compression} takes it, or null for the default
     * @param encrypt            whether a backup is encrypted (the passphrase reaches workers through the worker Secret)
     * @param dedup              whether a backup is deduplicated: each worker backs up its store into the sink's
     *                           repository, from that store's parent ({@code --dedup}; docs/dedup.md)
     * @param forceRead          a deduplicated backup's workers read every file ({@code --force-read})
     * @param retryLock          how long a deduplicated backup's workers wait for a prune's lease to end
     *                           ({@code --retry-lock}), or null (zero: they fail at once)
     */
    public record Options(String namespace, String image, List<String> imagePullSecrets, String serviceAccount, String workerSecret,
                          Duration jobTimeout, String coordinatorAccount, String compression, boolean encrypt, boolean dedup,
                          boolean forceRead, Duration retryLock) {
        /** Options of a full (not deduplicated) backup, or of a restore. */
        public Options(String namespace, String image, List<String> imagePullSecrets, String serviceAccount, String workerSecret,
                       Duration jobTimeout, String coordinatorAccount, String compression, boolean encrypt) {
            this(namespace, image, imagePullSecrets, serviceAccount, workerSecret, jobTimeout, coordinatorAccount, compression, encrypt,
                    false, false, null);
        }

        public Options {
            if (forceRead && !dedup) {
                throw new InvalidInputException("forceRead applies to deduplicated backups (dedup); a full backup reads every file anyway");
            }
            if (retryLock != null && (retryLock.isNegative() || retryLock.isZero())) {
                retryLock = null;
            }
            dnsLabel("namespace", namespace);
            if (image == null || image.isBlank() || image.chars().anyMatch(Character::isWhitespace)) {
                throw new InvalidInputException("the image must be a non-empty image reference, e.g. registry.example.com/sgbackup:0.1.0");
            }
            imagePullSecrets = imagePullSecrets == null ? List.of() : List.copyOf(imagePullSecrets);
            imagePullSecrets.forEach(n -> dnsSubdomain("image pull secret", n));
            if (serviceAccount != null) {
                dnsSubdomain("service account", serviceAccount);
            }
            if (workerSecret != null) {
                dnsSubdomain("worker secret", workerSecret);
            }
            if (jobTimeout != null && (jobTimeout.isNegative() || jobTimeout.toSeconds() < 1)) {
                throw new InvalidInputException("the job timeout must be at least one second, was " + jobTimeout);
            }
            dnsSubdomain("coordinator service account", Objects.requireNonNull(coordinatorAccount, "coordinatorAccount"));
        }

        /** No pull secret, no worker identity, no timeout, the coordinator as ServiceAccount {@code sgbackup}. */
        public static Options of(String namespace, String image) {
            return new Options(namespace, image, List.of(), null, null, null, "sgbackup", null, false);
        }
    }

    /**
     * One object as YAML.
     *
     * @param file the file name {@code --emit-manifests} gives it: {@code job-<store>.yaml}, {@code snapshot-<store>.yaml},
     *             {@code clone-<store>.yaml}, {@code role.yaml}, {@code rolebinding.yaml}
     * @param kind {@code Job}, {@code VolumeSnapshot}, {@code PersistentVolumeClaim}, {@code Role} or {@code RoleBinding}
     * @param name the object's name
     * @param yaml the object
     */
    public record Manifest(String file, String kind, String name, String yaml) {
    }

    /**
     * The objects of a run, Jobs in plan order, then the Role and RoleBinding.
     *
     * @param backupId  the backup the Jobs write (a backup) or read (a restore)
     * @param manifests the objects
     * @param notes     what the plan should say: copies that are not point-in-time, inherited settings that were missing
     */
    public record Result(String backupId, List<Manifest> manifests, List<String> notes) {
        public Result {
            manifests = List.copyOf(manifests);
            notes = List.copyOf(notes);
        }
    }

    /** A new backup id as the engine makes them: the UTC time and six random hex digits, e.g. {@code 20261125T170744Z-3fa9c1}. */
    public static String newBackupId(Instant now) {
        byte[] r = new byte[3];
        RANDOM.nextBytes(r);
        return ID_TIME.format(now) + "-" + HexFormat.of().formatHex(r);
    }

    /**
     * A backup plan over the instance file's stores, as the workers see them: each PVC volume at
     * {@code /data/<store>} (its Job mounts it there), each database by its JDBC URL, the configuration through the
     * frontend database. Reads nothing: no database, no directory, no sink (sizes are unknown: -1).
     */
    public static MigrationPlan backupPlan(InstanceDescription d, Scope scope, String sink, String compression) {
        Instance.Selection sel = workerInstance(d).select(scope);
        if (sel.stores().isEmpty()) {
            throw new InvalidInputException("nothing to back up for scope " + scope.id() + ": "
                    + (sel.notes().isEmpty() ? "the instance file names no store for it" : String.join("; ", sel.notes())));
        }
        List<PlanStep> steps = new ArrayList<>();
        for (DataStore s : sel.stores()) {
            steps.add(new PlanStep(s.name(), s.kind().id(), PlanStep.Action.BACKUP, sel.holds().getOrDefault(s.name(), s.describe()),
                    sel.recreatable().get(s.name()), -1, null));
        }
        steps.addAll(sel.leftOut());
        List<String> notes = new ArrayList<>(sel.notes());
        notes.addAll(d.notes().stream().filter(n -> !n.contains("no Kubernetes executor mounts it")).toList());
        return new MigrationPlan(Operation.BACKUP, sink, null, scope, compression == null ? "(the worker's default compression)" : compression,
                RestoreOptions.defaults(), steps, sel.stores(), notes);
    }

    /**
     * A restore plan into the instance file's stores: its databases and PVC volumes of the phase(s) asked for, in
     * phase order with the checkpoints as notes. Without the backup's manifest (no sink is read) each store is
     * matched by name when the worker runs; the configuration is restored with the frontend database.
     */
    public static MigrationPlan restorePlan(InstanceDescription d, String backupId, String sink, RestoreOptions options, Phase phase) {
        checkBackupId(backupId);
        Instance instance = workerInstance(d);
        List<PlanStep> steps = new ArrayList<>();
        List<DataStore> stores = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Phase p : List.of(Phase.DB, Phase.VOLUMES)) {
            if (!phase.includes(p)) {
                continue;
            }
            boolean any = false;
            List<String> names = p == Phase.DB ? instance.databases().stream().map(Instance.Database::name).toList()
                    : instance.volumes().stream().map(Instance.Volume::name).toList();
            for (String n : names) {
                DataStore t = instance.target(n, p == Phase.DB ? "postgres" : "volume");
                steps.add(new PlanStep(n, t.kind().id(), PlanStep.Action.RESTORE, t.describe(), null, -1, null));
                stores.add(t);
                any = true;
            }
            if (any) {
                notes.add("checkpoint before phase " + p.name().toLowerCase(Locale.ROOT) + ": " + p.checkpoint());
            }
        }
        if (steps.isEmpty()) {
            throw new InvalidInputException("nothing to restore in phase " + phase.name().toLowerCase(Locale.ROOT) + ": the instance file"
                    + " names no database or PVC volume for it");
        }
        notes.add("configuration: restored with the frontend database (a backup's frontend database carries it); no separate Job");
        return new MigrationPlan(Operation.RESTORE, sink, backupId, Scope.CUSTOM, "", options, steps, stores, notes);
    }

    /** The instance file's stores as a worker sees them: PVC volumes at /data/<store>, databases without passwords. */
    private static Instance workerInstance(InstanceDescription d) {
        Instance.Builder b = d.toInstance(v -> null);
        for (InstanceDescription.Store s : d.stores()) {
            InstanceDescription.Location l = s.location();
            boolean volume = !InstanceDescription.POSTGRES.equals(s.kind()) && !InstanceDescription.CACHE.equals(s.kind())
                    && !InstanceDescription.FILES.equals(s.kind()) && !InstanceDescription.kindId(VolumeKind.REDIS).equals(s.kind());
            if (volume && l != null && l.pvc() != null && l.directory() == null) {
                b.volume(s.name(), Path.of(WORKER_DATA_DIR, s.name()), VolumeKind.guess(s.kind()));
            }
        }
        if (d.stores().stream().anyMatch(s -> s.name().equals("frontend") && InstanceDescription.POSTGRES.equals(s.kind()))) {
            b.configFromDatabase(true);
        }
        return b.build();
    }

    /**
     * The Jobs of a plan's steps (skipped steps have none) and the coordinator's Role and RoleBinding; every volume
     * read live ({@link Snapshots#OFF}).
     *
     * @param backupId for a backup, the id the run will commit (see {@link #newBackupId}); for a restore, the plan's
     * @throws InvalidInputException when a step cannot run as a Job (a ReadWriteOncePod volume, a password that comes
     *                               from no Secret…), naming the step and why
     */
    public static Result of(InstanceDescription d, MigrationPlan plan, String backupId, Options o) {
        return of(d, plan, backupId, o, Snapshots.OFF);
    }

    /**
     * The Jobs of a plan's steps, and for each backup volume step read from a CSI snapshot its VolumeSnapshot
     * ({@code snapshot-<store>.yaml}) and the claim cloned from it ({@code clone-<store>.yaml}), before its Job; then
     * the Role (with the snapshot rules when a step uses one) and RoleBinding.
     *
     * @throws InvalidInputException also when {@code snapshots} is {@link Snapshots#REQUIRED} and a backup volume
     *                               step's claim has no snapshot class, naming those claims
     */
    public static Result of(InstanceDescription d, MigrationPlan plan, String backupId, Options o, Snapshots snapshots) {
        requireClient();
        Objects.requireNonNull(snapshots, "snapshots");
        checkBackupId(backupId);
        if (plan.operation() == Operation.RESTORE && !backupId.equals(plan.backupId())) {
            throw new InvalidInputException("the restore plan reads backup " + plan.backupId() + ", not " + backupId);
        }
        String sink = plan.sink();
        if (sink == null || !(sink.startsWith("s3://") || sink.startsWith("gs://"))) {
            throw new InvalidInputException("the Kubernetes executor needs an s3:// or gs:// sink: a worker's " + (sink == null ? "sink"
                    : sink.replaceAll("^([a-z0-9]+://).*", "$1")) + " path would be inside its own pod");
        }
        KubernetesJobs.Settings s = new KubernetesJobs.Settings(o.namespace(), o.image(), o.imagePullSecrets(), o.serviceAccount(),
                o.workerSecret(), o.jobTimeout() == null ? null : o.jobTimeout().toSeconds(), o.compression(), o.encrypt(),
                snapshots != Snapshots.OFF, o.dedup(), o.forceRead(), o.retryLock());
        if (snapshots == Snapshots.REQUIRED && plan.operation() == Operation.BACKUP) {
            List<String> without = new ArrayList<>();
            for (PlanStep step : plan.steps()) {
                if (step.action() == PlanStep.Action.SKIP || !"volume".equals(step.kind())) {
                    continue;
                }
                InstanceDescription.Location l = d.stores().stream().filter(x -> x.name().equals(step.store())).findFirst()
                        .map(InstanceDescription.Store::location).orElse(null);
                InstanceDescription.Storage st = l == null ? null : l.storage();
                if (st == null || st.snapshotClass() == null || st.size() == null) {
                    without.add((l == null || l.pvc() == null ? step.store() : l.pvc()) + (st == null || st.storageClass() == null
                            ? " (no StorageClass recorded)" : " (StorageClass " + st.storageClass() + (st.csiDriver() == null ? ""
                            : ", driver " + st.csiDriver()) + ")"));
                }
            }
            if (!without.isEmpty()) {
                throw new InvalidInputException("--snapshots required: no VolumeSnapshotClass for the CSI driver of PVC(s) "
                        + String.join(", ", without) + " in the instance file; install one (snapshot.storage.k8s.io/v1, driver = the"
                        + " StorageClass's provisioner) and discover again, or use --snapshots auto");
            }
        }
        boolean anySnapshot = false;
        List<Manifest> out = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Set<String> files = new LinkedHashSet<>();
        for (PlanStep step : plan.steps()) {
            if (step.action() == PlanStep.Action.SKIP) {
                continue;
            }
            KubernetesJobs.StepJob j = KubernetesJobs.job(plan.operation(), sink, backupId, files.size() + 1, plan.options().replace(), step,
                    d, s);
            String file = "job-" + step.store() + ".yaml";
            if (!files.add(file)) {
                throw new InvalidInputException("two steps of the plan are named " + step.store());
            }
            if (j.snapshot() != null) {
                anySnapshot = true;
                out.add(new Manifest("snapshot-" + step.store() + ".yaml", "VolumeSnapshot", j.snapshot().getMetadata().getName(),
                        KubernetesJobs.yaml(j.snapshot())));
                out.add(new Manifest("clone-" + step.store() + ".yaml", "PersistentVolumeClaim", j.cloneClaim().getMetadata().getName(),
                        KubernetesJobs.yaml(j.cloneClaim())));
            }
            out.add(new Manifest(file, "Job", j.job().getMetadata().getName(), KubernetesJobs.yaml(j.job())));
            notes.addAll(j.notes());
        }
        if (out.isEmpty()) {
            throw new InvalidInputException("the plan has no step to run");
        }
        if (o.encrypt() && o.workerSecret() == null) {
            notes.add("encrypted backup without --worker-secret: the workers have no SGBACKUP_PASSPHRASE and will fail");
        }
        out.add(new Manifest("role.yaml", "Role", COORDINATOR_ROLE, KubernetesJobs.yaml(KubernetesJobs.role(o.namespace(), COORDINATOR_ROLE,
                anySnapshot))));
        out.add(new Manifest("rolebinding.yaml", "RoleBinding", COORDINATOR_ROLE,
                KubernetesJobs.yaml(KubernetesJobs.roleBinding(o.namespace(), COORDINATOR_ROLE, o.coordinatorAccount()))));
        return new Result(backupId, out, notes);
    }

    private static void requireClient() {
        for (String c : CLIENT_CLASSES) {
            try {
                Class.forName(c, false, KubernetesManifests.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new InvalidInputException("the Kubernetes executor needs io.fabric8:kubernetes-client on the classpath (its"
                        + " model and serialisation); the CLI bundles it");
            }
        }
    }

    private static void checkBackupId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidInputException("'" + id + "' is not a backup id; ids look like 20261125T170744Z-3fa9c1");
        }
    }

    private static void dnsLabel(String what, String v) {
        if (v == null || v.length() > 63 || !DNS_LABEL.matcher(v).matches()) {
            throw new InvalidInputException("the " + what + " '" + v + "' is not a Kubernetes name (lower-case letters, digits and '-',"
                    + " at most 63)");
        }
    }

    private static void dnsSubdomain(String what, String v) {
        if (v == null || v.length() > 253 || !DNS_SUBDOMAIN.matcher(v).matches()) {
            throw new InvalidInputException("the " + what + " '" + v + "' is not a Kubernetes name (lower-case letters, digits, '-'"
                    + " and '.')");
        }
    }
}
