package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What makes a restore target not fresh, document by document. */
class TargetCheckTest {
    @Test
    void settingsWithNothingInThemAreEmpty() {
        for (String empty : List.of("", "  \n", "{}", " { } ", "// defaults\n{\n  // \"motd\": [\"hi\"]\n}", "null",
                "/* c */ {} // end")) {
            assertThat(TargetCheck.empty(empty)).as("'%s'", empty).isTrue();
        }
        for (String full : List.of("{\"motd\": [\"hi\"]}", "{\"a\": {}}", "[]", "not json", "{} {}")) {
            assertThat(TargetCheck.empty(full)).as("'%s'", full).isFalse();
        }
    }

    @Test
    void codeHostsAndSettingsCountTheSiteConfigDoesNot() {
        assertThat(TargetCheck.configured(ConfigDocument.siteConfig("{\"externalURL\": \"https://x\"}"))).isFalse();
        assertThat(TargetCheck.configured(ConfigDocument.externalService("GITHUB", "GitHub", "{}", Map.of()))).isTrue();
        assertThat(TargetCheck.configured(ConfigDocument.globalSettings("{}"))).isFalse();
        assertThat(TargetCheck.configured(ConfigDocument.globalSettings("{\"a\": 1}"))).isTrue();
        assertThat(TargetCheck.configured(ConfigDocument.orgSettings("platform", "{\"a\": 1}"))).isTrue();
        assertThat(TargetCheck.configured(ConfigDocument.userSettings("bob", "// none\n{}"))).isFalse();
    }

    @Test
    void theRefusalNamesWhatIsThereAndSaysUseReplace() {
        assertThat(TargetCheck.refusal("T", List.of("a", "b", "c", "d", "e", "f", "g")))
                .startsWith("the restore target (T) already holds configuration (a, b, c, d, e and 2 more);")
                .contains("use --replace");
    }
}
