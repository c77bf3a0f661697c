package dev.sgbackup.run;

import java.util.Objects;

/**
 * Where the engine runs a plan's steps: {@link #local()} (the default: in this process, a few steps at once), or
 * {@link #kubernetes} (each step as a Kubernetes Job running the sgbackup image's {@code worker} command, this process
 * the coordinator that commits the backup from the steps' records; docs/kubernetes.md).
 *
 * <pre>{@code
 * var d = InstanceDescription.fromJson(Files.readString(Path.of("instance.json")));   // sgbackup discover --kubernetes
 * var k8s = Executor.kubernetes(KubernetesOptions.of("sourcegraph", "registry.example.com/sgbackup:0.1.0")
 *         .workerSecret("sgbackup-sink"));
 * try (var sg = SgBackup.builder().sink("s3://acme-backups/sourcegraph").build()) {
 *     RunResult r = sg.backup(d, Scope.ALL, k8s);
 *     sg.restore(r.backupId(), d, RestoreOptions.defaults(), Phase.DB, k8s);    // then Phase.VOLUMES
 * }
 * }</pre>
 *
 * The Kubernetes executor needs {@code io.fabric8:kubernetes-client} (with its OkHttp transport) on the class path, an
 * optional dependency of sgbackup-core that the CLI bundles.
 */
public sealed interface Executor permits Executor.Local, Executor.Kubernetes {
    /** Steps run in this process (the default). */
    static Executor local() {
        return Local.INSTANCE;
    }

    /** Steps run as Kubernetes Jobs, this process their coordinator. */
    static Kubernetes kubernetes(KubernetesOptions options) {
        return new Kubernetes(options);
    }

    /** {@link #kubernetes(KubernetesOptions)} with {@link KubernetesOptions#of} defaults. */
    static Kubernetes kubernetes(String namespace, String image) {
        return new Kubernetes(KubernetesOptions.of(namespace, image));
    }

    /** Steps run in this process. */
    enum Local implements Executor {
        INSTANCE;

        @Override
        public String toString() {
            return "local";
        }
    }

    /** Steps run as Kubernetes Jobs. */
    record Kubernetes(KubernetesOptions options) implements Executor {
        public Kubernetes {
            Objects.requireNonNull(options, "options");
        }

        @Override
        public String toString() {
            return "kubernetes " + options;
        }
    }
}
