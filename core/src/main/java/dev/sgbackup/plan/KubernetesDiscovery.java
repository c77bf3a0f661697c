package dev.sgbackup.plan;

import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import dev.sgbackup.run.InvalidInputException;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * Finds the stores of a Kubernetes deployment of Sourcegraph (deploy-sourcegraph-helm) through the API server. The
 * only class that touches the Kubernetes client (an optional dependency): {@link Deployments.Kubernetes#discover()}
 * loads it after checking the client is there, and no client type leaves it.
 *
 * <p>Reads only: lists the namespace's StatefulSets, Deployments, PersistentVolumeClaims, Pods and Services, and gets
 * the Secrets the frontend's database variables name, of which it decodes the host, port, database and user keys,
 * never a password. Each workload's pod template is followed from its volume mounts to its claims (standalone PVCs,
 * or a StatefulSet's {@code <template>-<statefulset>-<ordinal>}); databases come from the frontend's environment and
 * are never volume stores (backed up logically only).
 *
 * <p>One job, so one file (about 560 lines): turning what was read into the description's stores, databases and
 * warnings. The reads themselves, and their failures, are {@link KubernetesReads}'s; the StorageClasses and
 * VolumeSnapshotClasses that decide on CSI snapshots are {@link KubernetesStorage}'s.
 */
final class KubernetesDiscovery {
    /** The chart's workloads with a volume, by their default names (values.yaml {@code <service>.name}). */
    private static final Set<String> CHART_NAMES = Set.of("gitserver", "indexed-search", "searcher", "grafana", "pgsql", "codeintel-db",
            "codeinsights-db", "blobstore", "prometheus", "redis-store", "redis-cache");
    private static final String FRONTEND = "sourcegraph-frontend";
    /** The variables that say where precise code-intel uploads live (the chart sets the first; external storage the others). */
    private static final List<String> UPLOAD_BACKEND = List.of("PRECISE_CODE_INTEL_UPLOAD_BACKEND", "SOURCEGRAPH_UPLOAD_BACKEND");

    private KubernetesDiscovery() {
    }

    /** A variable of a workload's container: a plain value, a Secret key, or something not read (configMapKeyRef…). */
    private record Var(String value, String secret, String key, String other, String origin) {
    }

    /** A workload with a pod template. */
    private record Workload(String kind, String name, PodTemplateSpec template, int replicas, Set<String> claimTemplates) {
        String id() {
            return kind + "/" + name;
        }

        List<Container> containers() {
            List<Container> all = new ArrayList<>(template.getSpec().getContainers());
            all.addAll(template.getSpec().getInitContainers());
            return all;
        }

        String image() {
            return containers().stream().map(Container::getImage).filter(Objects::nonNull).findFirst().orElse("");
        }

        boolean runsPostgres() {
            return template.getSpec().getContainers().stream().map(Container::getImage).filter(Objects::nonNull)
                    .anyMatch(i -> Discovery.isPostgresImage(i) || imageName(i).matches("codeintel-db|codeinsights-db"));
        }
    }

    /** A claim a workload mounts, and the container that mounts it first. */
    private record Claim(String pvc, String volume, String mountPath, String subPath, Container container) {
    }

    static InstanceDescription discover(KubernetesConfig.Target t) {
        Config cfg = KubernetesReads.config(t);
        String server = KubernetesReads.serverOf(cfg);
        String ns = t.namespace();
        KubernetesClient client;
        try {
            client = new KubernetesClientBuilder().withConfig(cfg).build();
        } catch (RuntimeException e) {
            // e.g. certificate data of the kubeconfig that does not parse: its text is not quoted
            throw new InvalidInputException("cannot set up a client for the Kubernetes API server " + server + " ("
                    + e.getClass().getSimpleName() + "): check the context's certificates with 'kubectl config view'");
        }
        try (KubernetesClient c = client) {
            KubernetesReads r = new KubernetesReads(c, t, server);
            List<Workload> workloads = new ArrayList<>();
            for (StatefulSet s : r.call("list statefulsets", () -> c.apps().statefulSets().inNamespace(ns).list().getItems())) {
                Set<String> templates = new LinkedHashSet<>();
                s.getSpec().getVolumeClaimTemplates().forEach(p -> templates.add(p.getMetadata().getName()));
                workloads.add(new Workload("StatefulSet", s.getMetadata().getName(), s.getSpec().getTemplate(),
                        s.getSpec().getReplicas() == null ? 1 : s.getSpec().getReplicas(), templates));
            }
            for (Deployment d : r.call("list deployments", () -> c.apps().deployments().inNamespace(ns).list().getItems())) {
                workloads.add(new Workload("Deployment", d.getMetadata().getName(), d.getSpec().getTemplate(),
                        d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas(), Set.of()));
            }
            List<PersistentVolumeClaim> pvcs = r.call("list persistentvolumeclaims",
                    () -> c.persistentVolumeClaims().inNamespace(ns).list().getItems());
            List<Pod> pods = r.call("list pods", () -> c.pods().inNamespace(ns).list().getItems());
            List<Service> services = r.call("list services", () -> c.services().inNamespace(ns).list().getItems());
            if (workloads.isEmpty()) {
                throw new InvalidInputException("namespace " + ns + " has no StatefulSets or Deployments" + (t.context() == null ? ""
                        : " (context " + t.context() + ")") + ": is Sourcegraph deployed there? Pass --namespace");
            }
            Describe describe = new Describe(r, workloads, pvcs, pods, services);
            describe.snapshots = KubernetesStorage.read(c, r);
            return describe.run();
        }
    }

    private static String imageName(String image) {
        String i = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
        int slash = i.lastIndexOf('/');
        int colon = i.lastIndexOf(':');
        return i.substring(slash + 1, colon > slash ? colon : i.length());
    }

    /** The description, from what was read. */
    private static final class Describe {
        final KubernetesReads r;
        final String ns;
        final List<Workload> workloads;
        final Map<String, PersistentVolumeClaim> pvcs = new TreeMap<>();
        final List<Pod> pods;
        final Map<String, Service> services = new TreeMap<>();
        final List<String> warnings = new ArrayList<>();
        /** The cluster's StorageClasses' provisioners and its VolumeSnapshotClasses (empty when they could not be read). */
        KubernetesStorage snapshots = new KubernetesStorage(Map.of(), List.of());

        Describe(KubernetesReads r, List<Workload> workloads, List<PersistentVolumeClaim> pvcs, List<Pod> pods, List<Service> services) {
            this.r = r;
            this.ns = r.target.namespace();
            this.workloads = workloads;
            pvcs.forEach(p -> this.pvcs.put(p.getMetadata().getName(), p));
            this.pods = pods;
            services.forEach(s -> this.services.put(s.getMetadata().getName(), s));
        }

        InstanceDescription run() {
            Workload frontend = workloads.stream().filter(w -> w.kind().equals("Deployment") && w.name().equals(FRONTEND)).findFirst()
                    .orElseGet(() -> workloads.stream().filter(w -> w.containers().stream()
                            .anyMatch(c -> c.getImage() != null && imageName(c.getImage()).equals("frontend"))).findFirst().orElse(null));
            String version = null;
            Map<String, Var> env = new LinkedHashMap<>();
            if (frontend == null) {
                warnings.add("no Deployment runs sourcegraph/frontend: databases cannot be read from its environment");
            } else {
                if (!frontend.name().equals(FRONTEND)) {
                    warnings.add("the frontend runs as " + frontend.id() + ", not the chart's Deployment/" + FRONTEND);
                }
                for (Container c : frontend.containers()) {
                    if (c.getImage() != null && imageName(c.getImage()).equals("frontend")) {
                        Matcher m = Discovery.TAG.matcher(c.getImage());
                        version = version == null && m.find() ? m.group(1) : version;
                    }
                }
                frontend.containers().forEach(c -> collectEnv(c, frontend.id(), env)); // the frontend, then its migrator
            }
            // the worker sets the same variables: a fallback for any the frontend lacks
            workloads.stream().filter(w -> w.kind().equals("Deployment") && w.name().equals("worker"))
                    .forEach(w -> w.containers().forEach(c -> collectEnv(c, w.id(), env)));

            List<Store> stores = new ArrayList<>();
            Set<Workload> dbWorkloads = new LinkedHashSet<>();
            for (String db : List.of("frontend", "codeintel", "codeinsights")) {
                Store s = database(db, Discovery.DATABASES.get(db), frontend, env, dbWorkloads);
                if (s != null) {
                    stores.add(s);
                }
            }
            Set<String> mounted = new LinkedHashSet<>();
            List<Store> volumes = new ArrayList<>();
            for (Workload w : workloads) {
                List<Claim> claims = claims(w);
                claims.forEach(c -> mounted.add(c.pvc()));
                if (dbWorkloads.contains(w)) {
                    continue; // a database's data directory: backed up logically, never as files
                }
                if (w.runsPostgres() && !claims.isEmpty()) {
                    warnings.add(w.id() + " runs PostgreSQL but the frontend does not use it: its PVCs ("
                            + String.join(", ", claims.stream().map(Claim::pvc).toList()) + ") are not backed up (never as files);"
                            + " add it with --postgres if it matters");
                    continue;
                }
                for (Claim c : claims) {
                    volumes.add(volume(w, c));
                }
            }
            volumes.sort(Comparator.comparing(Store::name));
            stores.addAll(volumes);
            for (String p : pvcs.keySet()) {
                if (!mounted.contains(p)) {
                    warnings.add("PVC " + p + " is mounted by no StatefulSet or Deployment: left out");
                }
            }
            uploads(env, stores);
            List<String> all = new ArrayList<>(r.warnings);
            all.addAll(warnings);
            List<String> files = r.target.kubeconfig() == null ? List.of() : List.of(r.target.kubeconfig().toString());
            return new InstanceDescription(InstanceDescription.FORMAT, new InstanceDescription.Deployment("kubernetes", null, files,
                    "kubernetes-api", ns, r.target.context()), version, stores, all);
        }

        /** A container's variables, first setting wins: {@code env} then {@code envFrom} Secrets. */
        private void collectEnv(Container c, String origin, Map<String, Var> env) {
            for (EnvVar v : c.getEnv()) {
                if (env.containsKey(v.getName())) {
                    continue;
                }
                if (v.getValueFrom() == null) {
                    // a password's plain value is not kept: the reference is enough
                    env.put(v.getName(), new Var(KubernetesReads.isSecretKey(v.getName()) && !v.getName().endsWith("PGDATASOURCE") ? null
                            : Objects.requireNonNullElse(v.getValue(), ""), null, null, null, origin));
                } else if (v.getValueFrom().getSecretKeyRef() != null) {
                    env.put(v.getName(), new Var(null, v.getValueFrom().getSecretKeyRef().getName(),
                            v.getValueFrom().getSecretKeyRef().getKey(), null, origin));
                } else if (v.getValueFrom().getConfigMapKeyRef() != null) {
                    env.put(v.getName(), new Var(null, null, null, "configMapKeyRef:" + v.getValueFrom().getConfigMapKeyRef().getName()
                            + "/" + v.getValueFrom().getConfigMapKeyRef().getKey(), origin));
                } else {
                    env.put(v.getName(), new Var(null, null, null, "valueFrom", origin));
                }
            }
            for (EnvFromSource f : c.getEnvFrom()) {
                String prefix = Objects.requireNonNullElse(f.getPrefix(), "");
                if (f.getSecretRef() != null && mentionsDatabase(prefix)) {
                    for (String k : r.secretKeys(f.getSecretRef().getName(), origin)) {
                        env.putIfAbsent(prefix + k, new Var(null, f.getSecretRef().getName(), k, null, origin));
                    }
                } else if (f.getConfigMapRef() != null) {
                    warnings.add("envFrom configMap " + f.getConfigMapRef().getName() + " of " + origin + " is not read (discovery reads"
                            + " no ConfigMaps): database variables set there are not seen");
                }
            }
        }

        private static boolean mentionsDatabase(String prefix) {
            return prefix.isEmpty() || prefix.endsWith("_") || prefix.startsWith("CODEIN");
        }

        /** A variable's value: plain, or a Secret's non-password key; null when not set or not readable (with a warning). */
        private String value(String name, Map<String, Var> env) {
            Var v = env.get(name);
            if (v == null) {
                return null;
            }
            if (v.value() != null) {
                return v.value();
            }
            if (v.secret() != null && !KubernetesReads.isSecretKey(name)) {
                return r.secretValue(v.secret(), v.key(), name, v.origin());
            }
            if (v.other() != null) {
                warnings.add(name + " of " + v.origin() + " comes from " + v.other() + ", which discovery does not read: Sourcegraph's"
                        + " default used");
            }
            return null;
        }

        private static String reference(String var, Map<String, Var> env) {
            Var v = env.get(var);
            if (v == null) {
                return "env:" + var;
            }
            return "env:" + var + "@" + v.origin() + (v.secret() == null ? "" : " secretKeyRef:" + v.secret() + "/" + v.key());
        }

        private Store database(String name, String prefix, Workload frontend, Map<String, Var> env, Set<Workload> dbWorkloads) {
            String dsnVar = prefix + "PGDATASOURCE";
            String host;
            Integer port;
            String db;
            String user;
            String credentials;
            if (env.containsKey(dsnVar)) {
                Var v = env.get(dsnVar);
                Discovery.Dsn u = v.value() == null ? null : Discovery.Dsn.parse(v.value());
                if (u == null || u.host() == null) {
                    warnings.add(name + ": " + dsnVar + " of " + v.origin() + (v.secret() != null ? " comes from Secret " + v.secret()
                            + " (it holds the password: not read)" : v.other() != null ? " comes from " + v.other() + " (not read)"
                            : " is not a URL") + ": database left out; add it with --postgres");
                    return null;
                }
                host = u.host();
                port = u.port();
                db = u.database();
                user = u.user();
                credentials = reference(dsnVar, env);
            } else {
                host = value(prefix + "PGHOST", env);
                if (host == null || host.isBlank()) {
                    String guess = Discovery.defaultHost(name);
                    if (!env.containsKey(prefix + "PGHOST") && !services.containsKey(guess)) {
                        if (name.equals("frontend")) {
                            warnings.add("frontend: no PGHOST in the frontend's environment and no Service pgsql: database unknown");
                        }
                        return null;
                    }
                    if (!env.containsKey(prefix + "PGHOST")) {
                        warnings.add(name + ": the frontend does not set " + prefix + "PGHOST; assuming Service " + guess
                                + " (Sourcegraph's default)");
                    }
                    host = guess;
                }
                port = Discovery.parsePort(value(prefix + "PGPORT", env), name, warnings);
                db = Discovery.valueOr(value(prefix + "PGDATABASE", env), Discovery.defaultUserAndDatabase(name));
                user = Discovery.valueOr(value(prefix + "PGUSER", env), Discovery.defaultUserAndDatabase(name));
                credentials = reference(prefix + "PGPASSWORD", env);
                existingSecret(name, prefix, env);
            }
            String from = frontend == null ? "" : " (from " + frontend.id() + ")";
            Service svc = service(host);
            if (svc == null || "ExternalName".equals(svc.getSpec().getType())) {
                return new Store(name, InstanceDescription.POSTGRES, name.equals("codeintel"), Discovery.holds(name),
                        "external/" + host + from, Location.database(null, host, port, db, user, true), credentials, clientPod(frontend));
            }
            Workload w = workloadOf(svc);
            String origin = "Service/" + svc.getMetadata().getName();
            Claim data = null;
            if (w != null) {
                dbWorkloads.add(w);
                origin = w.id();
                List<Claim> claims = claims(w);
                data = claims.isEmpty() ? null : claims.get(0);
                if (claims.size() > 1) {
                    warnings.add(name + ": " + w.id() + " mounts several PVCs (" + String.join(", ", claims.stream().map(Claim::pvc).toList())
                            + "): the database's location names the first");
                }
            } else {
                warnings.add(name + ": Service " + svc.getMetadata().getName() + " selects no StatefulSet or Deployment: the PVC it lives"
                        + " on is unknown");
            }
            Location l = new Location(null, null, host, port, db, user, null, data == null ? null : ns, data == null ? null : data.pvc(),
                    data == null ? null : data.mountPath(), data == null ? null : data.subPath(), data == null ? null : node(data.pvc()),
                    data == null ? null : accessModes(data.pvc()));
            return new Store(name, InstanceDescription.POSTGRES, name.equals("codeintel"), Discovery.holds(name), origin, l, credentials,
                    clientPod(frontend));
        }

        /** A database's variables from a Secret the chart does not create ({@code auth.existingSecret}): said, as RBAC must name it. */
        private void existingSecret(String name, String prefix, Map<String, Var> env) {
            String chart = Discovery.defaultHost(name) + "-auth";
            Set<String> others = new java.util.TreeSet<>();
            for (String v : List.of("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD")) {
                Var var = env.get(prefix + v);
                if (var != null && var.secret() != null && !var.secret().equals(chart)) {
                    others.add(var.secret());
                }
            }
            if (!others.isEmpty()) {
                warnings.add(name + ": " + prefix + "PG* come from Secret " + String.join(", ", others) + ", not the chart's " + chart
                        + " (auth.existingSecret): discovery needs get on it for the host, port, database and user");
            }
        }

        /** The Service a database host names: {@code pgsql}, {@code pgsql.<ns>}, {@code pgsql.<ns>.svc[.cluster.local]}. */
        private Service service(String host) {
            String h = host.toLowerCase(Locale.ROOT);
            for (String suffix : List.of("." + ns + ".svc.cluster.local", "." + ns + ".svc", "." + ns)) {
                if (h.endsWith(suffix)) {
                    h = h.substring(0, h.length() - suffix.length());
                }
            }
            return services.get(h);
        }

        /** The workload a Service selects: the one of the same name, else the one whose pods its selector matches. */
        private Workload workloadOf(Service svc) {
            String name = svc.getMetadata().getName();
            Map<String, String> sel = svc.getSpec().getSelector();
            Workload byLabels = null;
            for (Workload w : workloads) {
                if (w.name().equals(name)) {
                    return w;
                }
                Map<String, String> labels = w.template().getMetadata() == null ? null : w.template().getMetadata().getLabels();
                if (byLabels == null && sel != null && !sel.isEmpty() && labels != null && labels.entrySet().containsAll(sel.entrySet())) {
                    byLabels = w;
                }
            }
            return byLabels;
        }

        /**
         * The claims a workload's containers mount, in mount order, each once: a volume of the pod template with a
         * persistentVolumeClaim, or a StatefulSet's volumeClaimTemplate (which wins over a template volume of the same
         * name), expanded to {@code <template>-<statefulset>-<ordinal>} for every replica and every existing PVC.
         */
        private List<Claim> claims(Workload w) {
            Map<String, Volume> volumes = new HashMap<>();
            w.template().getSpec().getVolumes().forEach(v -> volumes.put(v.getName(), v));
            Map<String, Claim> out = new LinkedHashMap<>();
            for (Container c : w.containers()) {
                for (VolumeMount m : c.getVolumeMounts()) {
                    List<String> names;
                    if (w.claimTemplates().contains(m.getName())) {
                        names = ordinals(w, m.getName());
                    } else if (volumes.get(m.getName()) != null && volumes.get(m.getName()).getPersistentVolumeClaim() != null) {
                        names = List.of(volumes.get(m.getName()).getPersistentVolumeClaim().getClaimName());
                    } else {
                        continue;
                    }
                    String sub = m.getSubPath() == null || m.getSubPath().isEmpty() ? null : m.getSubPath();
                    names.forEach(n -> out.putIfAbsent(n, new Claim(n, m.getName(), m.getMountPath(), sub, c)));
                }
            }
            return new ArrayList<>(out.values());
        }

        private List<String> ordinals(Workload w, String template) {
            String prefix = template + "-" + w.name() + "-";
            Set<Integer> seen = new java.util.TreeSet<>();
            for (String p : pvcs.keySet()) {
                if (p.startsWith(prefix) && p.substring(prefix.length()).matches("[0-9]+")) {
                    seen.add(Integer.parseInt(p.substring(prefix.length())));
                }
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < w.replicas(); i++) {
                if (!seen.contains(i)) {
                    warnings.add("PVC " + prefix + i + " of " + w.id() + " (replica " + i + ") does not exist (yet): not listed");
                }
            }
            for (int i : seen) {
                out.add(prefix + i);
                if (i >= w.replicas()) {
                    warnings.add("PVC " + prefix + i + " is beyond " + w.id() + "'s " + w.replicas() + " replicas (left from a scale-down?):"
                            + " listed; its data may be stale");
                }
            }
            return out;
        }

        /** The node of a pod mounting the claim: a running one first. */
        private String node(String pvc) {
            String any = null;
            for (Pod p : pods) {
                if (p.getSpec() == null || p.getSpec().getNodeName() == null) {
                    continue;
                }
                boolean mounts = p.getSpec().getVolumes().stream()
                        .anyMatch(v -> v.getPersistentVolumeClaim() != null && pvc.equals(v.getPersistentVolumeClaim().getClaimName()));
                if (mounts) {
                    if (p.getStatus() != null && "Running".equals(p.getStatus().getPhase())) {
                        return p.getSpec().getNodeName();
                    }
                    any = any == null ? p.getSpec().getNodeName() : any;
                }
            }
            return any;
        }

        /** A claim's access modes, or null when the PVC does not exist (yet). */
        private List<String> accessModes(String pvc) {
            PersistentVolumeClaim p = pvcs.get(pvc);
            if (p == null || p.getSpec() == null || p.getSpec().getAccessModes() == null || p.getSpec().getAccessModes().isEmpty()) {
                return null;
            }
            return List.copyOf(p.getSpec().getAccessModes());
        }

        /** A database's client pod: the frontend's (whose secretKeyRefs its credentials are), its first container. */
        private static InstanceDescription.Pod clientPod(Workload frontend) {
            if (frontend == null) {
                return null;
            }
            List<Container> main = frontend.template().getSpec().getContainers();
            return pod(frontend, main.isEmpty() ? null : main.get(0));
        }

        /** What a worker pod inherits from a workload's pod template and the container that mounts its store. */
        private static InstanceDescription.Pod pod(Workload w, Container c) {
            io.fabric8.kubernetes.api.model.PodSpec spec = w.template().getSpec();
            List<Map<String, Object>> tolerations = new ArrayList<>();
            spec.getTolerations().forEach(t -> tolerations.add(asMap(t)));
            List<String> pullSecrets = spec.getImagePullSecrets().stream().map(io.fabric8.kubernetes.api.model.LocalObjectReference::getName)
                    .filter(Objects::nonNull).toList();
            return new InstanceDescription.Pod(w.id(), asMap(spec.getSecurityContext()), asMap(c == null ? null : c.getSecurityContext()),
                    spec.getNodeSelector(), tolerations, spec.getPriorityClassName(), pullSecrets);
        }

        private static final com.fasterxml.jackson.databind.ObjectMapper MAPS = new com.fasterxml.jackson.databind.ObjectMapper();

        /** A model object as the API spells it, as a plain map (null: empty). */
        @SuppressWarnings("unchecked")
        private static Map<String, Object> asMap(Object o) {
            if (o == null) {
                return Map.of();
            }
            try {
                return MAPS.readValue(io.fabric8.kubernetes.client.utils.Serialization.asJson(o), LinkedHashMap.class);
            } catch (Exception e) {
                throw new IllegalStateException("cannot read a pod template field (" + e.getClass().getSimpleName() + ")");
            }
        }

        private Store volume(Workload w, Claim c) {
            // the kind: from the workload's name, else its volume's, else its image's (a renamed workload), else a cache
            VolumeKind k = VolumeKind.guess(w.name());
            String from = null;
            if (k == VolumeKind.OTHER && VolumeKind.guess(c.volume()) != VolumeKind.OTHER) {
                k = VolumeKind.guess(c.volume());
                from = "its volume " + c.volume();
            }
            if (k == VolumeKind.OTHER && VolumeKind.guess(imageName(w.image())) != VolumeKind.OTHER) {
                k = VolumeKind.guess(imageName(w.image()));
                from = "its image " + imageName(w.image());
            }
            Location l = Location.pvc(ns, c.pvc(), c.mountPath(), c.subPath(), node(c.pvc()), accessModes(c.pvc()))
                    .withStorage(snapshots.storage(pvcs.get(c.pvc())));
            if (k == VolumeKind.OTHER && (Discovery.isCache(w.name(), Set.of()) || Discovery.isCache(c.pvc(), Set.of()))) {
                return new Store(c.pvc(), InstanceDescription.CACHE, true, "cache of " + w.id(), w.id(), l, null, pod(w, c.container()));
            }
            if (k == VolumeKind.OTHER) {
                warnings.add("PVC " + c.pvc() + " (mounted by " + w.id() + " at " + c.mountPath() + ") is of unknown kind: kept as 'other'"
                        + " (not recreatable)");
            } else if (from != null && !CHART_NAMES.contains(w.name())) {
                warnings.add(w.id() + " is no workload of the chart by name: PVC " + c.pvc() + " taken as " + InstanceDescription.kindId(k)
                        + " from " + from + " (a renamed workload?)");
            }
            return new Store(c.pvc(), InstanceDescription.kindId(k), k.recreatable(), k.holds(), w.id(), l, null, pod(w, c.container()));
        }

        /** Precise code-intel uploads outside the blobstore: in external object storage, not in this backup. */
        private void uploads(Map<String, Var> env, List<Store> stores) {
            boolean blobstore = stores.stream().anyMatch(s -> s.kind().equals(InstanceDescription.kindId(VolumeKind.BLOBSTORE)));
            for (String var : UPLOAD_BACKEND) {
                String backend = env.containsKey(var) ? value(var, env) : null;
                if (backend != null && !backend.isBlank() && !backend.equalsIgnoreCase("blobstore") && !backend.equalsIgnoreCase("minio")) {
                    warnings.add("precise code-intel uploads live in external object storage (" + var + "=" + backend + " in "
                            + env.get(var).origin() + "): not in this backup; back the bucket up with the storage's own tools");
                    return;
                }
            }
            if (!blobstore) {
                warnings.add("no blobstore workload (blobstore.enabled=false?): precise code-intel uploads live in external object"
                        + " storage and are not in this backup");
            }
        }
    }
}
