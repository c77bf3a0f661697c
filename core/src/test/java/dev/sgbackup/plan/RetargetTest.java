package dev.sgbackup.plan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A backup of one deployment restored into another: volume stores matched by kind where their names differ. */
class RetargetTest {
    static Store volume(String name, String kind, String dir) {
        return new Store(name, kind, false, "", "volume/" + name, Location.directory("docker-compose_" + name, dir), null);
    }

    static InstanceDescription compose(Store... stores) {
        return new InstanceDescription(InstanceDescription.FORMAT, new InstanceDescription.Deployment("docker-compose", "docker-compose",
                List.of("c.json"), "compose-config-json"), null, List.of(stores), List.of());
    }

    @Test
    void theSingleImagesVolumesGoToTheOneComposeVolumeOfTheirKind() {
        InstanceDescription target = compose(volume("gitserver-0", "gitserver", "/v/g0"), volume("prometheus-v2", "prometheus", "/v/p"),
                volume("blobstore", "blobstore", "/v/b"), volume("acme", "other", "/v/a"));

        InstanceDescription.Retargeted r = target.retarget(List.of("repos", "prometheus", "minio", "zoekt", "etc-sourcegraph", "acme"));

        assertThat(r.description().stores()).extracting(s -> s.name() + "=" + s.location().directory())
                .containsExactly("repos=/v/g0", "prometheus=/v/p", "minio=/v/b", "acme=/v/a");
        assertThat(r.notes()).containsExactly(
                "repos: restored into gitserver-0 (the one gitserver store of the instance file, volume/gitserver-0)",
                "prometheus: restored into prometheus-v2 (the one prometheus store of the instance file, volume/prometheus-v2)",
                "minio: restored into blobstore (the one blobstore store of the instance file, volume/blobstore)",
                "zoekt: the instance file has no store of that name or kind zoekt: name its target with --volume zoekt=DIR, or it is not restored",
                "etc-sourcegraph: the instance file has no store of that name: name its target with --volume etc-sourcegraph=DIR, or it is not restored");
        assertThat(r.description().toInstance().build().volumes()).extracting(Instance.Volume::name)
                .containsExactlyInAnyOrder("repos", "prometheus", "minio", "acme");
    }

    @Test
    void oneGitserverIntoSeveralShardsIsNotAStraightCopy() {
        InstanceDescription target = compose(volume("gitserver-0", "gitserver", "/v/g0"), volume("gitserver-1", "gitserver", "/v/g1"),
                volume("gitserver-2", "gitserver", "/v/g2"));

        InstanceDescription.Retargeted r = target.retarget(List.of("repos"));

        assertThat(r.description().stores()).extracting(Store::name).containsExactly("gitserver-0", "gitserver-1", "gitserver-2");
        assertThat(r.notes()).singleElement().asString()
                .startsWith("repos: the instance runs 3 gitserver shards (gitserver-0, gitserver-1, gitserver-2)")
                .contains("by a hash of its name").contains("re-clone").contains("--volume gitserver-0=DIR");
    }

    @Test
    void namesThatMatchAreLeftAloneAndAStoreIsTakenOnce() {
        InstanceDescription target = compose(volume("gitserver-0", "gitserver", "/v/g0"), volume("prometheus", "prometheus", "/v/p"));

        // same names: nothing to match; two backup gitservers for one target: the first takes it
        InstanceDescription.Retargeted same = target.retarget(List.of("gitserver-0", "prometheus"));
        assertThat(same.description()).isEqualTo(target);
        assertThat(same.notes()).isEmpty();

        InstanceDescription.Retargeted two = target.retarget(List.of("repos", "repos-gitserver-1"));
        assertThat(two.description().stores()).extracting(Store::name).containsExactly("repos", "prometheus");
        assertThat(two.notes().get(1)).isEqualTo("repos-gitserver-1: gitserver-0 already takes repos: name the target with --volume"
                + " repos-gitserver-1=DIR");
    }
}
