package dev.sgbackup.dedup;

/**
 * The chunker's sizes. A repository keeps one set for good: other sizes cut other boundaries and share
 * nothing with the chunks already stored. {@link #DEFAULT} was chosen by measurement (docs/dedup.md): 1 MiB
 * average costs 0.2–0.6 points more than 64 KiB on database COPY deltas and the same on files chunked one by
 * one, for 16× less index memory (1 million chunks ≈ 1 TB) and 16× fewer chunks to look up and fetch. Volumes
 * must be chunked file by file: a 1 MiB-chunked tar stream loses most of the dedup on small-file edits.
 */
record ChunkParams(int min, int avg, int max, int level) {
    static final ChunkParams DEFAULT = withAverage(1 << 20);

    ChunkParams {
        if (min < 64 || min > avg || avg > max || Integer.bitCount(avg) != 1) {
            throw new IllegalArgumentException("chunk sizes need 64 <= min <= avg <= max and avg a power of two, not "
                    + min + "/" + avg + "/" + max);
        }
    }

    /** min = avg / 4, max = avg * 4, normalization level 2, as the FastCDC paper suggests. */
    static ChunkParams withAverage(int avg) {
        return new ChunkParams(avg / 4, avg, avg * 4, 2);
    }
}
