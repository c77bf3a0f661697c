package dev.sgbackup.store.volume;

import dev.sgbackup.IntegrityException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A {@link RestoreInput} double until the engine lands. Like the engine's stream, it hashes what is read and
 * throws {@link IntegrityException} at the end (instead of returning -1) when size or SHA-256 differ from what
 * was recorded.
 */
final class TestRestoreInput implements RestoreInput {
    private final StoreBackup backup;
    private final Function<ArtifactInfo, Path> files;
    private final RestoreOptions options;
    final List<String> warnings = new ArrayList<>();
    int opened;

    TestRestoreInput(StoreBackup backup, Function<ArtifactInfo, Path> files, RestoreOptions options) {
        this.backup = backup;
        this.files = files;
        this.options = options;
    }

    static TestRestoreInput of(TestBackupOutput out, RestoreOptions options) {
        return new TestRestoreInput(out.storeBackup("vol"), out::file, options);
    }

    /** A restore input over a tar file made by hand; its hash is recorded as it is, so only the content is hostile. */
    static TestRestoreInput ofTar(Path tar, RestoreOptions options) {
        try {
            MessageDigest sha = TestBackupOutput.sha256();
            sha.update(Files.readAllBytes(tar));
            String hex = HexFormat.of().formatHex(sha.digest());
            long size = Files.size(tar);
            ArtifactInfo a = new ArtifactInfo("tar", "data/x", size, hex, size, hex, List.of(), Map.of());
            return new TestRestoreInput(new StoreBackup("vol", "volume", "test", Map.of(), List.of(a), List.of()),
                    x -> tar, options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public StoreBackup backup() {
        return backup;
    }

    @Override
    public InputStream open(ArtifactInfo artifact) throws IOException {
        opened++;
        MessageDigest sha = TestBackupOutput.sha256();
        return new FilterInputStream(Files.newInputStream(files.apply(artifact))) {
            long size;
            boolean verified;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n < 0) {
                    if (verified) {
                        return -1;
                    }
                    String hex = HexFormat.of().formatHex(sha.digest());
                    if (size != artifact.size() || !hex.equals(artifact.sha256())) {
                        throw new IntegrityException("artifact " + artifact.name() + " is damaged: " + size
                                + " bytes with SHA-256 " + hex + ", recorded " + artifact.size() + " bytes with "
                                + artifact.sha256());
                    }
                    verified = true;
                    return -1;
                }
                sha.update(b, off, n);
                size += n;
                return n;
            }

            @Override
            public long skip(long n) throws IOException {
                byte[] buf = new byte[(int) Math.min(n, 8192)];
                int r = read(buf, 0, buf.length);
                return Math.max(r, 0);
            }
        };
    }

    @Override
    public RestoreOptions options() {
        return options;
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
    }
}
