package dev.sgbackup.sink;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Optional;

/**
 * A sink that forwards only what every sink must offer to another sink: no conditional create, ranged reads and
 * batch deletes by the interface's defaults. Tests extend it to inject faults, or use it as is for a sink without
 * conditional create.
 */
public class ForwardingSink implements BackupSink {
    protected final BackupSink inner;

    public ForwardingSink(BackupSink inner) {
        this.inner = inner;
    }

    @Override
    public URI uri() {
        return inner.uri();
    }

    @Override
    public PendingObject create(String key) throws IOException {
        return inner.create(key);
    }

    @Override
    public InputStream read(String key) throws IOException {
        return inner.read(key);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        return inner.stat(key);
    }

    @Override
    public ListPage list(String prefix, String pageToken) throws IOException {
        return inner.list(prefix, pageToken);
    }

    @Override
    public void delete(String key) throws IOException {
        inner.delete(key);
    }
}
