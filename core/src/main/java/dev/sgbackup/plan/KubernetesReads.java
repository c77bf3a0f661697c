package dev.sgbackup.plan;

import dev.sgbackup.run.InvalidInputException;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * What {@link KubernetesDiscovery} reads from the API server, and how: the client's configuration, each read turning
 * the client's failures into one clear message (never the client's text, which may quote what was read), and the
 * Secrets the frontend's database variables name, of which only the non-password keys are decoded. Package-private,
 * like every class that touches fabric8 (an optional dependency).
 */
final class KubernetesReads {
    final KubernetesClient client;
    final KubernetesConfig.Target target;
    final String server;
    final List<String> warnings = new ArrayList<>();
    /** Per Secret: its keys, with the values of the non-password keys asked for; empty when it cannot be read. */
    private final Map<String, Optional<Map<String, String>>> secrets = new HashMap<>();

    KubernetesReads(KubernetesClient client, KubernetesConfig.Target target, String server) {
        this.client = client;
        this.target = target;
        this.server = server;
    }

    <T> T call(String what, Supplier<T> read) {
        try {
            return read.get();
        } catch (KubernetesClientException e) {
            throw failure(what, e);
        } catch (RuntimeException e) {
            // not the client's own failure: its message is not ours to print (it may quote what was read)
            throw new InvalidInputException("cannot " + what + " in namespace " + target.namespace() + " of the Kubernetes API server "
                    + server + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    InvalidInputException failure(String what, KubernetesClientException e) {
        String who = target.context() == null ? "the pod's service account" : "context " + target.context();
        return switch (e.getCode()) {
            case 401 -> new InvalidInputException("the Kubernetes API server " + server + " refused the credentials of " + who
                    + " (401 Unauthorized): renew them (kubectl would fail the same way), or pass --context");
            case 403 -> new InvalidInputException(who + " may not " + what + " in namespace " + target.namespace() + " (403 Forbidden):"
                    + " discovery needs get and list on statefulsets, deployments, pods, persistentvolumeclaims and services"
                    + " (examples/deploy/kubernetes/serviceaccount-rbac.yaml)");
            case 0, -1 -> new InvalidInputException("cannot reach the Kubernetes API server " + server + " of " + who + " ("
                    + rootCause(e) + "): check that the cluster is up and that --kubeconfig and --context point at it");
            default -> new InvalidInputException("the Kubernetes API server " + server + " answered " + e.getCode() + " to " + what
                    + " in namespace " + target.namespace());
        };
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName();
    }

    /**
     * A non-password key of a Secret, or null (with a warning) when the Secret is missing or may not be read. The
     * Secret is fetched once; its password keys are dropped unread.
     */
    String secretValue(String name, String key, String var, String origin) {
        Optional<Map<String, String>> s = secret(name, var, origin);
        return s.map(m -> m.get(key)).orElse(null);
    }

    /** The keys of a Secret (envFrom). */
    Set<String> secretKeys(String name, String origin) {
        return secret(name, "envFrom", origin).map(Map::keySet).orElse(Set.of());
    }

    private Optional<Map<String, String>> secret(String name, String var, String origin) {
        return secrets.computeIfAbsent(name, n -> {
            Secret s;
            try {
                s = client.secrets().inNamespace(target.namespace()).withName(n).get();
            } catch (KubernetesClientException e) {
                warnings.add("secret " + n + " (" + var + " of " + origin + ") cannot be read (" + (e.getCode() <= 0 ? "unreachable"
                        : e.getCode() + (e.getCode() == 403 ? " Forbidden: grant get on it" : "")) + "): Sourcegraph's defaults used");
                return Optional.empty();
            } catch (RuntimeException e) {
                warnings.add("secret " + n + " (" + var + " of " + origin + ") cannot be read (" + e.getClass().getSimpleName()
                        + "): Sourcegraph's defaults used");
                return Optional.empty();
            }
            if (s == null) {
                warnings.add("secret " + n + " (" + var + " of " + origin + ") does not exist: Sourcegraph's defaults used");
                return Optional.empty();
            }
            Map<String, String> keys = new TreeMap<>();
            decode(s.getData(), true, keys);
            decode(s.getStringData(), false, keys);
            return Optional.of(keys);
        });
    }

    private static void decode(Map<String, String> data, boolean base64, Map<String, String> into) {
        if (data == null) {
            return;
        }
        data.forEach((k, v) -> {
            if (isSecretKey(k) || v == null) {
                into.put(k, null); // the key is known, its value never read
            } else {
                into.put(k, base64 ? new String(Base64.getMimeDecoder().decode(v), StandardCharsets.UTF_8) : v);
            }
        });
    }

    /** The client's configuration: the kubeconfig's context, or the pod's service account; few retries, bounded waits. */
    static Config config(KubernetesConfig.Target t) {
        Config cfg;
        try {
            cfg = t.kubeconfig() == null ? Config.autoConfigure(null) : Config.fromKubeconfig(t.context(), t.kubeconfig().toFile());
        } catch (RuntimeException e) {
            // the client's message may quote the file: name the file and the kind of problem only
            throw new InvalidInputException("cannot use " + (t.kubeconfig() == null ? "the pod's service account"
                    : "context " + t.context() + " of the kubeconfig " + t.kubeconfig()) + " (" + e.getClass().getSimpleName()
                    + "): check it with 'kubectl config view'");
        }
        cfg.setRequestRetryBackoffLimit(1);
        cfg.setConnectionTimeout(10_000);
        cfg.setRequestTimeout(30_000);
        cfg.setNamespace(t.namespace());
        return cfg;
    }

    /** The API server's URL without user information. */
    static String serverOf(Config cfg) {
        String url = cfg.getMasterUrl();
        try {
            URI u = URI.create(url);
            String path = u.getPath() == null || u.getPath().equals("/") ? null : u.getPath();
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), path, null, null).toString();
        } catch (Exception e) {
            return "(the configured server)";
        }
    }

    /** A variable or Secret key that holds a password (or a URL with one): never read. */
    static boolean isSecretKey(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        return n.contains("PASS") || n.contains("DATASOURCE") || n.contains("SECRET") || n.contains("TOKEN") || n.contains("KEY");
    }
}
