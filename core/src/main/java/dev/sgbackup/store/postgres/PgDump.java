package dev.sgbackup.store.postgres;

import static dev.sgbackup.store.postgres.PgProcesses.hasError;
import static dev.sgbackup.store.postgres.PgProcesses.waitFor;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.postgres.PgProcesses.StderrCollector;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The pg_dump strategy: {@code pg_dump -Fc} to an artifact, {@code pg_restore} from it ({@link PgRestore}). Secrets
 * only in the environment. This class's single job is the backup half: running pg_dump into the artifact; the
 * binaries are found by {@link PgTool}.
 */
final class PgDump {
    static final String ARTIFACT = "pg_dump";

    private PgDump() {
    }

    static void backup(ConnectionSpec spec, PgTool tool, List<String> tables, BackupOutput out) throws IOException {
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

    private static String quotePattern(String ident) {
        return "\"" + ident.replace("\"", "\"\"") + "\"";
    }
}
