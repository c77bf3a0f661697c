package dev.sgbackup.sink;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/** A sink in memory, for tests and small experiments in JShell. Objects live as long as the sink. */
final class MemorySink implements BackupSink {
    private record Blob(byte[] bytes, Instant time) {
    }

    private final String name;
    private final int pageSize;
    private final ConcurrentSkipListMap<String, Blob> objects = new ConcurrentSkipListMap<>();

    MemorySink(String name, int pageSize) {
        this.name = name;
        this.pageSize = pageSize;
    }

    @Override
    public URI uri() {
        return URI.create("mem:/" + name);
    }

    @Override
    public PendingObject create(String key) {
        Keys.check(key);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        return new PendingObject() {
            private boolean committed;

            @Override
            public OutputStream stream() {
                return buf;
            }

            @Override
            public void commit() {
                if (!committed) {
                    objects.put(key, new Blob(buf.toByteArray(), Instant.now()));
                    committed = true;
                }
            }

            @Override
            public void close() {
                // nothing to clean up: uncommitted bytes are simply dropped
            }
        };
    }

    @Override
    public boolean putIfAbsent(String key, byte[] content) {
        Blob mine = new Blob(content.clone(), Instant.now());
        Blob had = objects.putIfAbsent(Keys.check(key), mine);
        return had == null;
    }

    @Override
    public boolean conditionalCreate() {
        return true;
    }

    @Override
    public InputStream read(String key) throws IOException {
        Blob b = objects.get(Keys.check(key));
        if (b == null) {
            throw new NoSuchObjectException(key, uri().toString());
        }
        return new ByteArrayInputStream(b.bytes);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        Blob b = objects.get(Keys.check(key));
        if (b == null) {
            throw new NoSuchObjectException(key, uri().toString());
        }
        int from = (int) Math.min(offset, b.bytes.length);
        int len = (int) Math.min(length, b.bytes.length - from);
        return new ByteArrayInputStream(b.bytes, from, len);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        Blob b = objects.get(Keys.check(key));
        return b == null ? Optional.empty() : Optional.of(new ObjectInfo(key, b.bytes.length, b.time));
    }

    @Override
    public ListPage list(String prefix, String pageToken) {
        Keys.checkPrefix(prefix);
        var tail = pageToken == null ? objects.tailMap(prefix, true) : objects.tailMap(pageToken, false);
        List<ObjectInfo> page = new ArrayList<>();
        String next = null;
        for (Map.Entry<String, Blob> e : tail.entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                break;
            }
            if (page.size() == pageSize) {
                next = page.get(page.size() - 1).key();
                break;
            }
            page.add(new ObjectInfo(e.getKey(), e.getValue().bytes.length, e.getValue().time));
        }
        return new ListPage(page, next);
    }

    @Override
    public void delete(String key) {
        objects.remove(Keys.check(key));
    }

    @Override
    public String toString() {
        return "MemorySink[" + name + ", " + objects.size() + " objects]";
    }
}
