package dev.sgbackup.store.postgres;

import static dev.sgbackup.store.postgres.PgProcesses.closeQuietly;
import static dev.sgbackup.store.postgres.PgProcesses.hasError;
import static dev.sgbackup.store.postgres.PgProcesses.kill;
import static dev.sgbackup.store.postgres.PgProcesses.waitFor;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.postgres.PgProcesses.StderrCollector;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The restore half of the pg_dump strategy: {@code pg_restore} from the {@code pg_dump} artifact, streamed in one
 * transaction or staged for a parallel restore that can be undone, and the decisions around it (one job or several,
 * room to stage). Its single job is that the target is unchanged unless the whole artifact passed its hash check
 * and pg_restore succeeded. Secrets only in the environment.
 */
final class PgRestore {
    private PgRestore() {
    }

    /** How many bytes of the artifact pg_restore gets only after the whole artifact passed its hash check. */
    static final int HOLD_BACK = 1 << 16;

    /**
     * Objects a parallel restore could collide with: anything created after initdb ({@code oid >= 16384}, the first
     * normal object id) in the catalogs pg_dump writes to. Zero means a failed parallel restore can be undone by
     * dropping what the archive defines, without touching anything that was there before.
     */
    static long userObjects(Connection c) throws SQLException {
        String[] catalogs = {"pg_namespace", "pg_class", "pg_proc", "pg_type", "pg_extension", "pg_operator",
            "pg_collation", "pg_conversion", "pg_ts_config", "pg_ts_dict", "pg_ts_parser", "pg_ts_template", "pg_opclass",
            "pg_opfamily", "pg_event_trigger", "pg_publication", "pg_foreign_data_wrapper", "pg_foreign_server",
            "pg_cast", "pg_language", "pg_statistic_ext", "pg_am", "pg_transform", "pg_default_acl",
            "pg_largeobject_metadata"};
        StringBuilder sql = new StringBuilder("SELECT 0");
        for (String cat : catalogs) {
            sql.append(" + (SELECT count(*) FROM pg_catalog.").append(cat).append(" WHERE oid >= 16384)");
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Why a restore with {@code jobs} runs in one job (in one transaction), or null if it runs in parallel. */
    static String oneJobBecause(int jobs, boolean replace, long userObjects) {
        if (jobs <= 1) {
            return null;
        }
        if (replace) {
            return "a restore with replace must run in one transaction, which pg_restore cannot do in parallel (-j)";
        }
        if (userObjects > 0) {
            return "the target has " + userObjects + " objects of its own (no tables, but functions, types, schemas or"
                    + " extensions), so a parallel restore (-j), which runs without one enclosing transaction, could not"
                    + " be undone safely if it failed";
        }
        return null;
    }

    /**
     * pg_restore into an empty database, or with replace over the dumped objects, so that the target is unchanged
     * unless the whole artifact passed its hash check and pg_restore succeeded:
     * <ul>
     * <li>one job: {@code --single-transaction}, the artifact streamed to pg_restore's stdin except its last
     * {@link #HOLD_BACK} bytes, which pg_restore needs before it can finish and commit; they follow only once the
     * stream reached its end and the hashes matched. A damaged artifact kills pg_restore first (its transaction
     * rolls back), then closes its stdin.</li>
     * <li>more jobs, into a database with no objects at all: the artifact is staged in a private temporary file and
     * read to its end (hashes checked) before pg_restore starts; if the parallel pg_restore fails, what the archive
     * defines is dropped again (pg_restore's own {@code --clean} statements), leaving the database empty.</li>
     * </ul>
     */
    static void restore(ConnectionSpec spec, PgTool tool, RestoreInput in, int jobs) throws IOException {
        ArtifactInfo a = in.artifacts().stream().filter(x -> x.name().equals(PgDump.ARTIFACT)).findFirst()
                .orElseThrow(() -> new InvalidInputException("the backup has no pg_dump artifact"));
        boolean replace = in.options().replace();
        String oneJob;
        if (jobs > 1 && !replace) {
            try (Connection c = spec.open()) {
                oneJob = oneJobBecause(jobs, false, userObjects(c));
            } catch (SQLException e) {
                throw new StoreException("cannot read the catalog of " + spec.where() + ": " + spec.redactSecret(e.getMessage()), e);
            }
        } else {
            oneJob = oneJobBecause(jobs, replace, 0);
        }
        if (oneJob != null) {
            in.warn("pg_restore runs with one job: " + oneJob);
        }
        List<String> kept = replace ? foreignExtensions(spec) : List.of();
        if (jobs > 1 && oneJob == null) {
            restoreParallel(spec, tool, in, a, jobs);
        } else if (!kept.isEmpty()) {
            in.warn("the target's extensions " + String.join(", ", kept) + " belong to another role, which "
                    + (spec.user() == null ? "the restoring role" : spec.user()) + " (not a superuser) cannot drop or comment on: pg_restore --clean leaves them as they"
                    + " are (their entries are left out of its list); the backup is staged in a temporary file for that");
            restoreListed(spec, tool, in, a, kept);
        } else {
            restoreStreamed(spec, tool, in, a, replace);
        }
    }

    /**
     * The extensions of the target that the restoring role can neither drop nor comment on: owned by another role
     * while the restoring role is not a superuser (e.g. pg_stat_statements, which only a superuser creates, in a
     * Compose database owned by a plain role {@code sg}). Empty when the target cannot be read: pg_restore then says.
     */
    static List<String> foreignExtensions(ConnectionSpec spec) {
        try (Connection c = spec.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT e.extname FROM pg_catalog.pg_extension e WHERE e.extname <> 'plpgsql'"
                     + " AND NOT pg_catalog.pg_has_role(e.extowner, 'USAGE')"
                     + " AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) ORDER BY 1")) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        } catch (SQLException e) {
            return List.of();
        }
    }

