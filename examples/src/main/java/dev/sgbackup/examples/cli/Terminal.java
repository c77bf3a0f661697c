package dev.sgbackup.examples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Whether stderr is a terminal, for the progress bar. {@code System.console()} is null as soon as stdout is
 * redirected ({@code ID=$(sgbackup backup ...)}), although stderr still shows on the terminal; Java 17 has no
 * {@code isatty}, so this reads where file descriptor 2 points ({@code /proc/self/fd/2}), or asks {@code test -t 2}
 * where there is no /proc.
 */
final class Terminal {
    private Terminal() {
    }

    /** True when this process's stderr is a terminal. */
    static boolean stderr() {
        Path fd = Path.of("/proc/self/fd/2");
        if (Files.exists(fd, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                return isTerminalDevice(Files.readSymbolicLink(fd).toString());
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                // fall through to the shell
            }
        }
        return testT2();
    }

    /** The decision: does a file descriptor that points to {@code target} write to a terminal? */
    static boolean isTerminalDevice(String target) {
        return target.startsWith("/dev/pts/") || target.matches("/dev/tty[A-Za-z0-9]*") || target.equals("/dev/console");
    }

    /** {@code sh -c 'test -t 2'} with this process's stderr. */
    private static boolean testT2() {
        try {
            Process p = new ProcessBuilder("sh", "-c", "test -t 2").redirectError(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return System.console() != null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return System.console() != null;
        }
    }
}
