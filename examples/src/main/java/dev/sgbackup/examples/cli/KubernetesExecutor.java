package dev.sgbackup.examples.cli;

import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Retention;
import dev.sgbackup.run.Executor;
import dev.sgbackup.run.KubernetesOptions;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.plan.InstanceDescription;
import dev.sgbackup.plan.KubernetesManifests;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.Scope;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.Phase;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.transform.Compression;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code backup|restore --executor kubernetes}: each step of the plan as a Kubernetes Job running this image's
 * {@code worker} command (docs/kubernetes.md). With {@code --emit-manifests DIR} it writes the Jobs and the
 * coordinator's Role as YAML and nothing else: it reads the {@code --instance} file only, touches no cluster and no
 * sink. Without it this command is the coordinator, through core's {@link Executor#kubernetes}: it runs the Jobs and
 * commits the backup from their step records, or removes what they wrote.
 */
final class KubernetesExecutor {
    /** The executor flags, for backup and restore. */
    static final Set<String> VALUE_FLAGS = Set.of("--executor", "--namespace", "--image", "--image-pull-secret", "--service-account",
            "--worker-secret", "--max-jobs", "--job-timeout", "--emit-manifests", "--kubeconfig", "--context", "--pending-timeout",
            "--snapshots");
    /** How long a Job's pod may stay Pending before the run gives up, without --pending-timeout. */
    static final Duration DEFAULT_PENDING_TIMEOUT = KubernetesOptions.DEFAULT_PENDING_TIMEOUT;
    /** Flags the Kubernetes executor does not take (yet): the instance file names the stores, the workers their options. */
    private static final List<String> NOT_WITH_KUBERNETES = List.of("--volume", "--postgres", "--sourcegraph", "--sourcegraph-db",
            "--exclude", "--tables", "--postgres-mode", "--secrets", "--pg-restore-jobs", "--dry-run", "--json", "--report",
            "--external-postgres", "--external-redis");

    private KubernetesExecutor() {
    }

    /** A command's value flags and the executor's. */
    static Set<String> withFlags(Set<String> own) {
        Set<String> all = new java.util.HashSet<>(own);
        all.addAll(VALUE_FLAGS);
        return Set.copyOf(all);
    }

    /** With {@code --executor kubernetes}: whether this class runs the command; a local run rejects the executor's flags. */
    static boolean selected(Args a) {
        String e = a.one("--executor");
        if (e == null || e.equals("local")) {
            for (String f : VALUE_FLAGS) {
                if (!f.equals("--executor") && a.has(f)) {
                    throw new Args.UsageException(f + " is for --executor kubernetes (the default executor is local)");
                }
            }
            return false;
        }
        if (!e.equals("kubernetes")) {
            throw new Args.UsageException("--executor takes local (the default) or kubernetes, not '" + e + "'");
        }
        return true;
    }

