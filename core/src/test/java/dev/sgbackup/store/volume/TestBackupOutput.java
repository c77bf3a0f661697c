package dev.sgbackup.store.volume;

import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.StoreBackup;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * A {@link BackupOutput} double until the engine lands: keeps each artifact in a file under {@code dir}
 * (so a file of several hundred MB does not fill the heap) with its size and SHA-256, like the engine records.
 */
final class TestBackupOutput implements BackupOutput {
    private final Path dir;
    final List<ArtifactInfo> artifacts = new ArrayList<>();
    final Map<String, String> properties = new LinkedHashMap<>();
    final List<String> warnings = new ArrayList<>();
    final List<String> aborted = new ArrayList<>();
    /** Called at each checkCancelled(), with the call count: lets a test change the tree mid-walk. */
    IntConsumer onCheck = n -> { };
    /** Called before each write of the artifact, with the bytes written so far. */
    java.util.function.LongConsumer onWrite = n -> { };
    private int checks;

    TestBackupOutput(Path dir) {
        this.dir = dir;
    }

    @Override
    public ArtifactStream artifact(String name, Map<String, String> attributes) throws IOException {
        Path file = dir.resolve("artifact-" + artifacts.size() + "-" + name);
        OutputStream os = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        MessageDigest sha = sha256();
        return new ArtifactStream() {
            long size;
            boolean done;

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                onWrite.accept(size);
                os.write(b, off, len);
                sha.update(b, off, len);
                size += len;
            }

            @Override
            public void close() throws IOException {
                if (done) {
                    return;
                }
                done = true;
                os.close();
                String hex = HexFormat.of().formatHex(sha.digest());
                artifacts.add(new ArtifactInfo(name, "data/" + file.getFileName(), size, hex, size, hex, List.of(),
                        attributes));
            }

            @Override
            public void abort() {
                done = true;
                aborted.add(name);
                try {
                    os.close();
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    Path file(ArtifactInfo a) {
        return dir.resolve(a.key().substring("data/".length()));
    }

    @Override
    public void property(String key, String value) {
        properties.put(key, value);
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
    }

    @Override
    public int parallelism() {
        return 1;
    }

    @Override
    public void checkCancelled() {
        onCheck.accept(++checks);
    }

    StoreBackup storeBackup(String name) {
        return new StoreBackup(name, "volume", "test", properties, artifacts, warnings);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
