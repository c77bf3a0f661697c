package dev.sgbackup.manifest;

import dev.sgbackup.run.InvalidInputException;
import java.util.Objects;

/**
 * How deeply {@code SgBackup.verify} checks a <em>deduplicated</em> backup. A full backup is always read whole,
 * whatever the options (every artifact re-read and its sizes and hashes checked); the options change nothing there.
 *
 * <ul>
 *   <li>{@link #structure()} (the default): every tree object is checked against the manifest, every chunk it lists
 *       must be in its store's index, and every pack holding one must exist (one listing of the packs) with a size
 *       that covers the chunk. No chunk is read.</li>
 *   <li>{@link #readData()}: the structure, then every pack the backup references is read once, whole: its bytes
 *       must hash to its name, and each chunk the backup uses is authenticated, decompressed and re-hashed to its
 *       id.</li>
 *   <li>{@link #readDataSubset(int)}: the same for a random N% of the referenced packs (at least one, rounded up),
 *       chosen anew on each run; {@link #readDataSubset(int, int)}: for subset n of m, a fixed partition of the
 *       packs by name, so that running 1/m … m/m reads every pack once (as restic's {@code n/t}).</li>
 * </ul>
 *
 * <pre>{@code
 * sg.verify(id, VerifyOptions.readDataSubset(10));   // JShell-friendly; sg.verify(id) is structure()
 * }</pre>
 */
public final class VerifyOptions {
    private static final VerifyOptions STRUCTURE = new VerifyOptions(0, 0, 0);
    private static final VerifyOptions READ_DATA = new VerifyOptions(100, 0, 0);

    private final int percent;
    private final int subset;
    private final int subsets;

    private VerifyOptions(int percent, int subset, int subsets) {
        this.percent = percent;
        this.subset = subset;
        this.subsets = subsets;
    }

    /** Structure only: trees, index and pack existence and sizes; no chunk is read. The default. */
    public static VerifyOptions structure() {
        return STRUCTURE;
    }

    /** Structure, then every referenced pack read whole and every chunk the backup uses checked against its id. */
    public static VerifyOptions readData() {
        return READ_DATA;
    }

    /**
     * Structure, then a random {@code percent}% of the referenced packs (rounded up, at least one) read and checked.
     *
     * @param percent 1 to 100
     */
    public static VerifyOptions readDataSubset(int percent) {
        if (percent < 1 || percent > 100) {
            throw new InvalidInputException("the read-data subset must be 1% to 100%, not " + percent + "%");
        }
        return percent == 100 ? READ_DATA : new VerifyOptions(percent, 0, 0);
    }

    /**
     * Structure, then subset {@code n} of {@code m} of the referenced packs read and checked: a pack is in subset
     * {@code 1 + (its name's first 8 hex digits as a number mod m)}, so subsets 1/m … m/m together cover every pack.
     *
     * @param n 1 to {@code m}
     * @param m at least 1
     */
    public static VerifyOptions readDataSubset(int n, int m) {
        if (m < 1 || n < 1 || n > m) {
            throw new InvalidInputException("the read-data subset n/m needs 1 <= n <= m, not " + n + "/" + m);
        }
        return m == 1 ? READ_DATA : new VerifyOptions(0, n, m);
    }

    /**
     * Parses the CLI's {@code --read-data-subset} value: {@code N%} (e.g. {@code 10%}) or {@code n/m} (e.g.
     * {@code 2/5}).
     *
     * @throws InvalidInputException if it is neither
     */
    public static VerifyOptions parseSubset(String spec) {
        String s = spec == null ? "" : spec.strip();
        try {
            if (s.endsWith("%")) {
                return readDataSubset(Integer.parseInt(s.substring(0, s.length() - 1).strip()));
            }
            int slash = s.indexOf('/');
            if (slash > 0) {
                return readDataSubset(Integer.parseInt(s.substring(0, slash).strip()), Integer.parseInt(s.substring(slash + 1).strip()));
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new InvalidInputException("--read-data-subset takes N% (e.g. 10%) or n/m (e.g. 2/5), not '" + spec + "'");
    }

    /** Whether any chunk data is read (a deduplicated backup's packs). */
    public boolean readsData() {
        return percent > 0 || subsets > 0;
    }

    /** Whether every referenced pack is read. */
    public boolean readsAllData() {
        return percent == 100;
    }

    /** The percentage of packs read: 0 for {@link #structure()} and for an n/m subset, 100 for {@link #readData()}. */
    public int percent() {
        return percent;
    }

    /** n of an n/m subset, else 0. */
    public int subset() {
        return subset;
    }

    /** m of an n/m subset, else 0. */
    public int subsets() {
        return subsets;
    }

    /** {@code structure}, {@code read-data}, {@code read-data-subset 10%} or {@code read-data-subset 2/5}. */
    @Override
    public String toString() {
        if (!readsData()) {
            return "structure";
        }
        if (readsAllData()) {
            return "read-data";
        }
        return "read-data-subset " + (subsets > 0 ? subset + "/" + subsets : percent + "%");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VerifyOptions v && v.percent == percent && v.subset == subset && v.subsets == subsets;
    }

    @Override
    public int hashCode() {
        return Objects.hash(percent, subset, subsets);
    }
}
