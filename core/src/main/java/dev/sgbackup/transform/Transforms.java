package dev.sgbackup.transform;

import dev.sgbackup.run.InvalidInputException;

/** Rebuilds transforms from the ids a manifest recorded. */
public final class Transforms {
    private Transforms() {
    }

    /** The decoding side of a compression id ({@code zstd}, {@code gzip}). */
    public static Transform forId(String id) {
        return switch (id) {
            case ZstdTransform.ID -> new ZstdTransform(3);
            case GzipTransform.ID -> new GzipTransform(6);
            case StreamTransform.ID -> throw new InvalidInputException("this backup is encrypted ('" + id
                    + "'); give its passphrase or key (SGBACKUP_PASSPHRASE, or SgBackup.builder().encryption(...))");
            default -> throw new InvalidInputException("this backup uses transform '" + id
                    + "', which this version of sgbackup does not know; upgrade sgbackup to restore it");
        };
    }
}
