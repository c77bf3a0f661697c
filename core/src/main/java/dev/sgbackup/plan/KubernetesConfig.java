package dev.sgbackup.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sgbackup.run.InvalidInputException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Which cluster, context and namespace Kubernetes discovery reads, resolved as kubectl does, without the Kubernetes
 * client (so a missing client is reported after the flags are checked, and the rules are testable alone). The
 * kubeconfig is read for its context and namespace names only; the client reads it again for the connection.
 */
final class KubernetesConfig {
    /** The classes discovery needs: the client and its OkHttp transport (the vert.x one is not bundled). */
    static final List<String> CLIENT_CLASSES = List.of("io.fabric8.kubernetes.client.KubernetesClientBuilder",
            "io.fabric8.kubernetes.client.okhttp.OkHttpClientFactory");
    static final String MISSING = "Kubernetes discovery needs io.fabric8:kubernetes-client (with"
            + " io.fabric8:kubernetes-httpclient-okhttp) on the classpath; the CLI bundles it";
    /** Where a pod's service account is mounted: token, ca.crt, namespace. */
    static final Path IN_CLUSTER = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private KubernetesConfig() {
    }

    /**
     * What to read.
     *
     * @param kubeconfig the kubeconfig file, or null in a pod (the service account)
     * @param context    the context used, or null in a pod
     * @param namespace  the namespace
     */
    record Target(Path kubeconfig, String context, String namespace) {
    }

    /** Refuses, with one clear message, when the client is not on the class path. */
    static void requireClient(List<String> classes) {
        for (String c : classes) {
            try {
                Class.forName(c, false, KubernetesConfig.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new InvalidInputException(MISSING);
            }
        }
    }

    /**
     * kubectl's rules: the kubeconfig is the explicit file, else the first existing file of {@code KUBECONFIG}, else
     * {@code ~/.kube/config}, else the pod's service account; the context is the explicit one, else the current
     * context; the namespace is the explicit one, else the context's, else (service account) the pod's namespace
     * file, else {@code default}.
     */
    static Target resolve(Deployments.Kubernetes q, Function<String, String> env, Path home, Path serviceAccount) {
        Path file = q.kubeconfig();
        if (file != null && !Files.isRegularFile(file)) {
            throw new InvalidInputException("--kubeconfig " + file + " is not a file");
        }
        if (file == null) {
            String list = env.apply("KUBECONFIG");
            if (list != null && !list.isBlank()) {
                for (String f : list.split(File.pathSeparator)) {
                    if (!f.isBlank() && Files.isRegularFile(Path.of(f))) {
                        file = Path.of(f);
                        break;
                    }
                }
            }
            if (file == null && home != null && Files.isRegularFile(home.resolve(".kube/config"))) {
                file = home.resolve(".kube/config");
            }
        }
        if (file != null) {
            return fromKubeconfig(file.toAbsolutePath(), q);
        }
        if (!Files.isRegularFile(serviceAccount.resolve("token"))) {
            throw new InvalidInputException("no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG or create ~/.kube/config"
                    + " (or run in a pod with a service account)");
        }
        if (q.context() != null) {
            throw new InvalidInputException("--context " + q.context() + " needs a kubeconfig, and there is none (in a pod, the"
                    + " service account is used): pass --kubeconfig FILE");
        }
        String ns = q.namespace();
        if (ns == null && Files.isRegularFile(serviceAccount.resolve("namespace"))) {
            try {
                ns = Files.readString(serviceAccount.resolve("namespace")).strip();
            } catch (IOException e) {
                ns = null;
            }
        }
        return new Target(null, null, ns == null || ns.isEmpty() ? "default" : ns);
    }

    private static Target fromKubeconfig(Path file, Deployments.Kubernetes q) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            // the parser's message may quote the file, and the file may hold tokens: the position only
            throw new InvalidInputException("cannot parse the kubeconfig " + file
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()) + " as YAML");
        } catch (IOException e) {
            throw new InvalidInputException("cannot read the kubeconfig " + file + ": " + e.getClass().getSimpleName());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidInputException("the kubeconfig " + file + " is empty or not a kubeconfig");
        }
        List<String> names = new ArrayList<>();
        root.path("contexts").forEach(c -> names.add(c.path("name").asText()));
        String ctx = q.context() != null ? q.context() : root.path("current-context").asText("");
        if (ctx.isEmpty()) {
            throw new InvalidInputException("the kubeconfig " + file + " has no current-context: pass --context (one of " + names + ")");
        }
        JsonNode context = null;
        for (JsonNode c : root.path("contexts")) {
            if (ctx.equals(c.path("name").asText())) {
                context = c.path("context");
            }
        }
        if (context == null) {
            throw new InvalidInputException("context " + ctx + " is not in the kubeconfig " + file + ": pass --context (one of " + names + ")");
        }
        String ns = q.namespace() != null ? q.namespace() : context.path("namespace").asText("");
        return new Target(file, ctx, ns.isEmpty() ? "default" : ns);
    }
}
