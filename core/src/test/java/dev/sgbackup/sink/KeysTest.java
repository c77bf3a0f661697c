package dev.sgbackup.sink;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KeysTest {
    @Test
    void trimSlashesLeavesInnerSlashes() {
        assertThat(Keys.trimSlashes("//sourcegraph/prod//")).isEqualTo("sourcegraph/prod");
        assertThat(Keys.trimSlashes("a")).isEqualTo("a");
        assertThat(Keys.trimSlashes("///")).isEmpty();
        assertThat(Keys.trimSlashes("")).isEmpty();
    }
}
