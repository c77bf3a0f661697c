package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's Job loop (package-private in core, so tested here with a reduced Job controller; the whole run on
 * a simulated kubelet is examples' KubernetesClusterSimulationTest) against fabric8's CRUD mock behind a dispatcher that answers the first watch of the run's
 * Jobs with {@code 410 Gone} (as an API server does when the watched resource version is too old): the informer lists
 * again and the run still sees every Job finish, well before the coordinator's own backstop list would have run; and
 * no more than --max-jobs Jobs run at once.
 */
class KubernetesCoordinatorTest {
    static final String NS = "sourcegraph";
    static final String RUN = "20261202T142200Z-0a1b2c";

    @TempDir
    Path tmp;
    KubernetesMockServer server;
    KubernetesClient client;
    final AtomicInteger gone = new AtomicInteger();
    final AtomicInteger runLists = new AtomicInteger();
    final AtomicInteger runWatches = new AtomicInteger();

    @BeforeEach
    void start() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMixedDispatcher crud = new KubernetesMixedDispatcher(responses);
        Dispatcher d = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                String p = r.getPath();
                boolean runJobs = r.getMethod().equals("GET") && p.contains("/jobs?") && p.contains("sgbackup.dev%2Fbackup-id%3D" + RUN);
                if (runJobs && p.contains("watch=true")) {
                    runWatches.incrementAndGet();
                    if (gone.getAndIncrement() == 0) {
                        return new MockResponse().setResponseCode(410).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                                + "\"Failure\",\"message\":\"too old resource version: 1 (42)\",\"reason\":\"Expired\",\"code\":410}");
                    }
                } else if (runJobs) {
                    runLists.incrementAndGet();
                }
                return crud.dispatch(r);
            }
        };
        server = new KubernetesMockServer(new Context(), new MockWebServer(), responses, d, false);
        server.init();
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    private Job job(int i) {
        return new JobBuilder().withNewMetadata().withName("sgbackup-" + RUN.toLowerCase() + "-s" + i).withNamespace(NS)
                .addToLabels("app.kubernetes.io/name", "sgbackup").addToLabels("sgbackup.dev/backup-id", RUN)
                .addToAnnotations("sgbackup.dev/store", "s" + i).endMetadata().withNewSpec().withBackoffLimit(0).withNewTemplate()
                .withNewSpec().addNewContainer().withName("worker").withImage("sgbackup").withArgs("--help").endContainer()
                .withRestartPolicy("Never").endSpec().endTemplate().endSpec().build();
    }

    @Test
    void aWatchAnswered410GoneIsListedAgainAndTheRunFinishes() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<Job> jobs = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            jobs.add(job(i));
        }
        try (JobController kubelet = new JobController(client, NS, 300)) {
            KubernetesCoordinator c = new KubernetesCoordinator(client, NS, new PrintStream(err, true, StandardCharsets.UTF_8));
            long t0 = System.nanoTime();
            // the coordinator's own backstop list only after 10 minutes: only the informer can see these Jobs finish
            KubernetesCoordinator.Outcome o = c.run(RUN, jobs, 2, Duration.ofMinutes(5), Duration.ofMinutes(10));
            assertThat(o.ok()).as(err.toString(StandardCharsets.UTF_8)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMinutes(3));
            assertThat(gone.get()).as("the first watch was answered 410 Gone").isGreaterThanOrEqualTo(2);
            assertThat(runLists.get()).as("the informer listed again after 410").isGreaterThanOrEqualTo(2);
            assertThat(c.informerRestarts.get()).isPositive();
            assertThat(kubelet.started()).hasSize(4);
            assertThat(kubelet.maxConcurrent()).isLessThanOrEqualTo(2);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("succeeded (4/4)");
        }
    }

    /** With a progress source, each success line carries the step's bytes and running steps are reported periodically. */
    @Test
    void runningAndFinishedStepsAreReportedWithTheirBytes() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<Job> jobs = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            jobs.add(job(i));
        }
        try (JobController kubelet = new JobController(client, NS, 1500)) {
            KubernetesCoordinator c = new KubernetesCoordinator(client, NS, new PrintStream(err, true, StandardCharsets.UTF_8));
            c.progress = ordinal -> ordinal + ".5KiB read";
            c.progressEvery = Duration.ofMillis(200);
            KubernetesCoordinator.Outcome o = c.run(RUN, jobs, 2, Duration.ofMinutes(5), Duration.ofSeconds(30));
            String lines = err.toString(StandardCharsets.UTF_8);
            assertThat(o.ok()).as(lines).isTrue();
            assertThat(lines).contains("step s1: running, 1.5KiB read", "step s4: running, 4.5KiB read");
            // s3 and s4 run at once, so either may finish last: each success line carries its own step's bytes, and
            // the last one counts 4/4
            for (int i = 1; i <= 4; i++) {
                assertThat(lines).containsPattern("step s" + i + ": succeeded \\([1-4]/4\\), " + i + "\\.5KiB read");
            }
            assertThat(lines).containsPattern("step s([34]): succeeded \\(4/4\\), \\1\\.5KiB read");
            // only steps whose Jobs exist and have not finished are reported running
            assertThat(lines.substring(lines.indexOf("step s1: succeeded"))).doesNotContain("step s1: running");
        }
    }

    /**
     * The Job controller and kubelet reduced to timing: each new Job runs (counted, at most how many at once) and
     * completes after {@code millis}.
     */
    static final class JobController implements AutoCloseable {
        private final KubernetesClient client;
        private final String namespace;
        private final java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newScheduledThreadPool(2);
        private final List<String> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final AtomicInteger running = new AtomicInteger();
        private final AtomicInteger maxRunning = new AtomicInteger();
        private final io.fabric8.kubernetes.client.informers.SharedIndexInformer<Job> informer;

        JobController(KubernetesClient client, String namespace, long millis) {
            this.client = client;
            this.namespace = namespace;
            informer = client.batch().v1().jobs().inNamespace(namespace).inform(new io.fabric8.kubernetes.client.informers.ResourceEventHandler<>() {
                @Override
                public void onAdd(Job j) {
                    started.add(j.getMetadata().getName());
                    maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                    timer.schedule(() -> complete(j.getMetadata().getName()), millis, java.util.concurrent.TimeUnit.MILLISECONDS);
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
            Job j = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
            if (j == null) {
                return;
            }
            String t = java.time.Instant.now().toString();
            j.setStatus(new io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder().withSucceeded(1).withCompletionTime(t)
                    .withConditions(new io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder().withType("Complete")
                            .withStatus("True").withLastTransitionTime(t).build()).build());
            running.decrementAndGet();
            client.batch().v1().jobs().inNamespace(namespace).resource(j).updateStatus();
        }

        List<String> started() {
            return started;
        }

        int maxConcurrent() {
            return maxRunning.get();
        }

        @Override
        public void close() {
            informer.close();
            timer.shutdownNow();
        }
    }
}
