package dev.sgbackup.store.volume;

import dev.sgbackup.run.CancelledException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes a restore's small files on a few threads while the archive is read on: creating, writing, closing a
 * file and setting its mode and time are file-system calls that run in parallel in the kernel, as restic's
 * restorer does. Memory is bounded: at most {@link #IN_FLIGHT} bytes of content wait or are being written. The
 * first failure is kept and rethrown to the reading thread ({@link #rethrow}, {@link #drain}); {@link #close}
 * waits for every task, so nothing writes into the stage after the restore has moved on (to a rollback, say).
 */
final class FileWriters implements AutoCloseable {
    /** Files up to this size are written in parallel; larger ones are streamed by the reading thread. */
    static final int SMALL = 256 << 10;
    static final int THREADS = 3;
    static final int IN_FLIGHT = 32 << 20;

    /** One file's writing, run on a writer thread. */
    interface Task {
        void run() throws IOException;
    }

    private final ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(r, "sgbackup-restore-write");
        t.setDaemon(true);
        return t;
    });
    private final Semaphore bytes = new Semaphore(IN_FLIGHT);
    private final Set<String> writing = ConcurrentHashMap.newKeySet();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object lock = new Object();
    private int running;

    /** Whether the file at {@code rel} is waiting or being written. */
    boolean writing(String rel) {
        return writing.contains(rel);
    }

    /** Queues {@code task}, which writes {@code rel} from {@code size} bytes it holds; waits while too much is in flight. */
    void submit(String rel, int size, Task task) throws IOException {
        int permits = Math.max(1, Math.min(size, IN_FLIGHT));
        acquire(permits);
        writing.add(rel);
        synchronized (lock) {
            running++;
        }
        pool.execute(() -> {
            try {
                if (failure.get() == null) {
                    task.run();
                }
            } catch (IOException | RuntimeException | Error e) {
                failure.compareAndSet(null, e);
            } finally {
                writing.remove(rel);
                bytes.release(permits);
                synchronized (lock) {
                    running--;
                    lock.notifyAll();
                }
            }
        });
        rethrow();
    }

    /** Waits until every queued file is written; rethrows the first failure. */
    void drain() throws IOException {
        synchronized (lock) {
            while (running > 0) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CancelledException("restore interrupted while writing files", e);
                }
            }
        }
        rethrow();
    }

    /** Throws the first failure of a writer thread, if there was one. */
    void rethrow() throws IOException {
        ThreadFailure.rethrow(failure.get());
    }

    private void acquire(int permits) throws IOException {
        try {
            bytes.acquire(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("restore interrupted while writing files");
        }
    }

    /** Waits for every task (their failures are the caller's to have seen) and stops the threads. */
    @Override
    public void close() {
        pool.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true; // the tasks are short: finish waiting, so nothing writes after we return
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
