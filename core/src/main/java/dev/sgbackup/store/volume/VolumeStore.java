package dev.sgbackup.store.volume;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import dev.sgbackup.store.StoreKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A directory (a Docker volume, a Kubernetes persistent volume, any tree of files) backed up as one POSIX
 * tar artifact named {@code tar}, and restored into an empty directory or, with replace, over one.
 *
 * <p>Stored: regular files, directories (empty ones too), hard links, symbolic links exactly as links
 * (never followed), permission bits, modification times (whole seconds) and numeric owner and group.
 * Sockets, FIFOs and devices are skipped with a warning. See {@code docs/volume.md} for the restore rules.
 *
 * <pre>{@code
 * DataStore repos = VolumeStore.of("gitserver-0", Path.of("/data/repos"));
 * DataStore zoekt = VolumeStore.builder("zoekt", Path.of("/data/index")).exclude("*.tmp").build();
 * }</pre>
 */
public final class VolumeStore implements DataStore {
    /** The name of the one artifact a volume store writes. */
    public static final String ARTIFACT = "tar";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");
    private static final System.Logger LOG = System.getLogger(VolumeStore.class.getName());

    private final String name;
    private final Path dir;
    private final Excludes excludes;

    private VolumeStore(String name, Path dir, List<String> excludes) {
        this.name = checkName(name);
        this.dir = Objects.requireNonNull(dir, "dir").toAbsolutePath().normalize();
        this.excludes = new Excludes(excludes);
    }

    /** A volume store for {@code dir}, with nothing excluded. */
    public static VolumeStore of(String name, Path dir) {
        return new VolumeStore(name, dir, List.of());
    }

    /** A builder for a volume store with options (exclude globs). */
    public static Builder builder(String name, Path dir) {
        return new Builder(name, dir);
    }

    /** Options of a {@link VolumeStore}. */
    public static final class Builder {
        private final String name;
        private final Path dir;
        private final List<String> excludes = new ArrayList<>();

        private Builder(String name, Path dir) {
            this.name = name;
            this.dir = dir;
        }

        /**
         * Leaves out entries matching these globs. A glob without '/' matches a name at any depth
         * ({@code *.tmp}, {@code cache}); one with '/' matches the path from the volume root
         * ({@code objects/pack/tmp_*}, {@code /lost+found}). An excluded directory is left out whole.
         */
        public Builder exclude(String... globs) {
            for (String g : globs) {
                excludes.add(Objects.requireNonNull(g, "glob"));
            }
            return this;
        }

        public VolumeStore build() {
            return new VolumeStore(name, dir, excludes);
        }
    }

