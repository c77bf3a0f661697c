package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The typed categories: the catalog's ids, the CLI's names and the former ids, and one clear error on a typo. */
class CategoryTest {
    @Test
    void theTypedCategoriesAreTheCatalogsInItsOrder() {
        assertThat(Arrays.stream(Category.values()).map(Category::id).toList()).isEqualTo(SourcegraphCatalog.IDS);
        assertThat(SourcegraphCatalog.standard().categories().stream().map(SourcegraphCatalog.Category::id).toList())
                .isEqualTo(SourcegraphCatalog.IDS);
        for (Category c : Category.values()) {
            assertThat(c.describe().id()).isEqualTo(c.id()).isEqualTo(c.toString());
        }
    }

    @Test
    void parseTakesIdsAndFormerIds() {
        assertThat(Category.parse("users")).containsExactly(Category.USERS);
        assertThat(Category.parse("code-intel")).containsExactly(Category.CODE_INTEL_CONFIG, Category.CODE_INTEL_DATA);
        assertThat(Category.parseAll(List.of("repo-metadata", "orgs", "orgs"))).containsExactly(Category.ORGS,
                Category.REPO_METADATA);
    }

    @Test
    void aTypoIsOneErrorListingTheValidNames() {
        assertThatThrownBy(() -> Category.parse("user")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("unknown table category 'user'").hasMessageContaining("users, orgs")
                .hasMessageContaining("former code-intel");
        assertThatThrownBy(() -> Category.parseAll(List.of("users", "nope"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("unknown table category 'nope'");
    }

    @Test
    void theStoreDescribesItsSelectionByIdAsBefore() {
        PostgresStore s = PostgresStore.builder("frontend", "jdbc:postgresql://127.0.0.1:1/sg")
                .categories(Category.USERS, Category.CODE_INTEL_CONFIG, Category.ORGS).build();
        assertThat(s.describe()).endsWith("(mode auto, categories code-intel-config,orgs,users)");
    }
}
