package dev.sgbackup.transform;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.GZIPInputStream;

/**
 * gzip (RFC 1952) with the JDK's Deflater. Large streams are cut into 1 MiB blocks compressed in parallel
 * and written as consecutive gzip members, the way pigz does: the result is ordinary gzip that
 * {@code gzip -d} and {@link GZIPInputStream} read as one stream.
 */
final class GzipTransform implements Transform {
    static final String ID = "gzip";
    private final int level;

    GzipTransform(int level) {
        this.level = level;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public OutputStream wrap(OutputStream out, ArtifactContext context) {
        return new ParallelGzipOutputStream(out, level, 1 << 20, Runtime.getRuntime().availableProcessors());
    }

    @Override
    public InputStream unwrap(InputStream in, ArtifactContext context) throws IOException {
        return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
    }
}
