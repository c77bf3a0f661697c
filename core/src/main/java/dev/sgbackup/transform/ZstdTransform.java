package dev.sgbackup.transform;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/**
 * zstd through Commons Compress on zstd-jni, with libzstd's own worker threads so compression uses every core,
 * and zstd's content checksum in every frame.
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
        int workers = Runtime.getRuntime().availableProcessors();
        ZstdCompressorOutputStream z = ZstdCompressorOutputStream.builder()
                .setOutputStream(out)
                .setLevel(level)
                .setChecksum(true)
                .setWorkers(workers > 1 ? workers : 0)
                .get();
        return new BufferedOutputStream(z, 1 << 17);
    }

    @Override
    public InputStream unwrap(InputStream in, ArtifactContext context) throws IOException {
        return new BufferedInputStream(new ZstdCompressorInputStream(in), 1 << 17);
    }
}
