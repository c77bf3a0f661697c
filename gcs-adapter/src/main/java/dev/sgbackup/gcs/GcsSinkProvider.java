package dev.sgbackup.gcs;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkProvider;
import java.net.URI;
import java.util.Set;

/**
 * Opens {@code gs://bucket/prefix} sinks for the core's provider lookup. Credentials come from Application
 * Default Credentials; {@code STORAGE_EMULATOR_HOST} points the sink at an emulator without authorization.
 */
public final class GcsSinkProvider implements SinkProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("gs");
    }

    @Override
    public String artifact() {
        return "dev.sgbackup:sgbackup-gcs";
    }

    @Override
    public BackupSink open(URI uri) {
        return builderFor(uri).build();
    }

    static GcsSink.Builder builderFor(URI uri) {
        if (!"gs".equalsIgnoreCase(uri.getScheme())) {
            throw new InvalidInputException("not a gs:// URI: " + uri);
        }
        String bucket = uri.getHost() != null ? uri.getHost() : uri.getAuthority();
        if (bucket == null || bucket.isEmpty()) {
            throw new InvalidInputException("the GCS URI '" + uri + "' has no bucket; write gs://BUCKET/optional/prefix");
        }
        if (uri.getRawUserInfo() != null || uri.getPort() != -1) {
            throw new InvalidInputException("the GCS URI gs://" + uri.getHost() + uri.getPath() + " must not carry credentials or a port "
                    + "(they were not printed); write gs://BUCKET/prefix "
                    + "and set GOOGLE_APPLICATION_CREDENTIALS");
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
            throw new InvalidInputException("the GCS URI '" + uri + "' has a query or fragment; write gs://BUCKET/prefix");
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        return GcsSink.builder(bucket).prefix(path);
    }
}
