package dev.sgbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.SgBackup;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.sink.BackupSink;
import dev.sgbackup.sink.ForwardingSink;
import dev.sgbackup.sink.ObjectInfo;
import dev.sgbackup.sink.PendingObject;
import dev.sgbackup.sink.Sinks;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link DataStore} keeps, run through the public engine API as users run it (like
 * {@code SinkContractTest} for sinks): a round trip reproduces the source; a damaged artifact is refused with
 * {@link IntegrityException}; a non-empty target is refused without replace; a cancelled or failing restore leaves
 * the target as it was. Subclasses give a filled source, targets and a way to read a target's content.
 */
public abstract class DataStoreContractTest {
    @TempDir
    protected Path tmp;

    private FaultySink sink;
    private SgBackup sg;

    /** A store with data in it; the same name as the targets. */
    protected abstract DataStore source() throws Exception;

    /** A fresh, empty restore target (a new one each call). */
    protected abstract DataStore emptyTarget() throws Exception;

    /** A fresh restore target that already holds data different from the source's (a new one each call). */
    protected abstract DataStore nonEmptyTarget() throws Exception;

    /** A deterministic, comparable picture of everything the store holds (source or target). */
    protected abstract String contentOf(DataStore store) throws Exception;

    @BeforeEach
    void openSink() {
        sink = new FaultySink(Sinks.local(tmp.resolve("contract-sink")));
        sg = SgBackup.to(sink);
    }

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    private String backup() throws Exception {
        DataStore source = source();
        String id = sg.backup(source).backupId();
        sink.artifacts = sg.show(id).artifacts().stream().map(a -> a.key()).collect(Collectors.toSet());
        assertThat(sink.artifacts).as("the backup wrote artifacts").isNotEmpty();
        return id;
    }

    @Test
    void roundTripReproducesTheSource() throws Exception {
        String id = backup();
        DataStore target = emptyTarget();
        sg.restore(id, RestoreOptions.defaults(), target);
        assertThat(contentOf(target)).isEqualTo(contentOf(source()));
    }

    @Test
    void damagedArtifactIsRefusedAndAnEmptyTargetStaysEmpty() throws Exception {
        String id = backup();
        damageEveryArtifact();
        DataStore target = emptyTarget();
        String before = contentOf(target);
        assertThatThrownBy(() -> sg.restore(id, RestoreOptions.defaults(), target)).isInstanceOf(IntegrityException.class);
        assertThat(contentOf(target)).isEqualTo(before);
    }

    @Test
    void damagedArtifactIsRefusedAndAReplacedTargetIsUntouched() throws Exception {
        String id = backup();
        damageEveryArtifact();
        DataStore target = nonEmptyTarget();
        String before = contentOf(target);
        assertThatThrownBy(() -> sg.restore(id, new RestoreOptions(true, false), target)).isInstanceOf(IntegrityException.class);
        assertThat(contentOf(target)).isEqualTo(before);
    }

    @Test
    protected void nonEmptyTargetWithoutReplaceIsRefused() throws Exception {
        String id = backup();
        DataStore target = nonEmptyTarget();
        String before = contentOf(target);
        assertThatThrownBy(() -> sg.restore(id, RestoreOptions.defaults(), target)).isInstanceOf(InvalidInputException.class);
        assertThat(contentOf(target)).isEqualTo(before);
    }

    @Test
    protected void nonEmptyTargetWithReplaceGetsTheSource() throws Exception {
        String id = backup();
        DataStore target = nonEmptyTarget();
        sg.restore(id, new RestoreOptions(true, false), target);
        assertThat(contentOf(target)).isEqualTo(contentOf(source()));
    }

    @Test
    void cancelledRestoreLeavesAnEmptyTargetEmpty() throws Exception {
        cancelledRestoreLeavesTheTargetAsItWas(emptyTarget(), RestoreOptions.defaults());
    }

    @Test
    void cancelledRestoreLeavesAReplacedTargetAsItWas() throws Exception {
        cancelledRestoreLeavesTheTargetAsItWas(nonEmptyTarget(), new RestoreOptions(true, false));
    }

