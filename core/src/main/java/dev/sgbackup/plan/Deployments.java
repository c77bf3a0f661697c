package dev.sgbackup.plan;

import dev.sgbackup.run.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where {@link Instance#discover} looks: one factory per deployment method, each an immutable query with withers.
 *
 * <pre>{@code
 * InstanceDescription d = Instance.discover(Deployments.compose(Path.of("compose.json")).project("sourcegraph"));
 * Instance i = d.toInstance().build();
 * }</pre>
 *
 * Discovery only reads: files, or (Kubernetes) get and list calls. The description it returns names every store and
 * where it lives, with a reference to its credentials, never a value (docs/instance.md).
 */
public final class Deployments {
    private Deployments() {
    }

    /** A deployment to discover. */
    public sealed interface Query permits Compose, SingleImage, Kubernetes {
        /** Reads the deployment and describes it; throws {@link InvalidInputException} when it cannot be read. */
        InstanceDescription discover();
    }

    /** A Docker Compose deployment from the output of {@code docker compose config --format json} (or, warning, raw YAML files). */
    public static Compose compose(Path... files) {
        return compose(List.of(files));
    }

    /** {@link #compose(Path...)} with the files in override order. */
    public static Compose compose(List<Path> files) {
        return new Compose(List.copyOf(files), null, Discovery.DEFAULT_VOLUME_ROOT, null, Map.of());
    }

    /** A {@code sourcegraph/server} data directory (the container's {@code /var/opt/sourcegraph}). */
    public static SingleImage singleImage(Path dataDir) {
        return new SingleImage(dataDir, null);
    }

    /**
     * A Kubernetes deployment (Sourcegraph's Helm chart), read through the API server with get and list calls only.
     * Needs {@code io.fabric8:kubernetes-client} (and its OkHttp transport) on the class path: an optional dependency
     * of sgbackup-core, bundled in the CLI. Connection and namespace as kubectl resolves them: see {@link Kubernetes}.
     */
    public static Kubernetes kubernetes() {
        return new Kubernetes(null, null, null);
    }

    /**
     * A Docker Compose deployment.
     *
     * @param files      the files, in override order
     * @param project    the project name, or null (the JSON's {@code name}, else the first file's directory name)
     * @param volumeRoot   where named volumes live on the host ({@link Discovery#DEFAULT_VOLUME_ROOT}):
     *                     {@code <root>/<docker name>/_data}
     * @param volumeMounts or, when not null, where a container running sgbackup mounts each named volume:
     *                     {@code <mounts>/<volume key>} (examples/deploy/compose mounts them at /data)
     * @param variables    values for {@code ${VAR}} in raw YAML files (Compose's {@code .env}); never printed
     */
    public record Compose(List<Path> files, String project, Path volumeRoot, Path volumeMounts, Map<String, String> variables)
            implements Query {
        public Compose {
            files = List.copyOf(files);
            variables = Map.copyOf(variables);
        }

        public Compose project(String name) {
            return new Compose(files, name, volumeRoot, volumeMounts, variables);
        }

        public Compose volumeRoot(Path dir) {
            return new Compose(files, project, dir.toAbsolutePath(), null, variables);
        }

        /** Directories as a container that mounts each named volume at {@code <dir>/<key>} sees them. */
        public Compose volumeMounts(Path dir) {
            return new Compose(files, project, volumeRoot, dir.toAbsolutePath(), variables);
        }

        /** Variables from a Compose {@code .env} file: KEY=VALUE lines, # comments, optional quotes and {@code export}. */
        public Compose envFile(Path file) {
            return new Compose(files, project, volumeRoot, volumeMounts, readEnvFile(file));
        }

        @Override
        public InstanceDescription discover() {
            return Discovery.compose(files, project, volumeMounts != null ? new Discovery.VolumeDirs(volumeMounts, true)
                    : new Discovery.VolumeDirs(volumeRoot, false), variables);
        }

        /** Names the variables, never their values. */
        @Override
        public String toString() {
            return "Compose[files=" + files + ", project=" + project + ", volumeRoot=" + volumeRoot + ", volumeMounts=" + volumeMounts
                    + ", variables="
                    + variables.keySet() + "]";
        }
    }

    /**
     * A single-image ({@code sourcegraph/server}) deployment.
     *
     * @param dataDir   the data directory ({@code /var/opt/sourcegraph} in the container)
     * @param configDir the configuration directory ({@code /etc/sourcegraph}), or null when not at hand
     */
    public record SingleImage(Path dataDir, Path configDir) implements Query {
        public SingleImage configDir(Path dir) {
            return new SingleImage(dataDir, dir);
        }

        @Override
        public InstanceDescription discover() {
            return SingleImageDiscovery.discover(dataDir, configDir);
        }
    }

    /**
     * A Kubernetes deployment; null fields are resolved as kubectl does.
     *
     * @param namespace  the namespace, or null: the context's namespace, else (in a pod) the service account's namespace
     *                   file, else {@code default}
     * @param context    the kubeconfig context, or null: the kubeconfig's current context
     * @param kubeconfig the kubeconfig file, or null: the first file of {@code KUBECONFIG}, else {@code ~/.kube/config},
     *                   else (in a pod) the service account
     */
    public record Kubernetes(String namespace, String context, Path kubeconfig) implements Query {
        public Kubernetes namespace(String ns) {
            return new Kubernetes(ns, context, kubeconfig);
        }

        public Kubernetes context(String name) {
            return new Kubernetes(namespace, name, kubeconfig);
        }

        public Kubernetes kubeconfig(Path file) {
            return new Kubernetes(namespace, context, file);
        }

        /**
         * Lists the namespace's StatefulSets, Deployments, PersistentVolumeClaims, Pods and Services, and gets the
         * Secrets the frontend's database variables name (their non-password keys only); never writes.
         */
        @Override
        public InstanceDescription discover() {
            KubernetesConfig.requireClient(KubernetesConfig.CLIENT_CLASSES);
            return KubernetesDiscovery.discover(KubernetesConfig.resolve(this, System::getenv,
                    Path.of(System.getProperty("user.home", "/")), KubernetesConfig.IN_CLUSTER));
        }
    }

    static Map<String, String> readEnvFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read the env file " + file + ": " + e.getClass().getSimpleName());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#") || !l.contains("=")) {
                continue;
            }
            if (l.startsWith("export ")) {
                l = l.substring(7).strip();
            }
            int i = l.indexOf('=');
            String v = l.substring(i + 1).strip();
            if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
                v = v.substring(1, v.length() - 1);
            }
            out.put(l.substring(0, i).strip(), v);
        }
        return out;
    }
}
