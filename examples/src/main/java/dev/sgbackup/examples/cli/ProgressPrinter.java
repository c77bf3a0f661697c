package dev.sgbackup.examples.cli;

import dev.sgbackup.run.Sizes;
import dev.sgbackup.run.ProgressEvent;
import dev.sgbackup.run.ProgressListener;
import java.io.PrintStream;
import java.time.Duration;

/** Progress on stderr: a one-line bar on a terminal, plain lines (steps and warnings only) otherwise. */
final class ProgressPrinter implements ProgressListener {
    private final PrintStream err;
    private final boolean terminal;
    private boolean barShown;

    ProgressPrinter(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public synchronized void onEvent(ProgressEvent e) {
        switch (e.type()) {
            case WARNING -> {
                clearBar();
                err.println("warning: " + (e.step() == null ? "" : e.step() + ": ") + e.message());
            }
            case STEP_STARTED -> {
                if (!terminal) {
                    err.println(e.step() + ": started");
                }
            }
            case STEP_FINISHED -> {
                clearBar();
                err.println(e.step() + ": done, " + Sizes.human(e.bytesDone()) + " so far");
            }
            case BYTES, ARTIFACT_FINISHED -> {
                if (terminal) {
                    bar(e);
                }
            }
            case RUN_FINISHED -> clearBar();
            default -> {
            }
        }
    }

    private void bar(ProgressEvent e) {
        StringBuilder sb = new StringBuilder("\r");
        if (e.bytesTotal() > 0) {
            int pct = (int) Math.min(100, e.bytesDone() * 100 / e.bytesTotal());
            int filled = pct / 4;
            sb.append('[').append("#".repeat(filled)).append(" ".repeat(25 - filled)).append("] ").append(pct).append("% ");
        }
        sb.append(Sizes.human(e.bytesDone()));
        if (e.bytesTotal() > 0) {
            sb.append(" / ").append(Sizes.human(e.bytesTotal()));
        }
        sb.append("  ").append(Sizes.human((long) e.throughput())).append("/s");
        Duration eta = e.eta();
        if (eta != null) {
            sb.append("  eta ").append(eta.toSeconds()).append('s');
        }
        if (e.step() != null) {
            sb.append("  ").append(e.step());
        }
        err.print(sb.append("\u001b[K"));
        err.flush();
        barShown = true;
    }

    private void clearBar() {
        if (barShown) {
            err.print("\r\u001b[K");
            barShown = false;
        }
    }
}
