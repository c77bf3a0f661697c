package dev.sgbackup.s3;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkProvider;
import java.net.URI;
import java.util.Set;

/**
 * Opens {@code s3://bucket/prefix} sinks for the core's provider lookup. Optional query parameters:
 * {@code region}, {@code endpoint} (an S3-compatible store), {@code path-style} ({@code true}/{@code false}).
 * Credentials come from the environment the way the AWS tools find them.
 */
public final class S3SinkProvider implements SinkProvider {
    private static final Set<String> PARAMS = Set.of("region", "endpoint", "path-style");
    private final java.util.Map<String, String> env;

    /** For {@link java.util.ServiceLoader}: credentials and settings from the process environment. */
    public S3SinkProvider() {
        this(null);
    }

    S3SinkProvider(java.util.Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Set<String> schemes() {
        return Set.of("s3");
    }

    @Override
    public String artifact() {
        return "dev.sgbackup:sgbackup-s3";
    }

    @Override
    public BackupSink open(URI uri) {
        if (!"s3".equalsIgnoreCase(uri.getScheme())) {
            throw new InvalidInputException("not an s3 URI: " + uri + "; use s3://bucket/prefix");
        }
        String bucket = uri.getAuthority();
        if (bucket == null || bucket.isBlank()) {
            throw new InvalidInputException("no bucket in '" + uri + "'; use s3://bucket/prefix");
        }
        if (bucket.contains("@")) {
            throw new InvalidInputException("credentials in an s3 URI are not supported (and would leak into"
                    + " logs); use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile");
        }
        S3Sink.Builder b = S3Sink.builder(bucket).prefix(uri.getPath() == null ? "" : uri.getPath());
        if (env != null) {
            b.env(env);
        }
        String q = uri.getRawQuery();
        if (q != null && !q.isEmpty()) {
            for (String part : q.split("&")) {
                int eq = part.indexOf('=');
                String name = SigV4.percentDecode(eq < 0 ? part : part.substring(0, eq));
                String value = SigV4.percentDecode(eq < 0 ? "" : part.substring(eq + 1));
                switch (name) {
                    case "region" -> b.region(value);
                    case "endpoint" -> b.endpoint(value);
                    case "path-style" -> {
                        if (!value.equals("true") && !value.equals("false")) {
                            throw new InvalidInputException("path-style=" + value + " in " + uri
                                    + " must be true or false");
                        }
                        b.pathStyle(Boolean.parseBoolean(value));
                    }
                    default -> throw new InvalidInputException("unknown parameter '" + name + "' in " + uri
                            + "; known: " + String.join(", ", new java.util.TreeSet<>(PARAMS)));
                }
            }
        }
        return b.build();
    }
}
