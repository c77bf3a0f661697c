package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.IntegrityException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** In-memory BackupOutput and RestoreInput for store tests (the engine does the real thing). */
final class MemoryIo {
    final Map<String, byte[]> bytes = new LinkedHashMap<>();
    final List<ArtifactInfo> artifacts = new ArrayList<>();
    final Map<String, String> properties = new LinkedHashMap<>();
    final List<String> warnings = new ArrayList<>();
    /** An artifact whose reading fails at its end, as a damaged artifact does. */
    String damaged;

    BackupOutput output() {
        return new BackupOutput() {
            @Override
            public ArtifactStream artifact(String name, Map<String, String> attributes) {
                return new ArtifactStream() {
                    final ByteArrayOutputStream buf = new ByteArrayOutputStream();
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
                        if (!done) {
                            done = true;
                            synchronized (MemoryIo.this) {
                                bytes.put(name, buf.toByteArray());
                                artifacts.add(new ArtifactInfo(name, "data/" + artifacts.size(), buf.size(), "",
                                        buf.size(), "", List.of(), attributes));
                            }
                        }
                    }
                };
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
            }
        };
    }

    StoreBackup backup() {
        return new StoreBackup("config", SourcegraphConfigStore.KIND, "test", properties, artifacts, List.of());
    }

    String text(String artifact) {
        return new String(bytes.get(artifact), StandardCharsets.UTF_8);
    }

    RestoreInput input(RestoreOptions options) {
        return new RestoreInput() {
            @Override
            public StoreBackup backup() {
                return MemoryIo.this.backup();
            }

            @Override
            public InputStream open(ArtifactInfo artifact) {
                byte[] b = bytes.get(artifact.name());
                if (artifact.name().equals(damaged)) {
                    ByteArrayInputStream in = new ByteArrayInputStream(b);
                    return new InputStream() {
                        @Override
                        public int read() {
                            int c = in.read();
                            if (c < 0) {
                                throw new IntegrityException(artifact.name() + " is damaged");
                            }
                            return c;
                        }

                        @Override
                        public int read(byte[] buf, int off, int len) {
                            int n = in.read(buf, off, len);
                            if (n < 0) {
                                throw new IntegrityException(artifact.name() + " is damaged");
                            }
                            return n;
                        }
                    };
                }
                return new ByteArrayInputStream(b);
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
        };
    }
}
