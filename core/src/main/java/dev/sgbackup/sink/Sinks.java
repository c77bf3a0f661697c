package dev.sgbackup.sink;

import dev.sgbackup.run.InvalidInputException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/** Factories for sinks: {@code Sinks.local(path)}, {@code Sinks.memory()}, {@code Sinks.open("s3://bucket/prefix")}. */
public final class Sinks {
    private static final Map<String, BackupSink> NAMED_MEMORY = new ConcurrentHashMap<>();
    static final int DEFAULT_PAGE_SIZE = 1000;

    private Sinks() {
    }

    /** A sink in a local directory (created if missing). */
    public static BackupSink local(Path dir) {
        return new LocalSink(dir, DEFAULT_PAGE_SIZE);
    }

    /** A local sink whose listings return at most {@code pageSize} objects a page (for tests of paging). */
    public static BackupSink local(Path dir, int pageSize) {
        return new LocalSink(dir, pageSize);
    }

    /** A fresh, empty in-memory sink. */
    public static BackupSink memory() {
        return new MemorySink(Long.toHexString(System.nanoTime()), DEFAULT_PAGE_SIZE);
    }

    /** A fresh in-memory sink whose listings return at most {@code pageSize} objects a page. */
    public static BackupSink memory(int pageSize) {
        return new MemorySink(Long.toHexString(System.nanoTime()), pageSize);
    }

    /**
     * Opens a sink by URI: {@code file:///abs/dir}, {@code mem:/name} (shared within this JVM), and every
     * scheme an adapter on the class path provides ({@code s3://bucket/prefix} with sgbackup-s3,
     * {@code gs://bucket/prefix} with sgbackup-gcs).
     */
    public static BackupSink open(String uri) {
        URI u;
        try {
            u = URI.create(uri);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("invalid sink URI '" + uri + "': " + e.getMessage()
                    + "; use e.g. file:///var/backups/sourcegraph or s3://bucket/prefix");
        }
        return open(u);
    }

    /** See {@link #open(String)}. */
    public static BackupSink open(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "file" -> {
                if (uri.getPath() == null || uri.getPath().isEmpty()) {
                    throw new InvalidInputException("invalid sink URI '" + uri + "': a file URI needs an absolute path, e.g. file:///var/backups/sourcegraph");
                }
                return local(Path.of(uri));
            }
            case "mem" -> {
                return NAMED_MEMORY.computeIfAbsent(uri.getSchemeSpecificPart(),
                        n -> new MemorySink(n.replaceFirst("^/+", ""), DEFAULT_PAGE_SIZE));
            }
            default -> {
                Map<String, SinkProvider> providers = providers();
                SinkProvider p = providers.get(scheme);
                if (p == null) {
                    throw new InvalidInputException(unknownScheme(scheme, providers));
                }
                return p.open(uri);
            }
        }
    }

    static String unknownScheme(String scheme, Map<String, SinkProvider> providers) {
        TreeMap<String, String> known = new TreeMap<>();
        known.put("file", "dev.sgbackup:sgbackup-core");
        known.put("mem", "dev.sgbackup:sgbackup-core");
        providers.forEach((s, p) -> known.put(s, p.artifact()));
        String hint = switch (scheme) {
            case "s3" -> "; add dev.sgbackup:sgbackup-s3 to the class path";
            case "gs", "gcs" -> scheme.equals("gcs") ? "; Google Cloud Storage URIs are gs://bucket/prefix"
                    : "; add dev.sgbackup:sgbackup-gcs to the class path";
            default -> "";
        };
        return "no sink for scheme '" + scheme + "'; known: " + String.join(", ", known.keySet()) + hint;
    }

    /** The sink providers on the class path, by scheme. */
    public static Map<String, SinkProvider> providers() {
        Map<String, SinkProvider> m = new TreeMap<>();
        for (SinkProvider p : ServiceLoader.load(SinkProvider.class, Sinks.class.getClassLoader())) {
            for (String s : p.schemes()) {
                m.putIfAbsent(s.toLowerCase(Locale.ROOT), p);
            }
        }
        return m;
    }
}
