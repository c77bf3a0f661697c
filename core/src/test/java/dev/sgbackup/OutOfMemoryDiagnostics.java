package dev.sgbackup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Registered for every core test (META-INF/services, junit-platform.properties): a test that fails with an
 * OutOfMemoryError, thrown or quoted in an assertion's message, leaves every thread's stack and the heap's use in
 * {@code target/oom-<test>.txt}, which {@code .ci/run} prints when the build fails. CI saw such failures twice in
 * StagedLoadTest with no way to see which thread was holding the heap.
 */
public final class OutOfMemoryDiagnostics implements TestExecutionExceptionHandler {
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable t) throws Throwable {
        if (mentionsOutOfMemory(t)) {
            try {
                write(context.getDisplayName().replaceAll("[^A-Za-z0-9_.-]", "_"), context.getUniqueId());
            } catch (Throwable ignored) {
                // diagnostics must never hide the failure
            }
        }
        throw t;
    }

    static boolean mentionsOutOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof OutOfMemoryError || String.valueOf(c.getMessage()).contains("OutOfMemoryError")) {
                return true;
            }
        }
        return false;
    }

    private static void write(String name, String test) throws IOException {
        StringBuilder b = new StringBuilder("test: ").append(test).append('\n');
        Runtime rt = Runtime.getRuntime();
        b.append("heap: used ").append((rt.totalMemory() - rt.freeMemory()) >> 20).append(" MiB of ").append(rt.maxMemory() >> 20)
                .append(" MiB\n");
        // runnable threads last: a CI log shows the end of the output
        var threads = new java.util.ArrayList<>(Thread.getAllStackTraces().entrySet());
        threads.sort(java.util.Comparator.comparing(e -> e.getKey().getState() == Thread.State.RUNNABLE));
        for (Map.Entry<Thread, StackTraceElement[]> e : threads) {
            b.append('\n').append('"').append(e.getKey().getName()).append("\" ").append(e.getKey().getState()).append('\n');
            StackTraceElement[] st = e.getValue();
            for (int i = 0; i < Math.min(st.length, 40); i++) {
                b.append("    at ").append(st[i]).append('\n');
            }
        }
        Path dir = Files.createDirectories(Path.of("target"));
        Files.writeString(dir.resolve("oom-" + name + ".txt"), b);
    }
}