    /** Lines of {@code pg_restore -l} output without the entries of {@code extensions} (the extension and its comment). */
    static String withoutExtensions(String list, List<String> extensions) {
        StringBuilder out = new StringBuilder();
        for (String line : list.split("\n", -1)) {
            String t = line.strip();
            boolean drop = false;
            for (String ext : extensions) {
                if (!t.startsWith(";") && (t.endsWith(" EXTENSION - " + ext) || t.contains(" EXTENSION - " + ext + " ")
                        || t.endsWith(" COMMENT - EXTENSION " + ext) || t.contains(" COMMENT - EXTENSION " + ext + " "))) {
                    drop = true;
                }
            }
            if (!drop) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * With replace, when the target has extensions the restoring role cannot drop: the artifact is staged in a private
     * temporary file and read to its end (hashes checked), then restored with {@code --clean --if-exists
     * --single-transaction -L list}, the list being the archive's without those extensions' entries.
     */
    private static void restoreListed(ConnectionSpec spec, PgTool tool, RestoreInput in, ArtifactInfo a, List<String> kept)
            throws IOException {
        Path dir = privateTempDir();
        try {
            Path staged = stage(in, a, dir);
            Process lp = new ProcessBuilder(tool.path().toString(), "--list", staged.toString()).start(); // file only
            StderrCollector lerr = new StderrCollector(lp.getErrorStream());
            lerr.start();
            lp.getOutputStream().close();
            String list = new String(lp.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int lrc = waitFor(lp);
            if (lrc != 0) {
                throw new StoreException("pg_restore could not list the objects of the staged archive (exit " + lrc + "): "
                        + spec.redactSecret(lerr.finish()).trim() + "; nothing was restored");
            }
            Path listFile = dir.resolve("pg_restore.list");
            restrict(Files.createFile(listFile));
            Files.writeString(listFile, withoutExtensions(list, kept), StandardCharsets.UTF_8);
            List<String> cmd = command(spec, tool);
            cmd.addAll(List.of("--clean", "--if-exists", "--single-transaction", "--use-list=" + listFile, staged.toString()));
            Process p = start(spec, cmd);
            StderrCollector err = new StderrCollector(p.getErrorStream());
            err.start();
            p.getOutputStream().close();
            int rc;
            try {
                rc = waitFor(p);
            } catch (RuntimeException e) {
                kill(p);
                throw e;
            }
            String stderr = spec.redactSecret(err.finish());
            if (rc != 0 || hasError(stderr)) {
                throw new StoreException("pg_restore into " + spec.where() + " failed (exit " + rc + "): " + stderr.trim()
                        + "; it ran in one transaction, so " + spec.where() + " is unchanged");
            }
        } finally {
            deleteTree(dir);
        }
    }

    private static List<String> command(ConnectionSpec spec, PgTool tool) {
        return new ArrayList<>(List.of(tool.path().toString(), "--exit-on-error", "--no-owner", "--no-password",
                "--dbname=" + spec.database()));
    }

    private static Process start(ConnectionSpec spec, List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(spec.libpqEnv());
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
    }

    private static void restoreStreamed(ConnectionSpec spec, PgTool tool, RestoreInput in, ArtifactInfo a, boolean replace)
            throws IOException {
        List<String> cmd = command(spec, tool);
        if (replace) {
            cmd.addAll(List.of("--clean", "--if-exists"));
        }
        cmd.add("--single-transaction");
        String unchanged = "; it ran in one transaction, so " + spec.where() + " is unchanged";
        Process p = start(spec, cmd);
        StderrCollector err = new StderrCollector(p.getErrorStream());
        err.start();
        OutputStream os = p.getOutputStream();
        IOException pipeFailure = null; // pg_restore stopped reading: it failed (its messages say why) or it is done
        try {
            try (InputStream is = in.open(a)) {
                byte[] held = new byte[HOLD_BACK];
                byte[] buf = new byte[HOLD_BACK];
                int heldN = 0;
                int n;
                while ((n = is.readNBytes(buf, 0, buf.length)) > 0) {
                    in.checkCancelled();
                    if (heldN > 0 && pipeFailure == null) {
                        try {
                            os.write(held, 0, heldN);
                        } catch (IOException e) {
                            pipeFailure = e; // pg_restore stopped reading; go on reading so the hashes are checked
                        }
                    }
                    byte[] t = held;
                    held = buf;
                    buf = t;
                    heldN = n;
                }
                // readNBytes returned 0 only at the end of the stream, which checked the hashes
                if (pipeFailure == null && heldN > 0) {
                    try {
                        os.write(held, 0, heldN);
                    } catch (IOException e) {
                        pipeFailure = e;
                    }
                }
            }
        } catch (Throwable e) {
            // damaged, unreadable or cancelled: pg_restore has not seen the end of its archive, so it cannot have
            // committed; kill it before its stdin closes
            boolean finished = !p.isAlive();
            int rc = kill(p);
            closeQuietly(os);
            if (finished && rc == 0) {
                e.addSuppressed(new StoreException("pg_restore had finished successfully before the artifact was read to its"
                        + " end, so " + spec.where() + " may hold its restored content: restore another backup with replace"));
            }
            throw e;
        }
        closeQuietly(os);
        int rc = waitFor(p);
        String stderr = spec.redactSecret(err.finish());
        if (rc != 0 || hasError(stderr)) {
            throw new StoreException("pg_restore into " + spec.where() + " failed (exit " + rc + "): " + stderr.trim() + unchanged);
        }
        // pg_restore exited 0 before taking all of its input (it had what it needed), and the hashes matched: done
    }

    /** Copies the artifact into {@code dir} (owner-only) and reads it to its end, where its hashes are checked. */
    private static Path stage(RestoreInput in, ArtifactInfo a, Path dir) throws IOException {
        Path staged = dir.resolve("pg_dump.dump");
        restrict(Files.createFile(staged));
        try (InputStream is = in.open(a); OutputStream os = Files.newOutputStream(staged, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = is.read(buf)) >= 0) { // the end of the stream checks the hashes
                in.checkCancelled();
                os.write(buf, 0, n);
            }
        }
        return staged;
    }

    private static void restoreParallel(ConnectionSpec spec, PgTool tool, RestoreInput in, ArtifactInfo a, int jobs)
            throws IOException {
        Path dir = privateTempDir();
        try {
            Path staged = stage(in, a, dir);
            String drops = cleanScript(spec, tool, staged);
            List<String> cmd = command(spec, tool);
            cmd.add("--jobs=" + jobs);
            cmd.add(staged.toString());
            Process p = start(spec, cmd);
            StderrCollector err = new StderrCollector(p.getErrorStream());
            err.start();
            p.getOutputStream().close();
            int rc;
            try {
                rc = waitFor(p);
            } catch (RuntimeException e) {
                kill(p);
                String left = undo(spec, drops);
                if (left != null) {
                    e.addSuppressed(new StoreException(left));
                }
                throw e;
            }
            String stderr = spec.redactSecret(err.finish());
            if (rc != 0 || hasError(stderr)) {
                String left = undo(spec, drops);
                throw new StoreException("pg_restore -j " + jobs + " into " + spec.where() + " failed (exit " + rc + "): "
                        + stderr.trim() + (left != null ? "; " + left
                        : "; what it had created was dropped again, so the database is empty as before"));
            }
        } finally {
            deleteTree(dir);
        }
    }

    /** Null if the temporary directory has room for {@code bytes} staged, else what to do. */
    static String stagingSpaceProblem(long bytes) {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        try {
            long free = Files.getFileStore(tmp).getUsableSpace();
            if (free < bytes) {
                return "pg_restore -j stages the backup (" + bytes + " bytes) in " + tmp + ", which has only " + free
                        + " bytes free: free space there, point java.io.tmpdir elsewhere, or restore with one job (restoreJobs 1)";
            }
            return null;
        } catch (IOException e) {
            return null; // unknown: the copy reports it if it happens
        }
    }

    /** A temporary directory only this user can enter (0700 where the file system has POSIX permissions). */
    private static Path privateTempDir() throws IOException {
        try {
            return Files.createTempDirectory("sgbackup-pgrestore",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
            Path d = Files.createTempDirectory("sgbackup-pgrestore");
            d.toFile().setReadable(false, false);
            d.toFile().setReadable(true, true);
            d.toFile().setExecutable(false, false);
            d.toFile().setExecutable(true, true);
            return d;
        }
    }

    private static void restrict(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the private directory keeps others out
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    /**
     * The statements that drop everything the archive defines: the start of pg_restore's {@code --clean --if-exists}
     * script, before its first object is created (the session settings, then one DROP per object, in reverse order).
     */
    static String cleanScript(ConnectionSpec spec, PgTool tool, Path archive) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(tool.path().toString(), "--clean", "--if-exists", "--schema-only",
                "--no-owner", "--file=-", archive.toString()));
        Process p = new ProcessBuilder(cmd).start(); // reads the file only: no connection, no secrets in its environment
        StderrCollector err = new StderrCollector(p.getErrorStream());
        err.start();
        p.getOutputStream().close();
        StringBuilder sql = new StringBuilder();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            boolean done = false;
            while ((line = r.readLine()) != null) {
                if (done) {
                    continue; // drain
                }
                if (line.startsWith("-- Name: ") || line.startsWith("-- TOC entry") || line.startsWith("-- Data for Name: ")) {
                    done = true;
                } else if (!line.startsWith("--") && !line.startsWith("\\")) {
                    sql.append(line).append('\n');
                }
            }
            int rc = waitFor(p);
            err.join(10_000);
            if (rc != 0) {
                throw new StoreException("pg_restore could not list the objects of the staged archive (exit " + rc + "): "
                        + spec.redactSecret(err.text()).trim() + "; nothing was restored");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CancelledException("pg_restore interrupted");
        }
        return sql.toString();
    }

    /**
     * Drops what a failed parallel restore created (the database had no objects before), in one transaction. Null
     * when done, else what is left and what to do.
     */
    private static String undo(ConnectionSpec spec, String drops) {
        try (Connection c = spec.open(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute(drops);
            c.commit();
            return null;
        } catch (SQLException | RuntimeException e) {
            return "dropping what it had created failed too (" + spec.redactSecret(String.valueOf(e.getMessage()))
                    + "), so " + spec.where() + " holds part of the backup: drop and recreate the database empty, or"
                    + " restore again with replace (one transaction)";
        }
    }
}