    private static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidInputException("store name '" + name + "' is not valid: use lowercase letters, digits,"
                    + " '.', '_' and '-', starting with a letter or digit (e.g. gitserver-0)");
        }
        return name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public StoreKind kind() {
        return StoreKind.VOLUME;
    }

    /** The directory backed up from, or restored into. */
    public Path directory() {
        return dir;
    }

    /** The exclude globs, in the order given. */
    public List<String> excludes() {
        return excludes.globs();
    }

    @Override
    public String describe() {
        return "directory " + dir + (excludes.isEmpty() ? "" : " excluding " + String.join(", ", excludes.globs()));
    }

    @Override
    public void checkBackup(CheckReport report) {
        String problem = FileNameEncoding.problem(FileNameEncoding.current());
        if (problem != null) {
            report.error(name, problem);
        }
        if (!Files.isDirectory(dir)) {
            report.error(name, dir + " is not a directory (or does not exist); name the volume's directory");
        } else if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            report.error(name, "cannot read " + dir + "; run as a user that can read the whole volume");
        } else if (Files.isRegularFile(dir.resolve("PG_VERSION"))) {
            report.error(name, pgDataRefusal());
        } else {
            for (String d : pgDataDirs()) {
                report.warn(name, pgDataNote(d));
            }
        }
    }

    /**
     * The volume's direct subdirectories that are a PostgreSQL data directory ({@code PG_VERSION}), not already
     * excluded: the single image's {@code postgresql/} in {@code /var/opt/sourcegraph}. A backup leaves them out.
     */
    List<String> pgDataDirs() {
        List<String> out = new ArrayList<>();
        try (var children = Files.list(dir)) {
            for (Path c : (Iterable<Path>) children.sorted()::iterator) {
                if (Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !isExcluded(c)
                        && Files.isRegularFile(c.resolve("PG_VERSION"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    out.add(c.getFileName().toString());
                }
            }
        } catch (IOException e) {
            // unreadable: the backup's walk reports it
        }
        return out;
    }

    private String pgDataNote(String sub) {
        boolean live = Files.exists(dir.resolve(sub).resolve("postmaster.pid"), java.nio.file.LinkOption.NOFOLLOW_LINKS);
        return dir.resolve(sub) + " is a PostgreSQL data directory (PG_VERSION" + (live ? ", postmaster.pid: running" : "")
                + ") and is left out of volume " + name + ": a copy of PGDATA file by file is not a consistent backup, and"
                + " databases are backed up logically (--postgres NAME=JDBC_URL; the single image's databases are"
                + " sourcegraph and sourcegraph-codeintel)";
    }

    private String pgDataRefusal() {
        return dir + " is a PostgreSQL data directory (PG_VERSION): sgbackup never copies one file by file (a live"
                + " PGDATA copied that way is not a consistent backup); back the databases up logically with --postgres"
                + " NAME=JDBC_URL instead";
    }

    @Override
    public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        String problem = FileNameEncoding.problem(FileNameEncoding.current());
        if (problem != null) {
            report.error(name, problem);
        }
        if (backup.artifacts().stream().noneMatch(a -> a.name().equals(ARTIFACT))) {
            report.error(name, "the backup of store '" + backup.name() + "' (kind " + backup.kind()
                    + ") has no '" + ARTIFACT + "' artifact; restore it with a store of its own kind");
        }
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
            report.error(name, "restore target " + dir + " exists and is not a directory; name a directory");
            return;
        }
        if (Files.isDirectory(dir)) {
            try {
                List<String> some = FileTrees.someChildren(dir, 5, TarRestore::ignorable);
                if (!some.isEmpty() && !options.replace()) {
                    report.error(name, name + " not empty", TarRestore.notEmptyMessage(dir, some));
                }
                for (String s : some) {
                    if (s.startsWith(TarRestore.STAGE_PREFIX) || s.startsWith(TarRestore.ASIDE_PREFIX)) {
                        report.warn(name, dir.resolve(s) + " is left over from an interrupted restore; remove it");
                    }
                }
            } catch (IOException e) {
                report.error(name, "cannot list restore target " + dir + ": " + e.getMessage());
            }
            if (!Files.isWritable(dir)) {
                report.error(name, "cannot write into restore target " + dir + "; run as a user that can");
            }
        } else {
            Path parent = dir.getParent();
            while (parent != null && !Files.exists(parent)) {
                parent = parent.getParent();
            }
            if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
                report.error(name, "cannot create restore target " + dir + " (" + parent
                        + " is not a writable directory)");
            }
        }
    }

    /** Bytes in the regular files that a backup would read now (a walk of the tree, no file is opened). */
    @Override
    public long estimateSize() {
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        long[] total = {0};
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    boolean pgData = dir.equals(d.getParent()) && Files.isRegularFile(d.resolve("PG_VERSION"));
                    return !d.equals(dir) && (isExcluded(d) || pgData) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !isExcluded(file)) {
                        total[0] += attrs.size();
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            return -1;
        }
        return total[0];
    }

    private boolean isExcluded(Path p) {
        if (excludes.isEmpty()) {
            return false; // no relative path to make, once per file of the walk
        }
        String rel = dir.relativize(p).toString();
        return excludes.excluded(rel, p.getFileName().toString());
    }

    @Override
    public void backup(BackupOutput out) throws IOException {
        FileNameEncoding.check(FileNameEncoding.current());
        if (!Files.isDirectory(dir)) {
            throw new StoreException("volume store '" + name + "': " + dir
                    + " is not a directory (or does not exist); name the volume's directory");
        }
        if (Files.isRegularFile(dir.resolve("PG_VERSION"))) {
            throw new InvalidInputException("volume store '" + name + "': " + pgDataRefusal());
        }
        List<String> pgData = pgDataDirs();
        Excludes effective = excludes;
        if (!pgData.isEmpty()) {
            List<String> globs = new ArrayList<>(excludes.globs());
            for (String d : pgData) {
                if (d.matches(".*[*?\\[\\]{}\\\\].*")) {
                    throw new InvalidInputException("volume store '" + name + "': " + pgDataNote(d) + "; its name has glob"
                            + " characters, so exclude it yourself (exclude glob) or name the volume's subdirectories");
                }
                globs.add("/" + d);
                out.warn(pgDataNote(d));
            }
            effective = new Excludes(globs);
            out.property("excluded.pgdata", String.join(" ", pgData));
        }
        TarWriter writer = new TarWriter(dir, effective, out);
        BackupOutput.ArtifactStream stream = out.artifact(ARTIFACT, Map.of("format", "pax"));
        try {
            writer.write(stream);
        } catch (IOException | RuntimeException | Error e) {
            stream.abort();
            throw e;
        }
        stream.close();
        out.property("files", Long.toString(writer.files));
        out.property("directories", Long.toString(writer.directories));
        out.property("symlinks", Long.toString(writer.symlinks));
        out.property("hardlinks", Long.toString(writer.hardLinks));
        out.property("bytes", Long.toString(writer.bytes));
        out.property("skipped", Long.toString(writer.skipped));
        if (out.deduplicated()) {
            out.property("unchanged", Long.toString(writer.reused)); // files taken from the parent backup, not read
        }
        if (!excludes.isEmpty()) {
            out.property("excludes", String.join(" ", excludes.globs()));
        }
        LOG.log(System.Logger.Level.DEBUG, "volume {0}: {1} files, {2} bytes", name, writer.files, writer.bytes);
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        FileNameEncoding.check(FileNameEncoding.current());
        ArtifactInfo artifact = in.artifacts().stream().filter(a -> a.name().equals(ARTIFACT)).findFirst()
                .orElseThrow(() -> new StoreException("the backup of store '" + in.backup().name() + "' (kind "
                        + in.backup().kind() + ") has no '" + ARTIFACT + "' artifact, so it is not a volume backup;"
                        + " restore it with a store of its own kind"));
        if (in.options().dryRun()) {
            try (InputStream raw = in.open(artifact)) {
                TarRestore.validate(name, raw);
            }
            return;
        }
        new TarRestore(name, dir, in).run(artifact);
    }

    @Override
    public String toString() {
        return "VolumeStore[" + name + ", " + dir + (excludes.isEmpty() ? "" : ", excludes=" + excludes.globs()) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VolumeStore v && v.name.equals(name) && v.dir.equals(dir)
                && v.excludes.globs().equals(excludes.globs());
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dir, excludes.globs());
    }
}
