package dev.sgbackup.store.postgres;

import dev.sgbackup.CancelledException;
import dev.sgbackup.InvalidInputException;
import dev.sgbackup.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.RestoreInput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The pg_dump strategy: {@code pg_dump -Fc} to an artifact, {@code pg_restore} from it. Secrets only in the environment. */
final class PgDump {
    private static final Pattern VERSION = Pattern.compile("\\)\\s+(\\d+)(?:\\.(\\d+))?");
    static final String ARTIFACT = "pg_dump";

    private PgDump() {
    }

    /** A binary found on the PATH (or in {@code binDir}), with its major version. */
    record Tool(Path path, int major, String version) {
    }

    static Optional<Path> find(String name, Path binDir) {
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

    static Optional<Tool> tool(String name, Path binDir) {
        Optional<Path> p = find(name, binDir);
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
            return Optional.of(new Tool(p.get(), Integer.parseInt(m.group(1)), out));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("interrupted while running " + name + " --version");
        }
    }

    /** Null if {@code tool} can dump a server of {@code serverMajor}, else the reason and the fix. */
    static String unusable(Optional<Tool> tool, int serverMajor, String name) {
        if (tool.isEmpty()) {
            return name + " is not installed (not on the PATH); install postgresql-client-" + serverMajor + " or newer";
        }
        if (tool.get().major() < serverMajor) {
            return name + " " + tool.get().major() + " (" + tool.get().path() + ") is older than the server ("
                    + serverMajor + "); it needs " + name + " " + serverMajor + " or newer (postgresql-client-" + serverMajor + ")";
        }
        return null;
    }

    static void backup(ConnectionSpec spec, Tool tool, List<String> tables, BackupOutput out) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(tool.path().toString(), "--format=custom", "--no-password",
                "--dbname=" + spec.database()));
        // the private copies of a JDBC restore that was killed (StagedLoad) are never part of the instance
        cmd.add("--exclude-schema=" + StagedLoad.SCHEMA_PREFIX + "*");
        for (String t : tables) {
            int dot = t.indexOf('.');
            cmd.add("--table=" + quotePattern(t.substring(0, dot)) + "." + quotePattern(t.substring(dot + 1)));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(spec.libpqEnv());
        Process p = pb.start();
        StderrCollector err = new StderrCollector(p.getErrorStream());
        err.start();
        p.getOutputStream().close();
        BackupOutput.ArtifactStream s = out.artifact(ARTIFACT, Map.of("format", "custom", "tool", tool.version()));
        boolean ok = false;
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                s.write(buf, 0, n);
            }
            int rc = waitFor(p);
            err.join(10_000);
            String stderr = spec.redactSecret(err.text());
            if (rc != 0 || hasError(stderr)) {
                throw new StoreException("pg_dump of " + spec.where() + " failed (exit " + rc + "): " + stderr.trim());
            }
            ok = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("pg_dump interrupted");
        } finally {
            if (ok) {
                s.close();
            } else {
                p.destroyForcibly();
                s.abort();
            }
        }
    }

    /** pg_restore into an empty database (or, with replace, over the existing objects in one transaction). */
    static void restore(ConnectionSpec spec, Tool tool, RestoreInput in, int jobs) throws IOException {
        ArtifactInfo a = in.artifacts().stream().filter(x -> x.name().equals(ARTIFACT)).findFirst()
                .orElseThrow(() -> new InvalidInputException("the backup has no pg_dump artifact"));
        boolean replace = in.options().replace();
        List<String> cmd = new ArrayList<>(List.of(tool.path().toString(), "--exit-on-error", "--no-owner",
                "--no-password", "--dbname=" + spec.database()));
        boolean parallel = jobs > 1 && !replace;
        if (replace) {
            cmd.addAll(List.of("--clean", "--if-exists", "--single-transaction"));
            if (jobs > 1) {
                in.warn("parallel pg_restore (-j) cannot run in a single transaction; restoring with one job");
            }
        }
        Path staged = null;
        try {
            if (parallel) {
                staged = Files.createTempFile("sgbackup-pgrestore", ".dump");
                try (InputStream is = in.open(a)) {
                    Files.copy(is, staged, StandardCopyOption.REPLACE_EXISTING);
                }
                cmd.add("--jobs=" + jobs);
                cmd.add(staged.toString());
            }
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().putAll(spec.libpqEnv());
            Process p = pb.start();
            StderrCollector err = new StderrCollector(p.getErrorStream());
            err.start();
            p.getInputStream().close();
            IOException pipeFailure = null;
            if (!parallel) {
                try (OutputStream os = p.getOutputStream(); InputStream is = in.open(a)) {
                    is.transferTo(os);
                } catch (IOException e) {
                    pipeFailure = e; // pg_restore may have stopped reading because it failed: report its message
                } catch (RuntimeException e) {
                    p.destroyForcibly(); // a damaged artifact: kill before pg_restore sees the end and commits
                    throw e;
                }
            } else {
                p.getOutputStream().close();
            }
            int rc = waitFor(p);
            err.join(10_000);
            String stderr = spec.redactSecret(err.text());
            if (rc != 0 || hasError(stderr)) {
                throw new StoreException("pg_restore into " + spec.where() + " failed (exit " + rc + "): " + stderr.trim()
                        + (replace ? "; it ran in one transaction, so the target is unchanged" : ""));
            }
            if (pipeFailure != null) {
                throw pipeFailure;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("pg_restore interrupted");
        } finally {
            if (staged != null) {
                Files.deleteIfExists(staged);
            }
        }
    }

    private static int waitFor(Process p) throws InterruptedException {
        return p.waitFor();
    }

    static boolean hasError(String stderr) {
        for (String line : stderr.split("\n")) {
            String l = line.toLowerCase(java.util.Locale.ROOT);
            if (l.contains("error:") || l.contains("fatal:")) {
                return true;
            }
        }
        return false;
    }

    private static String quotePattern(String ident) {
        return "\"" + ident.replace("\"", "\"\"") + "\"";
    }

    /** Keeps the last 64 KiB of a process's stderr. */
    private static final class StderrCollector extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        StderrCollector(InputStream in) {
            super("sgbackup-pg-stderr");
            setDaemon(true);
            this.in = in;
        }

        @Override
        public void run() {
            byte[] b = new byte[8192];
            int n;
            try {
                while ((n = in.read(b)) > 0) {
                    synchronized (buf) {
                        buf.write(b, 0, n);
                        if (buf.size() > 1 << 16) {
                            byte[] all = buf.toByteArray();
                            buf.reset();
                            buf.write(all, all.length - (1 << 15), 1 << 15);
                        }
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
