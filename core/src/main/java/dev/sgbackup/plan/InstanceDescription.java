package dev.sgbackup.plan;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sgbackup.run.InvalidInputException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@link Discovery} found in a deployment: every store with its kind, whether a new instance can recreate it,
 * the deployment object it came from, where it lives, and a <em>reference</em> to its credentials (never a value).
 * Serialised as the instance file ({@link #FORMAT}, schema in docs/instance.md); {@link #toInstance()} turns it into
 * the {@link Instance} a plan is made from. One job, so one file (about 410 lines): the instance file's records, their
 * JSON form and their checks.
 *
 * @param format   always {@link #FORMAT}
 * @param deployment how the instance is deployed and what was read
 * @param version  Sourcegraph's version from the frontend image tag, or null when not knowable
 * @param stores   every store, databases first
 * @param warnings what was not understood, or read from a fallback; never silently dropped
 */
public record InstanceDescription(String format, Deployment deployment, String version, List<Store> stores, List<String> warnings) {
    /** The format id of the instance file. */
    public static final String FORMAT = "sgbackup.instance/v1";

    /** Store kinds besides the {@link VolumeKind}s (lower case, '_' as '-'): databases, caches, deployment files. */
    public static final String POSTGRES = "postgres";
    public static final String CACHE = "cache";
    public static final String FILES = "files";

    public InstanceDescription {
        stores = List.copyOf(stores);
        warnings = List.copyOf(warnings);
    }

    /**
     * The deployment.
     *
     * @param kind      {@code docker-compose}, {@code kubernetes} or {@code single-image}
     * @param project   the Compose project name (prefix of volume and network names); null otherwise
     * @param files     the files read (Compose files, the kubeconfig, the single image's directories)
     * @param input     {@code compose-config-json} (the output of {@code docker compose config --format json}),
     *                  {@code compose-yaml} (raw files, a fallback that warns), {@code kubernetes-api} or {@code data-directory}
     * @param namespace the Kubernetes namespace read; null otherwise
     * @param context   the kubeconfig context used; null otherwise
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Deployment(String kind, String project, List<String> files, String input, String namespace, String context) {
        /** A deployment that is not Kubernetes. */
        public Deployment(String kind, String project, List<String> files, String input) {
            this(kind, project, files, input, null, null);
        }

        public Deployment {
            files = List.copyOf(files);
        }
    }

    /**
     * One store.
     *
     * @param name        the store name a backup uses (databases: frontend, codeintel, codeinsights; volumes: the Compose volume key)
     * @param kind        {@code postgres}, a volume kind (gitserver, zoekt, lsif-bundles, blobstore, prometheus, grafana, redis,
     *                    other), {@code cache} or {@code files}
     * @param recreatable whether a new instance can recreate it
     * @param holds       what it holds
     * @param origin      the deployment object it came from, e.g. {@code service/pgsql}, {@code volume/gitserver-0},
     *                    {@code StatefulSet/gitserver}
     * @param location    where it lives
     * @param credentials a reference such as {@code env:PGPASSWORD@service/sourcegraph-frontend-0} or (Kubernetes)
     *                    {@code env:PGPASSWORD@Deployment/sourcegraph-frontend secretKeyRef:pgsql-auth/password}, or null;
     *                    never a value
     * @param pod         (Kubernetes) what a pod working on this store inherits from the workload's pod: for a volume the
     *                    workload that mounts it, for a database the frontend whose credentials it uses; null otherwise
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Store(String name, String kind, boolean recreatable, String holds, String origin, Location location, String credentials,
                        Pod pod) {
        /** A store without pod settings (every deployment but Kubernetes). */
        public Store(String name, String kind, boolean recreatable, String holds, String origin, Location location, String credentials) {
            this(name, kind, recreatable, holds, origin, location, credentials, null);
        }
    }

    /**
     * What a workload's pod template says about where its pods may run and who owns their files, as the Kubernetes
     * API spells it (field names and values of {@code PodSecurityContext}, {@code SecurityContext} and
     * {@code Toleration}, as plain maps). A worker pod for the store inherits it (docs/kubernetes.md). Never holds a
     * secret: pod templates carry none of these in their values.
     *
     * @param workload                 the workload it was read from, e.g. {@code StatefulSet/gitserver}
     * @param securityContext          the pod's {@code securityContext} (runAsUser, runAsGroup, fsGroup…), or empty
     * @param containerSecurityContext the {@code securityContext} of the container that mounts the store (of the
     *                                 first container for a database), or empty
     * @param nodeSelector             the pod's {@code nodeSelector}, or empty
     * @param tolerations              the pod's {@code tolerations}, or empty
     * @param priorityClassName        the pod's {@code priorityClassName}, or null
     * @param imagePullSecrets         the names of the pod's {@code imagePullSecrets}, or empty
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Pod(String workload, Map<String, Object> securityContext, Map<String, Object> containerSecurityContext,
                      Map<String, String> nodeSelector, List<Map<String, Object>> tolerations, String priorityClassName,
                      List<String> imagePullSecrets) {
        public Pod {
            securityContext = securityContext == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(securityContext));
            containerSecurityContext = containerSecurityContext == null ? Map.of()
                    : Collections.unmodifiableMap(new LinkedHashMap<>(containerSecurityContext));
            nodeSelector = nodeSelector == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(nodeSelector));
            tolerations = tolerations == null ? List.of() : tolerations.stream()
                    .map(t -> Collections.unmodifiableMap(new LinkedHashMap<>(t))).toList();
            imagePullSecrets = imagePullSecrets == null ? List.of() : List.copyOf(imagePullSecrets);
        }
    }

    /**
     * Where a store lives; only the fields that apply are set.
     *
     * @param volume    the Docker volume name (project-prefixed), for volumes and for the volume a database lives on
     * @param directory the host directory (bind mounts, or the local driver's {@code <volume-root>/<volume>/_data})
     * @param host      database host
     * @param port      database port
     * @param database  database name
     * @param user      database user
     * @param external  true for a database outside the deployment (its host is no service of it)
     * @param namespace the Kubernetes namespace of a PVC
     * @param pvc       the PersistentVolumeClaim a store lives on (Kubernetes)
     * @param mountPath where the workload mounts it
     * @param subPath   the sub-path of the volume the workload mounts, when it mounts one
     * @param node      the node the pod mounting it runs on, when one does
     * @param accessModes the PersistentVolumeClaim's access modes ({@code ReadWriteOnce}, {@code ReadWriteOncePod}…), when
     *                  known
     * @param storage   the PersistentVolumeClaim's storage class, size and CSI snapshot class, when discovery read them
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Location(String volume, String directory, String host, Integer port, String database, String user, Boolean external,
                           String namespace, String pvc, String mountPath, String subPath, String node, List<String> accessModes,
                           Storage storage) {
        public Location {
            accessModes = accessModes == null ? null : List.copyOf(accessModes);
        }

        /** A location with access modes and no storage details (an instance file of an older discover). */
        public Location(String volume, String directory, String host, Integer port, String database, String user, Boolean external,
                        String namespace, String pvc, String mountPath, String subPath, String node, List<String> accessModes) {
            this(volume, directory, host, port, database, user, external, namespace, pvc, mountPath, subPath, node, accessModes, null);
        }

        /** This location with the claim's storage details. */
        public Location withStorage(Storage s) {
            return new Location(volume, directory, host, port, database, user, external, namespace, pvc, mountPath, subPath, node,
                    accessModes, s);
        }

        /** A location without access modes (every deployment but Kubernetes). */
        public Location(String volume, String directory, String host, Integer port, String database, String user, Boolean external,
                        String namespace, String pvc, String mountPath, String subPath, String node) {
            this(volume, directory, host, port, database, user, external, namespace, pvc, mountPath, subPath, node, null);
        }

        /** A Docker volume or host directory. */
        public static Location directory(String volume, String directory) {
            return new Location(volume, directory, null, null, null, null, null, null, null, null, null, null);
        }

        /** A database; {@code volume} is the Docker volume it lives on, or null. */
        public static Location database(String volume, String host, Integer port, String database, String user, boolean external) {
            return new Location(volume, null, host, port, database, user, external ? Boolean.TRUE : null, null, null, null, null, null);
        }

        /** A PersistentVolumeClaim as a workload mounts it. */
        public static Location pvc(String namespace, String pvc, String mountPath, String subPath, String node) {
            return new Location(null, null, null, null, null, null, null, namespace, pvc, mountPath, subPath, node);
        }

        /** A PersistentVolumeClaim as a workload mounts it, with the claim's access modes. */
        public static Location pvc(String namespace, String pvc, String mountPath, String subPath, String node, List<String> accessModes) {
            return new Location(null, null, null, null, null, null, null, namespace, pvc, mountPath, subPath, node, accessModes);
        }
    }

    /**
     * Where a PersistentVolumeClaim's data lives, as discovery found it: what the Kubernetes executor needs to back it
     * up from a CSI snapshot (docs/kubernetes.md, "Placement and consistency") without reading cluster-scoped objects
     * itself.
     *
     * @param storageClass  the claim's StorageClass, or null (none named)
     * @param size          the claim's requested storage ({@code 100Gi}), or null
     * @param csiDriver     the StorageClass's provisioner, or null (no such StorageClass, or it could not be read)
     * @param snapshotClass a {@code snapshot.storage.k8s.io/v1} VolumeSnapshotClass whose driver is that provisioner
     *                      (the one annotated as the default when several are), or null: no CSI snapshot for this claim
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Storage(String storageClass, String size, String csiDriver, String snapshotClass) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The instance file. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write the instance description: " + e.getClass().getSimpleName());
        }
    }

    /** Reads an instance file; refuses another format. */
    public static InstanceDescription fromJson(String json) {
        InstanceDescription d;
        try {
            d = JSON.readValue(json, InstanceDescription.class);
        } catch (Exception e) {
            throw new InvalidInputException("not an instance file (" + FORMAT + "): " + e.getClass().getSimpleName());
        }
        if (d == null || !FORMAT.equals(d.format())) {
            throw new InvalidInputException("not an instance file: format is " + (d == null ? null : d.format()) + ", expected " + FORMAT);
        }
        return d;
    }

    /**
     * This description as the target of a restore of a backup from another deployment, whose volume stores have other
     * names ({@code repos} in the single image, {@code gitserver-0} in Compose, {@code repos-gitserver-0} in
     * Kubernetes): each backup volume with no store of its name here takes the one store here of the same kind, which
     * is renamed to it. Several stores of that kind (gitserver shards) are not a straight copy: no store is taken, and
     * a note says why; so does a kind with none here.
     *
     * @param backupVolumes the names of the backup's volume stores
     * @return the description with the matched stores renamed, and one note per backup volume it matched or could not
     */
    public Retargeted retarget(java.util.Collection<String> backupVolumes) {
        java.util.Set<String> names = new java.util.HashSet<>();
        stores.forEach(s -> names.add(s.name()));
        java.util.Map<String, String> renamed = new java.util.HashMap<>(); // target store -> backup store
        List<String> notes = new java.util.ArrayList<>();
        for (String b : backupVolumes) {
            if (names.contains(b)) {
                continue;
            }
            VolumeKind k = VolumeKind.guess(b);
            List<Store> same = stores.stream().filter(s -> s.kind().equals(kindId(k)) && !backupVolumes.contains(s.name())).toList();
            if (k == VolumeKind.OTHER || same.isEmpty()) {
                notes.add(b + ": the instance file has no store of that name" + (k == VolumeKind.OTHER ? "" : " or kind " + kindId(k))
                        + ": name its target with --volume " + b + "=DIR, or it is not restored");
            } else if (same.size() > 1 && k == VolumeKind.GITSERVER) {
                notes.add(b + ": the instance runs " + same.size() + " gitserver shards ("
                        + String.join(", ", same.stream().map(Store::name).toList()) + "): Sourcegraph assigns each repository to a"
                        + " shard by a hash of its name, so one gitserver's repos are not a straight copy into several. Not restored:"
                        + " the repositories re-clone from the code hosts into their shards (or name one shard with --volume "
                        + same.get(0).name() + "=DIR, which only helps the repositories that hash to it)");
            } else if (same.size() > 1) {
                notes.add(b + ": the instance file has " + same.size() + " stores of kind " + kindId(k) + " ("
                        + String.join(", ", same.stream().map(Store::name).toList()) + "): name the target with --volume " + b + "=DIR");
            } else if (renamed.containsKey(same.get(0).name())) {
                notes.add(b + ": " + same.get(0).name() + " already takes " + renamed.get(same.get(0).name()) + ": name the target with --volume "
                        + b + "=DIR");
            } else {
                Store t = same.get(0);
                renamed.put(t.name(), b);
                notes.add(b + ": restored into " + t.name() + " (the one " + kindId(k) + " store of the instance file, " + t.origin() + ")");
            }
        }
        List<Store> out = stores.stream().map(s -> renamed.containsKey(s.name())
                ? new Store(renamed.get(s.name()), s.kind(), s.recreatable(), s.holds(), s.origin(), s.location(), s.credentials(), s.pod())
                : s).toList();
        return new Retargeted(new InstanceDescription(format, deployment, version, out, warnings), notes);
    }

    /**
     * {@link #retarget}'s result.
     *
     * @param description the description with matched stores renamed to the backup's names
     * @param notes       what was matched, and what could not be and why
     */
    public record Retargeted(InstanceDescription description, List<String> notes) {
        public Retargeted {
            notes = List.copyOf(notes);
        }
    }

    /** The data store's kind for a volume kind. */
    static String kindId(VolumeKind k) {
        return k.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** This description without the stores named (e.g. those a CLI flag gives instead). */
    public InstanceDescription without(java.util.Set<String> names) {
        return new InstanceDescription(format, deployment, version, stores.stream().filter(s -> !names.contains(s.name())).toList(), warnings);
    }

    private boolean external(Store s) {
        return POSTGRES.equals(s.kind()) && s.location() != null && Boolean.TRUE.equals(s.location().external());
    }

    private boolean allDatabasesExternal() {
        List<Store> dbs = stores.stream().filter(s -> POSTGRES.equals(s.kind())).toList();
        return !dbs.isEmpty() && dbs.stream().allMatch(this::external);
    }

    /**
     * The instance to plan from: databases with JDBC URLs built from host, port, database and user (no password: a
     * run takes it from PGPASSWORD or the password file, as for {@code --postgres}), and the volumes with a host
     * directory, of every kind but caches, deployment files and Redis (never backed up). External databases: when
     * every database is external the instance is marked {@code externalPostgres} (the plan skips them, as {@code
     * --external-postgres} does); when only some are, those are left out and {@link #notes()} says so.
     */
    public Instance.Builder toInstance() {
        return toInstance(v -> null);
    }

    /**
     * {@link #toInstance()}, with each database's password read from the variable its {@code credentials} reference
     * names, in {@code env} (the environment sgbackup runs in, not the deployment's): {@code env:PGPASSWORD@…} takes
     * the value of PGPASSWORD, {@code env:CODEINSIGHTS_PGDATASOURCE@…} the password inside that URL. A variable not
     * set leaves the password to the run (PGPASSWORD or the password file).
     */
    public Instance.Builder toInstance(java.util.function.Function<String, String> env) {
        Instance.Builder b = Instance.builder();
        boolean allExternal = allDatabasesExternal();
        for (Store s : stores) {
            Location l = s.location();
            if (POSTGRES.equals(s.kind())) {
                if (l != null && l.host() != null && (allExternal || !external(s))) {
                    b.database(s.name(), jdbcUrl(l));
                    char[] password = password(s, env);
                    if (password != null) {
                        b.databasePassword(s.name(), password);
                    }
                }
            } else if (!CACHE.equals(s.kind()) && !FILES.equals(s.kind()) && l != null && l.directory() != null) {
                VolumeKind k = volumeKind(s.kind());
                if (k != VolumeKind.REDIS) {
                    b.volume(s.name(), Path.of(l.directory()), k);
                }
            }
        }
        return b.externalPostgres(allExternal);
    }

    /**
     * Where each store of {@link #toInstance()} came from, and what it leaves out, as plan notes: {@code
     * frontend: from service/pgsql (password: env:PGPASSWORD@service/migrator)}.
     */
    public List<String> notes() {
        List<String> out = new java.util.ArrayList<>();
        boolean allExternal = allDatabasesExternal();
        for (Store s : stores) {
            if (external(s) && !allExternal) {
                out.add(s.name() + ": external database at " + s.location().host() + " (" + s.origin() + "): not in this plan; the new"
                        + " instance reuses it in place (as --external-postgres)");
            } else if (CACHE.equals(s.kind()) || FILES.equals(s.kind()) || kindId(VolumeKind.REDIS).equals(s.kind())) {
                out.add(s.name() + ": " + s.kind() + " from " + s.origin() + ": not backed up (" + s.holds() + ")");
            } else if (!POSTGRES.equals(s.kind()) && s.location() != null && s.location().pvc() != null && s.location().directory() == null) {
                // a Kubernetes volume: no host directory to read from here
                out.add(s.name() + ": PVC " + s.location().pvc() + " (" + s.origin() + (s.location().node() == null ? ""
                        : ", node " + s.location().node()) + "): mount it and pass --volume " + s.name() + "=DIR (no Kubernetes"
                        + " executor mounts it for you yet)");
            } else {
                out.add(s.name() + ": from " + s.origin() + (s.credentials() == null ? "" : " (password: " + s.credentials() + ")"));
            }
        }
        return out;
    }

    /** The password a store's credential reference points to in {@code env}, or null. */
    public static char[] password(Store s, java.util.function.Function<String, String> env) {
        String ref = s.credentials();
        if (ref == null || !ref.startsWith("env:")) {
            return null;
        }
        int at = ref.indexOf('@');
        String var = ref.substring(4, at < 0 ? ref.length() : at);
        String value = env.apply(var);
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (!var.endsWith("PGDATASOURCE")) {
            return value.toCharArray();
        }
        try {
            String userInfo = java.net.URI.create(value.strip()).getRawUserInfo();
            int colon = userInfo == null ? -1 : userInfo.indexOf(':');
            return colon < 0 ? null : java.net.URLDecoder.decode(userInfo.substring(colon + 1), java.nio.charset.StandardCharsets.UTF_8)
                    .toCharArray();
        } catch (IllegalArgumentException e) {
            return null; // not a URL: the run falls back to PGPASSWORD; the value is never quoted
        }
    }

    /** {@code jdbc:postgresql://host:port/db?user=u}. */
    public static String jdbcUrl(Location l) {
        return "jdbc:postgresql://" + l.host() + ":" + (l.port() == null ? 5432 : l.port()) + "/"
                + (l.database() == null ? "sg" : l.database()) + (l.user() == null ? "" : "?user=" + l.user());
    }

    private static VolumeKind volumeKind(String kind) {
        for (VolumeKind k : VolumeKind.values()) {
            if (kindId(k).equals(kind)) {
                return k;
            }
        }
        return VolumeKind.OTHER;
    }
}
