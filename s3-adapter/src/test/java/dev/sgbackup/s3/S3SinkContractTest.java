package dev.sgbackup.s3;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkContractTest;

/** The core's sink contract against a real S3 server (S3Proxy in a child JVM, SigV4 checked). */
class S3SinkContractTest extends SinkContractTest {
    @Override
    protected BackupSink newSink(int listPageSize) throws Exception {
        S3ProxyServer server = S3ProxyServer.get();
        return server.sinkBuilder(server.newBucket()).prefix("sourcegraph/prod").listPageSize(listPageSize).build();
    }
}