    static int run(Session s, Args a) {
        boolean emit = a.one("--emit-manifests") != null;
        if (emit && (a.has("--kubeconfig") || a.has("--context") || a.has("--pending-timeout"))) {
            throw new Args.UsageException("--emit-manifests touches no cluster: --kubeconfig, --context and --pending-timeout are for"
                    + " the coordinator");
        }
        for (String f : NOT_WITH_KUBERNETES) {
            if (a.has(f)) {
                throw new Args.UsageException(f + " is not supported with --executor kubernetes: the --instance file names the stores");
            }
        }
        boolean dedup = a.command.equals("backup") && a.has("--dedup");
        Duration retryLock = EngineFlags.retryLock(a); // the workers' too
        String ns = a.required("--namespace");
        String image = a.required("--image");
        String file = a.one("--instance");
        if (file == null) {
            throw new Args.UsageException("--executor kubernetes needs --instance FILE (from 'sgbackup discover --kubernetes'): the"
                    + " release's PVCs, nodes and database secrets");
        }
        Integer maxJobs = null;
        if (a.one("--max-jobs") != null) {
            try {
                maxJobs = Integer.parseInt(a.one("--max-jobs"));
            } catch (NumberFormatException e) {
                maxJobs = 0;
            }
            if (maxJobs < 1) {
                throw new Args.UsageException("--max-jobs takes a positive number, got '" + a.one("--max-jobs") + "'");
            }
        }
        Duration timeout = null;
        if (a.one("--job-timeout") != null) {
            try {
                timeout = Retention.parseDuration(a.one("--job-timeout"));
            } catch (InvalidInputException e) {
                throw new Args.UsageException("--job-timeout: " + e.getMessage());
            }
        }
        String compression = a.one("--compression");
        if (compression != null) {
            try {
                Compression.parse(compression);
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        Duration pendingTimeout = DEFAULT_PENDING_TIMEOUT;
        if (a.one("--pending-timeout") != null) {
            try {
                pendingTimeout = Retention.parseDuration(a.one("--pending-timeout"));
            } catch (InvalidInputException e) {
                throw new Args.UsageException("--pending-timeout: " + e.getMessage());
            }
        }
        Path dir = emit ? Path.of(a.required("--emit-manifests")) : null;
        boolean backup = a.command.equals("backup");
        KubernetesOptions.Snapshots snapshots = KubernetesOptions.Snapshots.AUTO;
        if (a.one("--snapshots") != null) {
            if (!backup) {
                throw new Args.UsageException("--snapshots is for backups: a restore writes the PVCs themselves, never a snapshot");
            }
            try {
                snapshots = KubernetesOptions.Snapshots.parse(a.one("--snapshots"));
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        String sink = a.required(backup ? "--to" : "--from");
        InstanceDescription d = DiscoverCommand.instanceFile(s, a);
        if (!"kubernetes".equals(d.deployment().kind())) {
            throw new Args.UsageException("--instance " + file + " describes a " + d.deployment().kind() + " deployment: --executor"
                    + " kubernetes needs one from 'sgbackup discover --kubernetes'");
        }
        KubernetesManifests.Options o;
        try {
            o = new KubernetesManifests.Options(ns, image, a.all("--image-pull-secret"), a.one("--service-account"), a.one("--worker-secret"),
                    timeout, "sgbackup", compression, backup && a.has("--encrypt"), dedup, dedup && a.has("--force-read"), retryLock);
        } catch (InvalidInputException e) {
            throw new Args.UsageException(e.getMessage());
        }
        MigrationPlan plan;
        String id;
        if (backup) {
            Scope scope = Scope.ALL;
            if (a.one("--scope") != null) {
                try {
                    scope = Scope.parse(a.one("--scope"));
                } catch (InvalidInputException e) {
                    throw new Args.UsageException(e.getMessage());
                }
            }
            plan = KubernetesManifests.backupPlan(d, scope, sink, compression);
            id = KubernetesManifests.newBackupId(Instant.now());
        } else {
            id = a.required("--backup");
            Phase phase;
            try {
                phase = a.one("--phase") == null ? Phase.ALL : Phase.parse(a.one("--phase"));
            } catch (InvalidInputException e) {
                throw new Args.UsageException(e.getMessage());
            }
            if (!emit && (phase == Phase.ALL || phase == Phase.CONFIG)) {
                // the databases' and the volumes' Jobs would all start at once, skipping the checkpoint between them
                // (workloads scaled down) that the operator must pass: one phase per run
                throw new Args.UsageException("a restore through Jobs runs one phase at a time: --phase db (the instance scaled"
                        + " down), then --phase volumes (after the checkpoint it prints); the configuration comes with the"
                        + " frontend database");
            }
            plan = KubernetesManifests.restorePlan(d, id, sink, new RestoreOptions(a.has("--replace"), false), phase);
        }
        s.currentPlan = plan;
        KubernetesManifests.Result r = KubernetesManifests.of(d, plan, id, o, backup ? snapshots : KubernetesOptions.Snapshots.OFF);
        if (!emit) {
            return coordinate(s, a, d, plan, backup, maxJobs, timeout, pendingTimeout, snapshots);
        }
        write(dir, r);
        for (KubernetesManifests.Manifest m : r.manifests()) {
            s.out.println(dir.resolve(m.file()) + " " + m.kind() + " " + m.name());
        }
        plan.notes().forEach(n -> s.err.println("note: " + n));
        r.notes().forEach(n -> s.err.println("note: " + n));
        if (r.manifests().stream().anyMatch(m -> m.kind().equals("VolumeSnapshot"))) {
            s.err.println("note: applied by hand, the VolumeSnapshots and their clone PVCs stay after the Jobs (the coordinator deletes"
                    + " them after each step): 'kubectl delete volumesnapshots,pvc -n " + ns + " -l sgbackup.dev/backup-id=" + id + "'");
        }
        if (maxJobs != null) {
            s.err.println("note: --max-jobs " + maxJobs + " bounds the coordinator's concurrency; the Jobs themselves do not carry it");
        }
        s.err.println("wrote " + r.manifests().size() + " manifests for " + (backup ? "backup " : "a restore of backup ") + id + " to " + dir
                + "; no cluster or sink was touched");
        return 0;
    }

    /**
     * The coordinator: the plan's Jobs in the cluster, followed to the end, through core's {@link Executor#kubernetes}
     * (docs/kubernetes.md). Its lines (notes, Jobs, each step's state and bytes) go to stderr; stdout gets the steps
     * and, for a backup, its id.
     */
    private static int coordinate(Session s, Args a, InstanceDescription d, MigrationPlan plan, boolean backup, Integer maxJobs,
                                  Duration timeout, Duration pendingTimeout, KubernetesOptions.Snapshots snapshots) {
        String kubeconfig = a.one("--kubeconfig");
        KubernetesOptions k = KubernetesOptions.of(a.required("--namespace"), a.required("--image"))
                .imagePullSecrets(a.all("--image-pull-secret")).serviceAccount(a.one("--service-account"))
                .workerSecret(a.one("--worker-secret")).maxJobs(maxJobs == null ? KubernetesOptions.DEFAULT_MAX_JOBS : maxJobs)
                .jobTimeout(timeout).pendingTimeout(pendingTimeout).kubeconfig(kubeconfig == null ? null : Path.of(kubeconfig))
                .context(a.one("--context")).messages(s.err::println).sink(plan.sink()).snapshots(snapshots); // the workers open --to/--from as given
        try (SgBackup sg = EngineFlags.engine(s, plan.sink(), a)) {
            if (!backup) {
                RunResult r = sg.restore(plan.backupId(), d, plan.options(), phase(a), Executor.kubernetes(k));
                r.steps().forEach(st -> s.out.println(st.step() + " completed"));
                return 0;
            }
            RunResult result = sg.backup(d, plan.scope(), Executor.kubernetes(k));
            for (StepResult st : result.steps()) {
                s.out.println(st.step() + " " + st.kind() + " " + st.status().name().toLowerCase() + " " + st.artifacts() + " artifacts "
                        + st.bytes() + " bytes " + st.storedBytes() + " stored");
            }
            s.out.println(result.backupId());
            return 0;
        }
    }

    private static Phase phase(Args a) {
        return a.one("--phase") == null ? Phase.ALL : Phase.parse(a.one("--phase"));
    }

    /** Writes each object to DIR, which must be new or empty: `kubectl apply -f DIR` would apply anything else there too. */
    private static void write(Path dir, KubernetesManifests.Result r) {
        try {
            if (Files.exists(dir)) {
                if (!Files.isDirectory(dir)) {
                    throw new Args.UsageException("--emit-manifests " + dir + " is not a directory");
                }
                try (Stream<Path> in = Files.list(dir)) {
                    if (in.findAny().isPresent()) {
                        throw new Args.UsageException("--emit-manifests " + dir + " is not empty: give a new or empty directory ('kubectl"
                                + " apply -f " + dir + "' would apply whatever else is there)");
                    }
                }
            }
            Files.createDirectories(dir);
            for (KubernetesManifests.Manifest m : r.manifests()) {
                Files.writeString(dir.resolve(m.file()), m.yaml());
            }
        } catch (IOException e) {
            throw new InvalidInputException("cannot write the manifests to " + dir + ": " + e.getClass().getSimpleName() + " "
                    + e.getMessage());
        }
    }
}
