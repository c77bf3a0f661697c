package dev.sgbackup.run;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How {@link Executor#kubernetes} runs a plan's steps as Kubernetes Jobs (docs/kubernetes.md). Immutable; every
 * setting has a wither, so it reads well in JShell:
 *
 * <pre>{@code
 * var k8s = KubernetesOptions.of("sourcegraph", "registry.example.com/sgbackup:0.1.0").workerSecret("sgbackup-sink").maxJobs(8);
 * }</pre>
 *
 * It holds names only (of Secrets, of a ServiceAccount, of a kubeconfig file), never a secret's value.
 *
 * @param namespace        the release's namespace: its PVCs and Secrets are there, the Jobs run there
 * @param image            the sgbackup image the Jobs run (one version: the coordinator's own); null only for
 *                         {@code SgBackup.pruneJobs}, which runs no Job
 * @param imagePullSecrets pull secrets for that image, added to those of the workload each Job inherits
 * @param serviceAccount   the workers' ServiceAccount (the sink's cloud identity), or null: the namespace's default
 * @param workerSecret     the Secret whose keys become each worker's environment (sink credentials,
 *                         {@code SGBACKUP_PASSPHRASE}), or null
 * @param maxJobs          at most this many of a run's Jobs unfinished at once (default 4)
 * @param jobTimeout       a Job's deadline ({@code activeDeadlineSeconds}), or null for none
 * @param pendingTimeout   a Job whose pod has not left Pending this long after it was created fails the run (default 10m)
 * @param kubeconfig       the kubeconfig file, or null: kubectl's rules ({@code KUBECONFIG}, {@code ~/.kube/config}, else
 *                         the pod's service account)
 * @param context          the kubeconfig's context, or null: its current context
 * @param messages         where the coordinator's lines go (Jobs created, each step's state and bytes, notes); default
 *                         standard error
 * @param sink             the sink URI the workers open, or null: the engine's sink URI without its query, so that the
 *                         workers take the endpoint and region from their own environment (the worker Secret's
 *                         {@code AWS_ENDPOINT_URL_S3}…) as they take credentials; give it when the workers reach the sink
 *                         otherwise than the coordinator does
 * @param snapshots        whether a backup's volume steps read CSI snapshots (default {@link Snapshots#AUTO})
 */
public record KubernetesOptions(String namespace, String image, List<String> imagePullSecrets, String serviceAccount, String workerSecret,
                                int maxJobs, Duration jobTimeout, Duration pendingTimeout, Path kubeconfig, String context,
                                Consumer<String> messages, String sink, Snapshots snapshots) {
    /** Jobs at once unless {@link #maxJobs(int)} says otherwise. */
    public static final int DEFAULT_MAX_JOBS = 4;
    /** How long a Job's pod may stay Pending unless {@link #pendingTimeout(Duration)} says otherwise. */
    public static final Duration DEFAULT_PENDING_TIMEOUT = Duration.ofMinutes(10);

    public KubernetesOptions {
        Objects.requireNonNull(namespace, "namespace");
        imagePullSecrets = imagePullSecrets == null ? List.of() : List.copyOf(imagePullSecrets);
        if (maxJobs < 1) {
            throw new InvalidInputException("maxJobs must be at least 1, was " + maxJobs);
        }
        if (jobTimeout != null && jobTimeout.toSeconds() < 1) {
            throw new InvalidInputException("the job timeout must be at least one second, was " + jobTimeout);
        }
        Objects.requireNonNull(pendingTimeout, "pendingTimeout");
        if (pendingTimeout.isNegative() || pendingTimeout.isZero()) {
            throw new InvalidInputException("the pending timeout must be positive, was " + pendingTimeout);
        }
        messages = messages == null ? System.err::println : messages;
        snapshots = snapshots == null ? Snapshots.AUTO : snapshots;
    }

    /** Whether a backup's volume steps read a CSI snapshot of their claim (docs/kubernetes.md, "Placement and consistency"). */
    public enum Snapshots {
        /** Where the instance file records a snapshot class; the other volumes are read live, pinned to their node. */
        AUTO,
        /** Every volume step, or the run is refused naming the claims without a snapshot class. */
        REQUIRED,
        /** Never: every volume is read live (pinned to the node of the pod that mounts it). */
        OFF;

        /** {@code auto}, {@code required} or {@code off}. */
        public static Snapshots parse(String s) {
            for (Snapshots m : values()) {
                if (m.name().toLowerCase(java.util.Locale.ROOT).equals(s)) {
                    return m;
                }
            }
            throw new InvalidInputException("--snapshots takes auto, required or off, not '" + s + "'");
        }
    }

    /** Whether a backup's volume steps read CSI snapshots (restores never do). */
    public KubernetesOptions snapshots(Snapshots mode) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout,
                kubeconfig, context, messages, sink, Objects.requireNonNull(mode, "mode"));
    }

    /** The defaults: no pull secret, no worker identity or Secret, 4 Jobs at once, no Job deadline, 10m pending, kubectl's config. */
    public static KubernetesOptions of(String namespace, String image) {
        return new KubernetesOptions(namespace, image, List.of(), null, null, DEFAULT_MAX_JOBS, null, DEFAULT_PENDING_TIMEOUT, null, null,
                null, null, Snapshots.AUTO);
    }

    public KubernetesOptions imagePullSecrets(List<String> names) {
        return new KubernetesOptions(namespace, image, names, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions serviceAccount(String name) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, name, workerSecret, maxJobs, jobTimeout, pendingTimeout, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions workerSecret(String name) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, name, maxJobs, jobTimeout, pendingTimeout, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions maxJobs(int n) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, n, jobTimeout, pendingTimeout, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions jobTimeout(Duration d) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, d, pendingTimeout, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions pendingTimeout(Duration d) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, d, kubeconfig,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions kubeconfig(Path file) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout, file,
                context, messages, sink, snapshots);
    }

    public KubernetesOptions context(String name) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout,
                kubeconfig, name, messages, sink, snapshots);
    }

    /** Where the coordinator's lines go, e.g. {@code System.out::println}, a logger, or {@code m -> {}} for none. */
    public KubernetesOptions messages(Consumer<String> lines) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout,
                kubeconfig, context, Objects.requireNonNull(lines, "lines"), sink, snapshots);
    }

    /** The sink URI the workers open (e.g. with the in-cluster endpoint), instead of the engine's without its query. */
    public KubernetesOptions sink(String uri) {
        return new KubernetesOptions(namespace, image, imagePullSecrets, serviceAccount, workerSecret, maxJobs, jobTimeout, pendingTimeout,
                kubeconfig, context, messages, uri, snapshots);
    }

    /** Every setting; names only (of Secrets and files), no secret. */
    @Override
    public String toString() {
        return "KubernetesOptions[namespace=" + namespace + ", image=" + image
                + (imagePullSecrets.isEmpty() ? "" : ", imagePullSecrets=" + imagePullSecrets)
                + (serviceAccount == null ? "" : ", serviceAccount=" + serviceAccount)
                + (workerSecret == null ? "" : ", workerSecret=" + workerSecret) + ", maxJobs=" + maxJobs
                + (jobTimeout == null ? "" : ", jobTimeout=" + jobTimeout) + ", pendingTimeout=" + pendingTimeout
                + (kubeconfig == null ? "" : ", kubeconfig=" + kubeconfig) + (context == null ? "" : ", context=" + context)
                + (sink == null ? "" : ", sink=" + sink) + (snapshots == Snapshots.AUTO ? "" : ", snapshots=" + snapshots.name().toLowerCase(java.util.Locale.ROOT)) + "]";
    }
}
