package dev.sgbackup.store.volume;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.MemoryStoreIo;
import java.nio.file.Path;

/** Run in a child JVM by {@link VolumeBackupTest}: backs up args[0], prints "ok" or the refusal. */
public final class EncodingProbe {
    private EncodingProbe() {
    }

    public static void main(String[] args) throws Exception {
        try {
            VolumeStore.of("vol", Path.of(args[0])).backup(MemoryStoreIo.inDirectory("volume", Path.of(args[1])));
            System.out.println("ok");
        } catch (StoreException e) {
            System.out.println(e.getMessage());
        }
    }
}
