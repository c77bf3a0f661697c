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
 * time stays within one slowest step per wave of 20 (plus slack); never more than 20 Jobs are unfinished at once. It
 * does not measure the coordinator's heap: the mock server shares this JVM and holds every Job.
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
