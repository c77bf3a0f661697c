package dev.sgbackup;

import dev.sgbackup.sink.Sinks;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.SinkProvider;
import java.io.IOException;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** An engine closes the sink it opened from a URI, once, and never a sink the caller handed in. */
class SgBackupCloseTest {
    static final AtomicInteger CLOSED = new AtomicInteger();

    /** Serves {@code closecount:} URIs with in-memory sinks that count their close calls (registered for tests). */
    public static final class CountingProvider implements SinkProvider {
        @Override
        public Set<String> schemes() {
            return Set.of("closecount");
        }

        @Override
        public BackupSink open(URI uri) {
            return counting(Sinks.memory());
        }
    }

    static BackupSink counting(BackupSink delegate) {
        return (BackupSink) java.lang.reflect.Proxy.newProxyInstance(BackupSink.class.getClassLoader(),
                new Class<?>[] {BackupSink.class}, (proxy, method, args) -> {
                    if (method.getName().equals("close") && method.getParameterCount() == 0) {
                        CLOSED.incrementAndGet();
                        return null;
                    }
                    try {
                        return method.invoke(delegate, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void anEngineClosesTheSinkItOpenedOnceAndNotOneItWasGiven() throws IOException {
        int before = CLOSED.get();
        try (SgBackup sg = SgBackup.to("closecount:/a")) {
            assertThat(sg.list()).isEmpty();
            sg.close(); // idempotent: the try block closes it again
        }
        assertThat(CLOSED.get() - before).as("the sink opened from a URI is closed once").isEqualTo(1);

        BackupSink given = counting(Sinks.memory());
        int mid = CLOSED.get();
        try (SgBackup sg = SgBackup.to(given)) {
            assertThat(sg.list()).isEmpty();
            try (SgBackup copy = sg.toBuilder().compression("gzip").build()) {
                assertThat(copy.list()).isEmpty();
            }
        }
        assertThat(CLOSED.get() - mid).as("a sink the caller handed in stays open").isZero();
        given.close();

        int last = CLOSED.get();
        SgBackup owner = SgBackup.builder().sink("closecount:/b").build();
        owner.toBuilder().build().close();
        assertThat(CLOSED.get() - last).as("a copy from toBuilder() leaves the sink to the engine that opened it").isZero();
        owner.close();
        assertThat(CLOSED.get() - last).isEqualTo(1);
    }
}
