package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.Executor;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.KubernetesOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Executor API's values, and the one error a missing Kubernetes client gives. */
class ExecutorTest {
    @Test
    void optionsReadWellAndPrintNoSecret() {
        Executor k = Executor.kubernetes(KubernetesOptions.of("sourcegraph", "registry.example.com/sgbackup:0.1.0")
                .workerSecret("sgbackup-sink").imagePullSecrets(List.of("regcred")).maxJobs(8).jobTimeout(Duration.ofHours(6))
                .kubeconfig(Path.of("/home/me/.kube/config")).context("prod"));
        assertThat(Executor.local()).hasToString("local");
        assertThat(k).hasToString("kubernetes KubernetesOptions[namespace=sourcegraph, image=registry.example.com/sgbackup:0.1.0,"
                + " imagePullSecrets=[regcred], workerSecret=sgbackup-sink, maxJobs=8, jobTimeout=PT6H, pendingTimeout=PT10M,"
                + " kubeconfig=/home/me/.kube/config, context=prod]");
        assertThat(((Executor.Kubernetes) k).options().maxJobs()).isEqualTo(8);
        assertThat(((Executor.Kubernetes) k).options().snapshots()).isEqualTo(KubernetesOptions.Snapshots.AUTO);
        assertThat(KubernetesOptions.of("ns", "img").snapshots(KubernetesOptions.Snapshots.REQUIRED))
                .hasToString("KubernetesOptions[namespace=ns, image=img, maxJobs=4, pendingTimeout=PT10M, snapshots=required]");
        assertThat(KubernetesOptions.Snapshots.parse("off")).isEqualTo(KubernetesOptions.Snapshots.OFF);
        assertThatThrownBy(() -> KubernetesOptions.Snapshots.parse("sometimes")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("auto, required or off");
        assertThat(Executor.kubernetes("ns", "img").options().maxJobs()).isEqualTo(KubernetesOptions.DEFAULT_MAX_JOBS);
        assertThatThrownBy(() -> KubernetesOptions.of("ns", "img").maxJobs(0)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> KubernetesOptions.of("ns", "img").pendingTimeout(Duration.ZERO)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void aMissingClientIsOneClearError() {
        KubernetesRun.requireClient(KubernetesRun.CLIENT_CLASSES); // on this class path: there
        assertThatThrownBy(() -> KubernetesRun.requireClient(List.of("io.fabric8.kubernetes.client.NoSuchClass")))
                .isInstanceOf(InvalidInputException.class)
                .hasMessage("the Kubernetes executor needs io.fabric8:kubernetes-client (with io.fabric8:kubernetes-httpclient-okhttp) on"
                        + " the classpath, an optional dependency of sgbackup-core; the CLI bundles it");
    }
}
