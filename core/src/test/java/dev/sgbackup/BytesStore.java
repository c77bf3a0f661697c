package dev.sgbackup;

import dev.sgbackup.store.Phase;
import dev.sgbackup.store.StoreKind;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/** A test store holding named byte arrays; as a target it collects what it restores. */
class BytesStore implements DataStore {
    final String name;
    final Map<String, byte[]> artifacts = new LinkedHashMap<>();
    final Map<String, byte[]> restored = new LinkedHashMap<>();
    /** If set, the backup throws this after writing half of the first artifact. */
    RuntimeException failMidway;

    BytesStore(String name) {
        this.name = name;
    }

    BytesStore with(String artifact, byte[] bytes) {
        artifacts.put(artifact, bytes);
        return this;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public StoreKind kind() {
        return StoreKind.of("bytes", Phase.VOLUMES);
    }

    @Override
    public String describe() {
        return artifacts.size() + " byte arrays";
    }

    @Override
    public void backup(BackupOutput out) throws IOException {
        out.property("count", String.valueOf(artifacts.size()));
        for (Map.Entry<String, byte[]> e : artifacts.entrySet()) {
            try (OutputStream o = out.artifact(e.getKey(), Map.of("len", String.valueOf(e.getValue().length)))) {
                if (failMidway != null) {
                    o.write(e.getValue(), 0, e.getValue().length / 2);
                    throw failMidway;
                }
                o.write(e.getValue());
            }
        }
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        Map<String, byte[]> staged = new LinkedHashMap<>();
        for (ArtifactInfo a : in.artifacts()) {
            try (InputStream s = in.open(a)) {
                staged.put(a.name(), s.readAllBytes());
            }
        }
        restored.putAll(staged); // only after every artifact verified
    }
}
