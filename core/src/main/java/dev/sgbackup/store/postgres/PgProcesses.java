package dev.sgbackup.store.postgres;

import dev.sgbackup.run.CancelledException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Running the PostgreSQL client binaries as processes: waiting for them (an interrupt kills the process), killing
 * them, collecting and judging their stderr. Its single job is process handling for {@link PgDump} and
 * {@link PgRestore}, which build the command lines.
 */
final class PgProcesses {
    private PgProcesses() {
    }

    /** Kills a process forcibly and waits for it to end (so its connection is closed and its transaction gone). */
    static int kill(Process p) {
        p.destroyForcibly();
        boolean interrupted = false;
        int rc;
        while (true) {
            try {
                rc = p.waitFor();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return rc;
    }

    static void closeQuietly(OutputStream os) {
        try {
            os.close();
        } catch (IOException ignored) {
            // pg_restore ended
        }
    }

    /** Waits for a process; interrupted: kills it and throws {@link CancelledException}. */
    static int waitFor(Process p) {
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new CancelledException("pg_restore interrupted");
        }
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

    /** Keeps the last 64 KiB of a process's stderr. */
    static final class StderrCollector extends Thread {
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

        /** The text once the process closed its stderr (waits up to 10 s). */
        String finish() {
            try {
                join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancelledException("interrupted while reading pg_restore's messages");
            }
            return text();
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
