package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's Job loop at scale, simulated: 100 and then 200 shard steps with --max-jobs 20 against fabric8's CRUD
 * mock, with a lightweight Job controller that completes each Job after a fixed time (one step in twenty is four times
 * slower) instead of running workers. It counts the coordinator's requests at the API server (creates, deletes, its
 * informer's lists and watches, its backstop lists, pod and event reads): they grow linearly with the steps; the wall
 * time stays within one slowest step per wave of 20 (plus slack); never more than 20 Jobs are unfinished at once. The
 * coordinator's heap is measured with the coordinator in a JVM of its own (the mock server, which holds every Job,
 * stays in this one): {@link #theCoordinatorsHeapStaysFlatOver200Steps}.
 */
class KubernetesScaleTest {
    static final String NS = "sourcegraph";
    static final long FAST_MS = 100;
    static final long SLOW_MS = 400;

    KubernetesMockServer server;
    KubernetesClient client;
    final AtomicInteger coordinatorCalls = new AtomicInteger();
    final AtomicInteger unfinished = new AtomicInteger();
    final AtomicInteger maxUnfinished = new AtomicInteger();
    ScheduledExecutorService controller;
    SharedIndexInformer<Job> informer;

    @BeforeEach
    void start() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMixedDispatcher crud = new KubernetesMixedDispatcher(responses);
        Dispatcher d = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                String p = r.getPath();
                boolean coordinator = r.getMethod().equals("POST") || r.getMethod().equals("DELETE")
                        || p.contains("labelSelector=sgbackup.dev%2Fbackup-id") || p.contains("labelSelector=app.kubernetes.io")
                        || p.contains("/pods") || p.contains("/events");
                if (coordinator) {
                    coordinatorCalls.incrementAndGet();
                }
                return crud.dispatch(r);
            }
        };
        server = new KubernetesMockServer(new Context(), new MockWebServer(), responses, d, false);
        server.init();
        client = server.createClient();
        controller = Executors.newScheduledThreadPool(4);
        // the Job controller and kubelet, reduced to timing: each new Job completes after its step's time
        informer = client.batch().v1().jobs().inNamespace(NS).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Job j) {
                int now = unfinished.incrementAndGet();
                maxUnfinished.accumulateAndGet(now, Math::max);
                int i = Integer.parseInt(j.getMetadata().getAnnotations().get("sgbackup.dev/store").substring(5));
                controller.schedule(() -> complete(j.getMetadata().getName()), i % 20 == 7 ? SLOW_MS : FAST_MS, TimeUnit.MILLISECONDS);
            }

            @Override
            public void onUpdate(Job a, Job b) {
            }

            @Override
            public void onDelete(Job j, boolean unknown) {
            }
        }, 0);
    }

    private void complete(String name) {
        Job j = client.batch().v1().jobs().inNamespace(NS).withName(name).get();
        String t = Instant.now().toString();
        j.setStatus(new JobStatusBuilder().withSucceeded(1).withCompletionTime(t).withConditions(new JobConditionBuilder()
                .withType("Complete").withStatus("True").withLastTransitionTime(t).build()).build());
        unfinished.decrementAndGet();
        client.batch().v1().jobs().inNamespace(NS).resource(j).updateStatus();
    }

    @AfterEach
    void stop() {
        informer.close();
        controller.shutdownNow();
        client.close();
        server.destroy();
    }

    private static List<Job> jobs(String run, int n) {
        List<Job> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(new JobBuilder().withNewMetadata().withName("sgbackup-" + run.toLowerCase() + "-shard" + i).withNamespace(NS)
                    .addToLabels("app.kubernetes.io/name", "sgbackup").addToLabels("sgbackup.dev/backup-id", run)
                    .addToAnnotations("sgbackup.dev/store", "shard" + i).endMetadata().withNewSpec().withBackoffLimit(0).withNewTemplate()
                    .withNewSpec().addNewContainer().withName("worker").withImage("sgbackup").endContainer().withRestartPolicy("Never")
                    .endSpec().endTemplate().endSpec().build());
        }
        return out;
    }

    record Measured(int steps, int calls, Duration wall) {
    }

    private Measured run(String id, int n) throws Exception {
        coordinatorCalls.set(0);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        KubernetesCoordinator c = new KubernetesCoordinator(client, NS, new PrintStream(err, true, StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        KubernetesCoordinator.Outcome o = c.run(id, jobs(id, n), 20, Duration.ofMinutes(5), Duration.ofSeconds(30));
        Duration wall = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(o.ok()).as(err.toString(StandardCharsets.UTF_8)).isTrue();
        c.deleteRun(id);
        return new Measured(n, coordinatorCalls.get(), wall);
    }

    /**
     * The coordinator alone in its own JVM ({@code -Xmx64m}), against this JVM's mock server and Job controller: one
     * run of 200 steps with at most 20 Jobs, its used heap read after a full GC when 50, 100 and 200 steps have
     * succeeded (the hook is the coordinator's own state line). It must stay flat: at 200 steps under 1.5 times what
     * it was at 50. The mock server, which holds every Job, is not in that JVM.
     */
    @Test
    void theCoordinatorsHeapStaysFlatOver200Steps() throws Exception {
        String id = "20261202T142200Z-0c0200";
        List<String> cmd = List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorProcess.class.getName(),
                client.getConfiguration().getMasterUrl(), NS, id, "200", "20");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> out = new ArrayList<>();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                out.add(line);
            }
        }
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(String.join("\n", out)).isZero();
        Map<Integer, Long> heap = new HashMap<>();
        out.stream().filter(l -> l.startsWith("heap ")).forEach(l -> heap.put(Integer.parseInt(l.split(" ")[1]), Long.parseLong(l.split(" ")[2])));
        System.out.println("coordinator heap after GC (bytes) at 50/100/200 steps: " + heap.get(50) + " " + heap.get(100) + " "
                + heap.get(200));
        assertThat(heap).as(String.join("\n", out)).containsKeys(50, 100, 200);
        assertThat(heap.get(200)).isLessThan(heap.get(50) * 3 / 2);
        // and in absolute terms: less than 4 MiB more for 150 more steps (about 27 KiB a step)
        assertThat(heap.get(200) - heap.get(50)).isLessThan(4L << 20);
        assertThat(heap.get(100)).isLessThan(heap.get(50) * 3 / 2);
        assertThat(maxUnfinished.get()).isLessThanOrEqualTo(20);
    }

    /**
     * The coordinator's JVM for {@link #theCoordinatorsHeapStaysFlatOver200Steps}: args master URL, namespace, run id,
     * steps, max Jobs. Prints {@code heap N BYTES} (used heap after two full GCs) when step N of 50, 100 and the last
     * has succeeded, and exits 0 when the run succeeded.
     */
    public static final class CoordinatorProcess {
        public static void main(String[] args) throws Exception {
            String url = args[0];
            String ns = args[1];
            String id = args[2];
            int n = Integer.parseInt(args[3]);
            int max = Integer.parseInt(args[4]);
            PrintStream stdout = System.out;
            PrintStream lines = new PrintStream(java.io.OutputStream.nullOutputStream()) {
                @Override
                public void println(String line) {
                    for (int at : new int[] {50, 100, n}) {
                        if (line.endsWith(": succeeded (" + at + "/" + n + ")")) {
                            System.gc();
                            System.gc();
                            Runtime rt = Runtime.getRuntime(); // used heap (java.management is not read by core's module)
                            stdout.println("heap " + at + " " + (rt.totalMemory() - rt.freeMemory()));
                        }
                    }
                }
            };
            try (KubernetesClient c = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
                    new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl(url).withRequestRetryBackoffLimit(3).build()).build()) {
                KubernetesCoordinator k = new KubernetesCoordinator(c, ns, lines);
                KubernetesCoordinator.Outcome o = k.run(id, jobs(id, n), max, Duration.ofMinutes(5), Duration.ofSeconds(30));
                k.deleteRun(id);
                stdout.println("ok " + o.ok());
                System.exit(o.ok() ? 0 : 1);
            }
        }
    }

    @Test
    void twoHundredStepsWithMaxJobs20() throws Exception {
        Measured m100 = run("20261202T142200Z-000100", 100);
        Measured m200 = run("20261202T142200Z-000200", 200);
        System.out.println("scale: " + m100 + " " + m200 + " max unfinished " + maxUnfinished.get());
        assertThat(maxUnfinished.get()).isLessThanOrEqualTo(20);
        // creates + deletes are 2 per step; the informer's list and watch, the list of the Jobs to delete: a few per run
        assertThat(m200.calls()).isBetween(2 * 200, 2 * 200 + 20);
        assertThat(m100.calls()).isBetween(2 * 100, 2 * 100 + 20);
        // ten waves of 20 for 200 steps: each bounded by its slowest step (plus the loop's and the mock's overhead)
        assertThat(m200.wall()).isLessThan(Duration.ofMillis(10 * (SLOW_MS + 1000)));
    }
}
