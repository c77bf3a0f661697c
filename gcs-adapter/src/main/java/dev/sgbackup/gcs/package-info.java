/**
 * Google Cloud Storage sink: {@link dev.sgbackup.gcs.GcsSink} (built with {@code GcsSink.builder("bucket")} or
 * found for {@code gs://bucket/prefix} URIs through {@link dev.sgbackup.gcs.GcsSinkProvider}) and
 * {@link dev.sgbackup.gcs.GcsCredentials} (Application Default Credentials, key files, tokens). Talks to the GCS
 * JSON API over OkHttp; no Google client library is needed.
 */
package dev.sgbackup.gcs;
