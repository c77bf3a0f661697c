package dev.sgbackup.gcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.sink.SinkProvider;
import java.net.URI;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class GcsSinkProviderTest {

    @Test
    void foundByServiceLoaderForTheGsScheme() {
        SinkProvider p = ServiceLoader.load(SinkProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(x -> x.schemes().contains("gs")).findFirst().orElseThrow();
        assertThat(p).isInstanceOf(GcsSinkProvider.class);
        assertThat(p.artifact()).isEqualTo("dev.sgbackup:sgbackup-gcs");
    }

    @Test
    void parsesBucketAndPrefix() {
        GcsSink s = GcsSinkProvider.builderFor(URI.create("gs://my-bucket/sourcegraph/prod/")).emulatorHost("localhost:1").build();
        assertThat(s.bucket).isEqualTo("my-bucket");
        assertThat(s.prefix).isEqualTo("sourcegraph/prod");
        assertThat(s.uri()).hasToString("gs://my-bucket/sourcegraph/prod");
        GcsSink bare = GcsSinkProvider.builderFor(URI.create("gs://my_bucket")).emulatorHost("localhost:1").build();
        assertThat(bare.bucket).isEqualTo("my_bucket");
        assertThat(bare.prefix).isEmpty();
    }

    @Test
    void rejectsUrisWithoutABucketOrWithExtras() {
        assertThatThrownBy(() -> GcsSinkProvider.builderFor(URI.create("gs:///prefix"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no bucket");
        assertThatThrownBy(() -> GcsSinkProvider.builderFor(URI.create("gs://user:pw@b/p"))).isInstanceOf(InvalidInputException.class)
                .hasMessageNotContaining("pw@").hasMessageContaining("must not carry credentials");
        assertThatThrownBy(() -> GcsSinkProvider.builderFor(URI.create("gs://b/p?x=1"))).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> GcsSinkProvider.builderFor(URI.create("s3://b/p"))).isInstanceOf(InvalidInputException.class);
    }
}
