package dev.sgbackup.sink;

import dev.sgbackup.sink.BackupSink;
import java.net.URI;
import java.util.Set;

/**
 * Creates sinks for URI schemes; found with {@link java.util.ServiceLoader} (register the implementation in
 * {@code META-INF/services/dev.sgbackup.sink.SinkProvider}). Core provides {@code file} and {@code mem};
 * {@code sgbackup-s3} provides {@code s3}; {@code sgbackup-gcs} provides {@code gs}.
 */
public interface SinkProvider {

    /** Schemes this provider serves, lower case, e.g. {@code s3}. */
    Set<String> schemes();

    /** The Maven artifact that ships this provider, named in errors for unknown schemes. */
    default String artifact() {
        return "dev.sgbackup:sgbackup-core";
    }

    /** Opens a sink for {@code uri}; credentials come from the environment the way the provider's own tools do. */
    BackupSink open(URI uri);
}
