package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.store.MemoryStoreIo;

/** Edits a recorded backup's properties, to build inputs a real source cannot produce. */
final class StoreBackupEdit {
    private StoreBackupEdit() {
    }

    static void withPrimaryKey(MemoryStoreIo out, String table, String column) throws Exception {
        ObjectNode fp = (ObjectNode) PgSchema.JSON.readTree(out.properties.get("schema.fingerprint"));
        ((ObjectNode) fp.path("tables").path(table)).putArray("pk").add(column);
        out.properties.put("schema.fingerprint", fp.toString());
    }
}
