package dev.sgbackup.sink;

import java.io.FileNotFoundException;

/** Thrown by {@link BackupSink#read} for a key that has no committed object. */
public class NoSuchObjectException extends FileNotFoundException {
    private final String key;

    public NoSuchObjectException(String key, String where) {
        super("no object '" + key + "' in " + where);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
