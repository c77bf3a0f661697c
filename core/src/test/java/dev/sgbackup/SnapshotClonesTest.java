package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
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
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A dead run's VolumeSnapshots and clone PVCs: removed by the next run when the newest is older than
 * {@link KubernetesCoordinator#STALE_AFTER}. fabric8's CRUD mock stamps {@code creationTimestamp} with the time of the
 * create and keeps it, so a dispatcher in front of it ages the objects of backup {@link #DEAD} by an hour in list
 * answers, as an hour passing would.
 */
class SnapshotClonesTest {
    static final String NS = "sourcegraph";
    static final String DEAD = "20261201T010000Z-0c0c0c";
    static final String RUN = "20261202T142200Z-0a1b2c";

    KubernetesMockServer server;
    KubernetesClient client;
    volatile String aged = DEAD;

    @BeforeEach
    void start() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMixedDispatcher crud = new KubernetesMixedDispatcher(responses);
        ObjectMapper json = new ObjectMapper();
        String hourAgo = Instant.now().minus(Duration.ofHours(1)).toString();
        Dispatcher d = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest r) {
                MockResponse m = crud.dispatch(r);
                String p = r.getPath();
                if (r.getMethod().equals("GET") && !p.contains("watch=true") && p.contains("labelSelector=")
                        && (p.contains("/persistentvolumeclaims?") || p.contains("/volumesnapshots?")) && m.code() == 200) {
                    try {
                        ObjectNode list = (ObjectNode) json.readTree(m.getBody().readUtf8());
                        list.withArray("items").forEach(i -> {
                            if (aged.equals(i.path("metadata").path("labels").path(KubernetesCoordinator.LABEL_BACKUP_ID).asText())) {
                                ((ObjectNode) i.path("metadata")).put("creationTimestamp", hourAgo);
                            }
                        });
                        return new MockResponse().setResponseCode(200).setBody(json.writeValueAsString(list));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                return m;
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

    private void snapshotAndClone(String id) {
        String name = "sgbackup-" + id.toLowerCase() + "-repos-gitserver-0";
        Map<String, String> labels = Map.of(KubernetesCoordinator.LABEL_NAME, "sgbackup", KubernetesCoordinator.LABEL_BACKUP_ID, id);
        client.genericKubernetesResources(SnapshotClones.SNAPSHOTS).inNamespace(NS).resource(new GenericKubernetesResourceBuilder()
                .withApiVersion("snapshot.storage.k8s.io/v1").withKind("VolumeSnapshot").withNewMetadata().withName(name).withLabels(labels)
                .endMetadata().withAdditionalProperties(Map.of("spec", Map.of("source", Map.of("persistentVolumeClaimName",
                        "repos-gitserver-0")))).build()).create();
        client.persistentVolumeClaims().inNamespace(NS).resource(new PersistentVolumeClaimBuilder().withNewMetadata().withName(name)
                .withLabels(labels).endMetadata().withNewSpec().withAccessModes("ReadWriteOnce").withNewResources()
                .addToRequests("storage", new Quantity("1Gi")).endResources().endSpec().build()).create();
    }

    private List<String> left() {
        List<String> out = new java.util.ArrayList<>();
        client.genericKubernetesResources(SnapshotClones.SNAPSHOTS).inNamespace(NS).list().getItems().forEach(x -> out.add(x.getMetadata().getName()));
        client.persistentVolumeClaims().inNamespace(NS).list().getItems().forEach(x -> out.add(x.getMetadata().getName()));
        return out;
    }

    @Test
    void aDeadRunsSnapshotAndCloneAreRemovedAndThisRunsAreLeft() {
        snapshotAndClone(DEAD);
        snapshotAndClone(RUN);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        SnapshotClones.none(client, NS, new PrintStream(err, true, StandardCharsets.UTF_8)).cleanUpOtherRuns(RUN);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("removed 2 VolumeSnapshot(s) and snapshot clone(s) of an earlier run"
                + " (backup " + DEAD + ")");
        assertThat(left()).containsExactlyInAnyOrder("sgbackup-" + RUN.toLowerCase() + "-repos-gitserver-0",
                "sgbackup-" + RUN.toLowerCase() + "-repos-gitserver-0");
    }

    @Test
    void aRecentOneOfAnotherRunRefusesThisRunAndIsLeft() {
        aged = "none";
        snapshotAndClone(DEAD);
        assertThatThrownBy(() -> SnapshotClones.none(client, NS, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
                .cleanUpOtherRuns(RUN)).hasMessageContaining("another sgbackup run (backup " + DEAD + ") made less than 10 minutes ago");
        assertThat(left()).hasSize(2);
    }
}
