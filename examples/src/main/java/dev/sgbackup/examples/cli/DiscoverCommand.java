package dev.sgbackup.examples.cli;

import dev.sgbackup.plan.Deployments;
import dev.sgbackup.plan.Instance;
import dev.sgbackup.plan.InstanceDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code sgbackup discover --compose FILE… [--project NAME] [--env-file FILE] [--volume-root DIR | --volume-mounts DIR]
 * [--strict]}, {@code sgbackup discover --single-image DATA_DIR [--config-dir DIR] [--strict]} or
 * {@code sgbackup discover --kubernetes [--namespace NS] [--context CTX] [--kubeconfig FILE] [--strict]}: the instance description of a
 * deployment (docs/instance.md) as JSON on stdout, warnings also on stderr. Exit 0; 3 with --strict when there are
 * warnings (the JSON is printed all the same).
 */
final class DiscoverCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--compose", "--project", "--env-file", "--volume-root", "--volume-mounts",
            "--single-image", "--config-dir", "--namespace", "--context", "--kubeconfig");
    static final Set<String> SWITCHES = Set.of("--strict", "--kubernetes");

    private DiscoverCommand() {
    }

    static int run(Session s, Args a) {
        InstanceDescription d = Instance.discover(query(a));
        s.out.println(d.toJson());
        d.warnings().forEach(w -> s.err.println("warning: " + w));
        return a.has("--strict") && !d.warnings().isEmpty() ? 3 : 0;
    }

    /** The deployment the flags name: exactly one of --compose, --single-image and --kubernetes. */
    static Deployments.Query query(Args a) {
        List<String> files = a.all("--compose");
        String single = a.one("--single-image");
        boolean kubernetes = a.has("--kubernetes");
        int given = (files.isEmpty() ? 0 : 1) + (single == null ? 0 : 1) + (kubernetes ? 1 : 0);
        if (given != 1) {
            throw new Args.UsageException("'discover' needs one of --compose FILE (the output of 'docker compose config --format json',"
                    + " or the Compose YAML files), --single-image DATA_DIR (the directory mounted at /var/opt/sourcegraph) and"
                    + " --kubernetes (the Helm release in --namespace, through the kubeconfig's context or the pod's service account)");
        }
        if (kubernetes) {
            onlyWith(a, null, "--namespace", "--context", "--kubeconfig");
            Deployments.Kubernetes q = Deployments.kubernetes().namespace(a.one("--namespace")).context(a.one("--context"));
            return a.one("--kubeconfig") == null ? q : q.kubeconfig(Path.of(a.one("--kubeconfig")));
        }
        if (single != null) {
            onlyWith(a, "--single-image", "--config-dir");
            String config = a.one("--config-dir");
            Deployments.SingleImage q = Deployments.singleImage(Path.of(single));
            return config == null ? q : q.configDir(Path.of(config));
        }
        onlyWith(a, "--compose", "--project", "--env-file", "--volume-root", "--volume-mounts");
        if (a.one("--volume-root") != null && a.one("--volume-mounts") != null) {
            throw new Args.UsageException("--volume-root (the host's <root>/<volume>/_data) and --volume-mounts (a container's"
                    + " <dir>/<volume>) do not go together");
        }
        Deployments.Compose q = Deployments.compose(files.stream().map(Path::of).toList()).project(a.one("--project"));
        if (a.one("--volume-root") != null) {
            q = q.volumeRoot(Path.of(a.one("--volume-root")));
        }
        if (a.one("--volume-mounts") != null) {
            q = q.volumeMounts(Path.of(a.one("--volume-mounts")));
        }
        if (a.one("--env-file") != null) {
            q = q.envFile(Path.of(a.one("--env-file")));
        }
        return q;
    }

    /** Refuses the value flags of another deployment method. */
    private static void onlyWith(Args a, String method, String... allowed) {
        Set<String> ok = Set.of(allowed);
        for (String f : VALUE_FLAGS) {
            if (!f.equals(method) && !ok.contains(f) && a.one(f) != null) {
                throw new Args.UsageException(f + " does not go with " + (method == null ? "--kubernetes" : method));
            }
        }
    }

    /**
     * The instance file of --instance, without the stores flags give; null without --instance. For a restore, its
     * volume stores are matched to the backup's by kind where names differ ({@link InstanceDescription#retarget}), and
     * what was matched goes into the plan's notes. Read once per command.
     */
    static InstanceDescription instanceFile(Session s, Args a) {
        String file = a.one("--instance");
        if (file == null) {
            return null;
        }
        if (s.instanceFile != null) {
            return s.instanceFile;
        }
        String json;
        try {
            json = Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new Args.UsageException("cannot read --instance " + file + ": " + e.getClass().getSimpleName());
        }
        Set<String> overridden = new java.util.HashSet<>(a.pairs("--postgres").keySet());
        overridden.addAll(a.pairs("--volume").keySet());
        InstanceDescription d = InstanceDescription.fromJson(json).without(overridden);
        if (s.restoringVolumes != null) {
            InstanceDescription.Retargeted r = d.retarget(s.restoringVolumes.stream().filter(n -> !overridden.contains(n)).toList());
            s.instanceNotes.addAll(r.notes());
            d = r.description();
        }
        s.instanceFile = d;
        return d;
    }
}
