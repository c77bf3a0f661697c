package dev.sgbackup.plan;

import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What decides whether a claim can be backed up from a CSI snapshot: each StorageClass's provisioner (cluster-scoped,
 * read here once so the coordinator needs no ClusterRole) and the {@code snapshot.storage.k8s.io/v1}
 * VolumeSnapshotClasses. Both are optional reads: a 404 (the snapshot CRDs are not installed) means no snapshot
 * class; a 403 is said as a warning, and the volumes are then read live.
 */
record KubernetesStorage(Map<String, String> provisioners, List<Map<String, Object>> classes) {
    static final String GROUP = "snapshot.storage.k8s.io";
    static final String DEFAULT_CLASS = "snapshot.storage.kubernetes.io/is-default-class";

    static io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext classContext() {
        return new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder().withGroup(GROUP).withVersion("v1")
                .withKind("VolumeSnapshotClass").withPlural("volumesnapshotclasses").withNamespaced(false).build();
    }

    static KubernetesStorage read(KubernetesClient c, KubernetesReads r) {
        Map<String, String> provisioners = new TreeMap<>();
        List<Map<String, Object>> classes = new ArrayList<>();
        try {
            c.storage().v1().storageClasses().list().getItems()
                    .forEach(sc -> provisioners.put(sc.getMetadata().getName(), sc.getProvisioner()));
        } catch (KubernetesClientException e) {
            r.warnings.add("cannot list storageclasses (" + e.getCode() + "): no CSI snapshot recorded, volumes are backed up live"
                    + " (discovery needs get and list on storageclasses and volumesnapshotclasses, cluster-scoped, for snapshots)");
            return new KubernetesStorage(Map.of(), List.of());
        }
        try {
            for (io.fabric8.kubernetes.api.model.GenericKubernetesResource g : c.genericKubernetesResources(classContext()).list()
                    .getItems()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", g.getMetadata().getName());
                m.put("driver", g.getAdditionalProperties().get("driver"));
                m.put("default", g.getMetadata().getAnnotations() != null
                        && "true".equals(g.getMetadata().getAnnotations().get(DEFAULT_CLASS)));
                classes.add(m);
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                r.warnings.add("cannot list volumesnapshotclasses (" + e.getCode() + "): no CSI snapshot recorded, volumes are backed"
                        + " up live (discovery needs get and list on volumesnapshotclasses, cluster-scoped, for snapshots)");
            }
        }
        return new KubernetesStorage(provisioners, classes);
    }

    /** A claim's storage: its class and size, the class's CSI driver, and the snapshot class of that driver (default first). */
    InstanceDescription.Storage storage(PersistentVolumeClaim p) {
        if (p == null || p.getSpec() == null) {
            return null;
        }
        String sc = p.getSpec().getStorageClassName();
        var req = p.getSpec().getResources() == null ? null : p.getSpec().getResources().getRequests();
        String size = req == null || req.get("storage") == null ? null : req.get("storage").toString();
        String driver = sc == null ? null : provisioners.get(sc);
        String snapshotClass = null;
        if (driver != null) {
            snapshotClass = classes.stream().filter(m -> driver.equals(m.get("driver")))
                    .sorted(Comparator.comparing((Map<String, Object> m) -> !Boolean.TRUE.equals(m.get("default")))
                            .thenComparing(m -> String.valueOf(m.get("name"))))
                    .map(m -> String.valueOf(m.get("name"))).findFirst().orElse(null);
        }
        return sc == null && size == null ? null : new InstanceDescription.Storage(sc, size, driver, snapshotClass);
    }
}
