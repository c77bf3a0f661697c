package dev.sgbackup.store.postgres;

import dev.sgbackup.run.CancelledException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PostgreSQL client binary ({@code pg_dump}, {@code pg_restore}) found on the PATH (or in {@code binDir}), with
 * its major version. Its single job is finding the binary, probing its version, and saying why it cannot serve a
 * server ({@link #unusable}); running it is {@link PgDump}'s and {@link PgRestore}'s.
 *
 * @param path    the executable
 * @param major   its major version, e.g. 16
 * @param version what {@code --version} printed
 */
record PgTool(Path path, int major, String version) {
    private static final Pattern VERSION = Pattern.compile("\\)\\s+(\\d+)(?:\\.(\\d+))?");

    /** The executable {@code name} in {@code binDir}, or else on the PATH. */
    static Optional<Path> onPath(String name, Path binDir) {
        if (binDir != null) {
            Path p = binDir.resolve(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The tool {@code name} (in {@code binDir}, or else on the PATH) and its version, from {@code --version}. */
    static Optional<PgTool> find(String name, Path binDir) {
        Optional<Path> p = onPath(name, binDir);
        if (p.isEmpty()) {
            return Optional.empty();
        }
        try {
            Process pr = new ProcessBuilder(p.get().toString(), "--version").redirectErrorStream(true).start();
            String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            pr.waitFor(10, TimeUnit.SECONDS);
            Matcher m = VERSION.matcher(out);
            if (!m.find()) {
                return Optional.empty();
            }
            return Optional.of(new PgTool(p.get(), Integer.parseInt(m.group(1)), out));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("interrupted while running " + name + " --version");
        }
    }

    /** Null if {@code tool} can dump a server of {@code serverMajor}, else the reason and the fix. */
    static String unusable(Optional<PgTool> tool, int serverMajor, String name) {
        if (tool.isEmpty()) {
            return name + " is not installed (not on the PATH); install postgresql-client-" + serverMajor + " or newer";
        }
        if (tool.get().major() < serverMajor) {
            return name + " " + tool.get().major() + " (" + tool.get().path() + ") is older than the server ("
                    + serverMajor + "); it needs " + name + " " + serverMajor + " or newer (postgresql-client-" + serverMajor + ")";
        }
        return null;
    }
}
