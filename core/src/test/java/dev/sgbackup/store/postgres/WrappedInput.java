package dev.sgbackup.store.postgres;

import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A restore input over another whose artifact streams a test may replace (to hold, slow or break them). */
final class WrappedInput implements RestoreInput {
    interface Wrap {
        InputStream apply(ArtifactInfo artifact, InputStream stream) throws IOException;
    }

    private final RestoreInput base;
    private final int parallelism;
    private final Wrap wrap;

    WrappedInput(RestoreInput base, int parallelism, Wrap wrap) {
        this.base = base;
        this.parallelism = parallelism;
        this.wrap = wrap;
    }

    /**
     * A stream whose reads first count {@code reading} down, then wait (up to 20 s) for {@code release}, then
     * return at most 64 bytes: a load in progress that stays in progress until the test lets it go.
     */
    static InputStream held(InputStream in, CountDownLatch reading, CountDownLatch release) {
        return new FilterInputStream(in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                reading.countDown();
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                return super.read(b, off, Math.min(len, 64));
            }
        };
    }

    @Override
    public StoreBackup backup() {
        return base.backup();
    }

    @Override
    public InputStream open(ArtifactInfo artifact) throws IOException {
        return wrap.apply(artifact, base.open(artifact));
    }

    @Override
    public RestoreOptions options() {
        return base.options();
    }

    @Override
    public void warn(String message) {
        base.warn(message);
    }

    @Override
    public int parallelism() {
        return parallelism;
    }

    @Override
    public void checkCancelled() {
        base.checkCancelled();
    }
}
