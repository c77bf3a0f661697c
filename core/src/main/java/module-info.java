/**
 * sgbackup's core library: the engine, the built-in stores and sinks, and the SPI for more sinks.
 *
 * <p>Every package is API except {@code dev.sgbackup.internal} (the engine) and {@code dev.sgbackup.dedup} (the
 * deduplicated storage layer the engine uses for {@code dedup(true)} backups), which are not exported. The one
 * third-party type in the API is OkHttp's {@code OkHttpClient} (the HTTP-client hooks), hence
 * {@code requires transitive okhttp3}; the other libraries are used inside only.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // okhttp3, org.postgresql.jdbc, fabric8
module dev.sgbackup.core {
    requires transitive okhttp3;

    requires java.sql;
    requires com.fasterxml.jackson.core;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires com.google.common;
    requires org.apache.commons.compress;
    // zstd, the default compression: Commons Compress needs it only optionally (requires static), so name it
    requires com.github.luben.zstd_jni;
    requires org.postgresql.jdbc;
    // Kubernetes discovery: fabric8's client, an optional dependency (present at compile time, not needed at run
    // time unless Deployments.kubernetes() discovers or KubernetesManifests builds Jobs). Its jars declare no
    // Automatic-Module-Name: these names come from the file names kubernetes-client-api, kubernetes-model-core,
    // kubernetes-model-apps, kubernetes-model-batch, kubernetes-model-rbac and kubernetes-model-storageclass (discovery
    // reads StorageClasses to decide on CSI snapshots).
    requires static kubernetes.client.api;
    requires static kubernetes.model.core;
    requires static kubernetes.model.apps;
    requires static kubernetes.model.batch;
    requires static kubernetes.model.rbac;
    requires static kubernetes.model.storageclass;

    exports dev.sgbackup;
    exports dev.sgbackup.manifest;
    exports dev.sgbackup.plan;
    exports dev.sgbackup.run;
    exports dev.sgbackup.sink;
    exports dev.sgbackup.spi;
    exports dev.sgbackup.store;
    exports dev.sgbackup.store.postgres;
    exports dev.sgbackup.store.sourcegraph;
    exports dev.sgbackup.store.volume;
    exports dev.sgbackup.transform;

    // Sinks.of(URI) finds the sinks for other URI schemes (s3://, gs://) with ServiceLoader
    uses dev.sgbackup.sink.SinkProvider;
}