    private void cancelledRestoreLeavesTheTargetAsItWas(DataStore target, RestoreOptions options) throws Exception {
        String id = backup();
        String before = contentOf(target);
        Thread restorer = Thread.currentThread();
        sink.fault = Fault.interrupt(restorer);
        Throwable thrown;
        try {
            thrown = catchAll(() -> sg.restore(id, options, target));
        } finally {
            sink.fault = null;
            Thread.interrupted();
        }
        assertThat(sink.tripped).as("the restore read past the point of cancellation").isTrue();
        assertThat(thrown).as("a cancelled restore fails").isNotNull();
        assertThat(cancelled(thrown)).as("cancelled: %s", thrown).isTrue();
        assertThat(contentOf(target)).isEqualTo(before);
    }

    @Test
    void failureMidRestoreLeavesAnEmptyTargetEmpty() throws Exception {
        failureMidRestoreLeavesTheTargetAsItWas(emptyTarget(), RestoreOptions.defaults());
    }

    @Test
    void failureMidRestoreLeavesAReplacedTargetAsItWas() throws Exception {
        failureMidRestoreLeavesTheTargetAsItWas(nonEmptyTarget(), new RestoreOptions(true, false));
    }

    private void failureMidRestoreLeavesTheTargetAsItWas(DataStore target, RestoreOptions options) throws Exception {
        String id = backup();
        String before = contentOf(target);
        sink.fault = Fault.FAIL;
        Throwable thrown;
        try {
            thrown = catchAll(() -> sg.restore(id, options, target));
        } finally {
            sink.fault = null;
        }
        assertThat(sink.tripped).as("the restore read past the point of failure").isTrue();
        assertThat(thrown).as("a restore whose input breaks fails").isInstanceOf(SgBackupException.class);
        assertThat(contentOf(target)).isEqualTo(before);
    }

    private static boolean cancelled(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof CancelledException || c instanceof InterruptedException
                    || c instanceof java.io.InterruptedIOException || c instanceof java.nio.channels.ClosedByInterruptException) {
                return true;
            }
        }
        return false;
    }

    private interface Action {
        void run() throws Exception;
    }

    private static Throwable catchAll(Action a) {
        try {
            a.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private void damageEveryArtifact() throws IOException {
        for (String key : sink.artifacts) {
            Path p = tmp.resolve("contract-sink").resolve(key);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long offset = ch.size() / 2;
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, offset);
                b.put(0, (byte) (b.get(0) ^ 0x5a));
                b.rewind();
                ch.write(b, offset);
            }
        }
    }

    /** What goes wrong half-way through reading an artifact. */
    private interface Fault {
        Fault FAIL = () -> {
            throw new IOException("connection reset by the test half-way through the artifact");
        };

        static Fault interrupt(Thread restorer) {
            return () -> restorer.interrupt();
        }

        void trip() throws IOException;
    }

    /** A sink over another whose artifact reads can be made to fail or cancel half-way. */
    private static final class FaultySink extends ForwardingSink {
        volatile Set<String> artifacts = Set.of();
        volatile Fault fault;
        volatile boolean tripped;

        FaultySink(BackupSink base) {
            super(base);
        }

        @Override
        public PendingObject create(String key, long expectedSize) throws IOException {
            return inner.create(key, expectedSize);
        }

        @Override
        public InputStream read(String key) throws IOException {
            return wrap(key, inner.read(key), 0);
        }

        @Override
        public InputStream read(String key, long offset, long length) throws IOException {
            return wrap(key, inner.read(key, offset, length), offset);
        }

        private InputStream wrap(String key, InputStream in, long offset) throws IOException {
            Fault f = fault;
            if (f == null || !artifacts.contains(key)) {
                return in;
            }
            long size = inner.stat(key).map(ObjectInfo::size).orElse(0L);
            long at = size / 2 - offset;
            return new FilterInputStream(in) {
                long pos;
                boolean done;

                @Override
                public int read() throws IOException {
                    byte[] b = new byte[1];
                    int n = read(b, 0, 1);
                    return n < 0 ? -1 : b[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (pos >= at && !done) {
                        done = true;
                        tripped = true;
                        f.trip();
                    }
                    int max = pos < at ? (int) Math.min(len, at - pos) : len;
                    int n = super.read(b, off, max);
                    if (n > 0) {
                        pos += n;
                    }
                    return n;
                }
            };
        }

        @Override
        public void deleteAll(java.util.Collection<String> keys) throws IOException {
            inner.deleteAll(keys);
        }

        @Override
        public int removeStaleUploads(String prefix, java.time.Duration gracePeriod) throws IOException {
            return inner.removeStaleUploads(prefix, gracePeriod);
        }
    }
}
