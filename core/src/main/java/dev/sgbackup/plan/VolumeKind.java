package dev.sgbackup.plan;

import java.util.Locale;

/** What a Sourcegraph volume holds, and whether a new instance can regenerate it. */
public enum VolumeKind {
    GITSERVER(true, "cloned git repositories", "re-clone every repository from the code hosts"),
    ZOEKT(true, "search indexes (zoekt)", "re-index search (indexed-search rebuilds from gitserver)"),
    LSIF_BUNDLES(false, "precise code-intel bundles (3.2x bundle manager)", "re-upload precise indexes (LSIF/SCIP) from CI"),
    BLOBSTORE(false, "uploaded precise indexes and batch-change files (blobstore/MinIO)", "re-upload precise indexes from CI"),
    PROMETHEUS(false, "metrics history (Prometheus)", "metrics history is lost; new metrics start from zero"),
    GRAFANA(true, "dashboards state (Grafana; dashboards ship with Sourcegraph)", "Grafana starts with its shipped dashboards"),
    REDIS(true, "caches and sessions (Redis)", "users sign in again; caches refill"),
    OTHER(false, "unknown volume", "unknown: kept in every scope that includes volumes");

    private final boolean recreatable;
    private final String holds;
    private final String regenerate;

    VolumeKind(boolean recreatable, String holds, String regenerate) {
        this.recreatable = recreatable;
        this.holds = holds;
        this.regenerate = regenerate;
    }

    public boolean recreatable() {
        return recreatable;
    }

    public String holds() {
        return holds;
    }

    /** What the new instance must do when this volume is left out. */
    public String regenerate() {
        return regenerate;
    }

    /** Guesses the kind from a volume's name as Sourcegraph's deployments name them. */
    public static VolumeKind guess(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.contains("gitserver") || n.startsWith("repos")) {
            return GITSERVER;
        }
        if (n.contains("zoekt") || n.contains("indexed-search") || n.contains("search-index")) {
            return ZOEKT;
        }
        if (n.contains("lsif") || n.contains("bundle") || n.contains("precise")) {
            return LSIF_BUNDLES;
        }
        if (n.contains("blobstore") || n.contains("minio")) {
            return BLOBSTORE;
        }
        if (n.contains("prometheus") || n.contains("metrics")) {
            return PROMETHEUS;
        }
        if (n.contains("grafana")) {
            return GRAFANA;
        }
        if (n.contains("redis")) {
            return REDIS;
        }
        return OTHER;
    }
}
