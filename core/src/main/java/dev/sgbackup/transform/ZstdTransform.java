package dev.sgbackup.transform;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * zstd through zstd-jni, with libzstd's own worker threads so compression uses every core.
 */
final class ZstdTransform implements Transform {
    static final String ID = "zstd";
    private final int level;

    ZstdTransform(int level) {
        this.level = level;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public OutputStream wrap(OutputStream out, ArtifactContext context) throws IOException {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, level);
        int workers = Runtime.getRuntime().availableProcessors();
        if (workers > 1) {
            z.setWorkers(workers);
        }
        z.setChecksum(true);
        return new BufferedOutputStream(z, 1 << 17);
    }

    @Override
    public InputStream unwrap(InputStream in, ArtifactContext context) throws IOException {
        ZstdInputStreamNoFinalizer z = new ZstdInputStreamNoFinalizer(in);
        return new BufferedInputStream(z, 1 << 17);
    }
}
