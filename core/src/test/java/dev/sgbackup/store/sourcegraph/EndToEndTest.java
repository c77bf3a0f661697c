package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.SgBackup;
import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Through the engine: back up from one fake instance to a local sink, restore into another. */
class EndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void backupAndRestoreThroughSgBackup() throws Exception {
        ApiStoreTest t = new ApiStoreTest();
        t.tmp = tmp;
        t.sg = new FakeSourcegraph();
        try {
            t.source511();
            SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).compression("zstd").build();
            RunResult r = sg.backup(t.sg.store().build());
            Manifest m = sg.show(r.backupId());
            StoreBackup config = m.store("config").orElseThrow();
            assertThat(config.kind()).isEqualTo(SourcegraphConfigStore.KIND);
            assertThat(config.properties()).containsEntry(SourcegraphConfigStore.PROPERTY_VERSION, "5.11.6271");
            assertThat(config.artifacts()).hasSize(7);
            assertThat(config.artifacts().get(0).attributes().get("redactedPointers")).contains("/executors.accessToken");

            t.target511("5.11.6271");
            // without the secrets the engine's checks refuse, and nothing is written
            assertThatThrownBy(() -> sg.restore(r.backupId(), RestoreOptions.defaults(), t.sg.store().build()))
                    .hasMessageContaining("/executors.accessToken");
            assertThat(t.sg.bodies("UpdateSiteConfiguration")).isEmpty();

            sg.restore(r.backupId(), RestoreOptions.defaults(), t.sg.store().secrets(t.secretsFile()).build());
            JsonNode expected = FakeSourcegraph.fixture("update-site-configuration.request.json").path("variables");
            assertThat(t.sg.bodies("UpdateSiteConfiguration")).singleElement()
                    .satisfies(b -> assertThat(b.path("variables")).isEqualTo(expected));
        } finally {
            t.stop();
        }
    }
}
