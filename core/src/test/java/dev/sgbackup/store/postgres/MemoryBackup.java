package dev.sgbackup.store.postgres;

import dev.sgbackup.IntegrityException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** In-memory BackupOutput / RestoreInput test double: keeps bytes, checks SHA-256 at EOF like the engine. */
final class MemoryBackup implements BackupOutput {
    final Map<String, String> properties = new ConcurrentHashMap<>();
    final Map<String, byte[]> data = new ConcurrentHashMap<>();
    final List<ArtifactInfo> artifacts = new CopyOnWriteArrayList<>();
    final List<String> warnings = new CopyOnWriteArrayList<>();
    final int parallelism;

    MemoryBackup(int parallelism) {
        this.parallelism = parallelism;
    }

    @Override
    public ArtifactStream artifact(String name, Map<String, String> attrs) {
        Map<String, String> attributes = Map.copyOf(attrs); // as the engine does
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        return new ArtifactStream() {
            boolean done;

            @Override
            public void write(int b) {
                buf.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                buf.write(b, off, len);
            }

            @Override
            public void abort() {
                done = true;
            }

            @Override
            public void close() {
                if (done) {
                    return;
                }
                done = true;
                byte[] bytes = buf.toByteArray();
                String key = "data/" + artifacts.size() + "-" + name;
                data.put(key, bytes);
                String sha = sha(bytes);
                artifacts.add(new ArtifactInfo(name, key, bytes.length, sha, bytes.length, sha, List.of(),
                        new LinkedHashMap<>(attributes)));
            }
        };
    }

    static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
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
        return parallelism;
    }

    @Override
    public void checkCancelled() {
    }

    StoreBackup storeBackup(String name) {
        return new StoreBackup(name, "postgres", name, properties, new ArrayList<>(artifacts), warnings);
    }

    RestoreInput input(String name, RestoreOptions options) {
        return input(storeBackup(name), options);
    }

    RestoreInput input(StoreBackup sb, RestoreOptions options) {
        List<String> warns = new CopyOnWriteArrayList<>();
        return new RestoreInput() {
            @Override
            public StoreBackup backup() {
                return sb;
            }

            @Override
            public InputStream open(ArtifactInfo a) {
                byte[] b = data.get(a.key());
                MessageDigest md;
                try {
                    md = MessageDigest.getInstance("SHA-256");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return new FilterInputStream(new ByteArrayInputStream(b)) {
                    private String digest;

                    @Override
                    public int read() throws IOException {
                        byte[] one = new byte[1];
                        int n = read(one, 0, 1);
                        return n < 0 ? -1 : one[0] & 0xff;
                    }

                    @Override
                    public int read(byte[] buf, int off, int len) throws IOException {
                        int n = super.read(buf, off, len);
                        if (n > 0) {
                            md.update(buf, off, n);
                        } else if (n < 0 && !(digest == null ? (digest = HexFormat.of().formatHex(md.digest())) : digest)
                                .equals(a.sha256())) {
                            throw new IntegrityException("artifact " + a.name() + " is damaged (SHA-256 mismatch)");
                        }
                        return n;
                    }
                };
            }

            @Override
            public RestoreOptions options() {
                return options;
            }

            @Override
            public void warn(String message) {
                warns.add(message);
            }

            @Override
            public int parallelism() {
                return 2;
            }

            @Override
            public void checkCancelled() {
            }
        };
    }
}
