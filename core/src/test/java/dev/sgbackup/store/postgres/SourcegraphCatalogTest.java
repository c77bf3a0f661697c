package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SourcegraphCatalogTest {
    final SourcegraphCatalog cat = SourcegraphCatalog.standard();

    static List<String> tables(String sqlFile) throws Exception {
        String db = TestPg.schemaDb(sqlFile);
        try (Connection c = TestPg.connect(db)) {
            return new ArrayList<>(PgSchema.read(c).tables.keySet());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sourcegraph-frontend-5.11.sql", "sourcegraph-frontend-3.21.sql",
            "sourcegraph-codeintel-5.11.sql", "sourcegraph-codeinsights-5.11.sql", "sourcegraph-codeintel-3.21.sql"})
    void everyRealTableHasACategory(String sqlFile) throws Exception {
        List<String> tables = tables(sqlFile);
        assertThat(cat.unknown(tables)).as("tables of %s the catalog does not know", sqlFile).isEmpty();
    }

    @Test
    void fixedIdsAndKnownPlacements() {
        assertThat(cat.categories().stream().map(SourcegraphCatalog.Category::id).toList()).isEqualTo(SourcegraphCatalog.IDS);
        assertThat(cat.categoryOf("public.users").orElseThrow().id()).isEqualTo("users");
        assertThat(cat.categoryOf("user_emails").orElseThrow().id()).isEqualTo("users");
        assertThat(cat.categoryOf("campaigns").orElseThrow().id()).isEqualTo("batch-changes");   // 3.2x name
        assertThat(cat.categoryOf("batch_changes").orElseThrow().id()).isEqualTo("batch-changes"); // 5.x name
        assertThat(cat.categoryOf("lsif_uploads").orElseThrow().id()).isEqualTo("code-intel-data");
        assertThat(cat.categoryOf("lsif_uploads").orElseThrow().recreatable()).isTrue();
        assertThat(cat.categoryOf("lsif_nearest_uploads_links").orElseThrow().id()).isEqualTo("code-intel-data");
        assertThat(cat.categoryOf("lsif_indexes").orElseThrow().id()).isEqualTo("code-intel-data");
        assertThat(cat.categoryOf("lsif_configuration_policies").orElseThrow().id()).isEqualTo("code-intel-config");
        assertThat(cat.categoryOf("lsif_configuration_policies_repository_pattern_lookup").orElseThrow().id())
                .isEqualTo("code-intel-config");
        assertThat(cat.categoryOf("lsif_configuration_policies_future").orElseThrow().id()).isEqualTo("code-intel-config");
        assertThat(cat.categoryOf("lsif_index_configuration").orElseThrow().recreatable()).isFalse();
        assertThat(cat.categoryOf("codeowners").orElseThrow().id()).isEqualTo("code-intel-config");
        assertThat(cat.categoryOf("repo_kvps").orElseThrow().recreatable()).isFalse();
        assertThat(cat.categoryOf("repo").orElseThrow().recreatable()).isTrue();
        // the former id still parses, as both halves
        assertThat(cat.expand(List.of("code-intel", "users"))).containsExactly("code-intel-config", "code-intel-data", "users");
        assertThat(cat.select(List.of("public.lsif_uploads", "public.lsif_index_configuration", "public.users"),
                List.of("code-intel"))).containsExactly("public.lsif_index_configuration", "public.lsif_uploads");
        assertThat(cat.categoryOf("insight_series").orElseThrow().id()).isEqualTo("insights");
        assertThat(cat.categoryOf("gitserver_repos").orElseThrow().recreatable()).isTrue();
        assertThat(cat.categoryOf("critical_and_site_config").orElseThrow().recreatable()).isFalse();
        // seeded by 5.x migrations before 5.11 and referencing tenants: configuration, kept by essential backups
        assertThat(cat.categoryOf("event_logs_export_allowlist").orElseThrow().id()).isEqualTo("site-config");
        assertThat(cat.matchedPrefix("public.gitserver_repos")).as("listed by name").isEmpty();
        assertThat(cat.matchedPrefix("public.repo_new_sync_state")).contains("repo_");
        assertThat(cat.matchedPrefix("public.no_such_thing")).isEmpty();
        assertThat(cat.categoryOf("batch_spec_future_table").orElseThrow().id()).isEqualTo("batch-changes"); // by prefix
        assertThat(cat.categoryOf("totally_new_thing")).isEmpty();
        assertThat(cat.toString()).contains("site-config").contains("RECREATABLE").contains("event_logs");
        assertThatThrownBy(() -> cat.category("user")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("unknown table category 'user'").hasMessageContaining("users, orgs");
    }

    @Test
    void selectionIsClosedOverForeignKeysAndReportsUnknownAndEncryptedRows() throws Exception {
        String src = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        TestPg.exec(src, "CREATE TABLE public.totally_new_thing (id int PRIMARY KEY)",
                "INSERT INTO public.totally_new_thing VALUES (1)");
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(src)) // AUTO: a selection goes over JDBC
                .categories(Category.ORGS).build();
        PostgresStore.Selection sel = store.selection();
        assertThat(sel.tables()).contains("public.orgs", "public.org_members", "public.users",
                "public.totally_new_thing");
        assertThat(sel.added()).containsKey("public.users");
        assertThat(sel.added().get("public.users")).startsWith("referenced by public.");
        assertThat(sel.unknown()).containsExactly("public.totally_new_thing");
        assertThat(sel.tables()).doesNotContain("public.event_logs", "public.lsif_uploads");
        assertThat(sel.toString()).contains("added for foreign keys").contains("unknown to the catalog");

        // rows with a key id in encryption_key_id are counted and reported
        TestPg.exec(src, "UPDATE users SET tenant_id = tenant_id"); // no-op, keeps the filled data
        PostgresStore whole = PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.JDBC)
                .categories(Category.CODE_HOSTS).build();
        PostgresStore.Selection s2 = whole.selection();
        long expected;
        try (Connection c = TestPg.connect(src); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM external_services WHERE encryption_key_id <> ''")) {
            rs.next();
            expected = rs.getLong(1);
        }
        assertThat(expected).isPositive();
        assertThat(s2.encryptedRows()).containsEntry("public.external_services", expected);
        assertThat(s2.toString()).contains("the target needs the same encryption keys");

        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        store.backup(out);
        Set<String> names = new TreeSet<>();
        out.artifacts.forEach(a -> names.add(a.name()));
        assertThat(names).isEqualTo(new TreeSet<>(sel.tables()));
        assertThat(out.properties).containsKeys("tables.added", "tables.unknown", "categories");
        assertThat(out.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(out.properties.get("sourcegraph.tenant")).isEqualTo("1");
        assertThat(out.warnings).anyMatch(w -> w.contains("totally_new_thing"));

        // restoring only these categories over a migrated instance whose users have access tokens (not recreatable,
        // outside the selection, referencing users): refused, naming the category that would include them
        String dst = TestPg.schemaDb("sourcegraph-frontend-5.11.sql");
        TestPg.exec(dst, "CREATE TABLE public.totally_new_thing (id int PRIMARY KEY)",
                "SET app.current_tenant = '1'",
                "INSERT INTO users (id, username) VALUES (1, 'someone')",
                "INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)"
                        + " VALUES (1, 1, '\\x01', 'n', '{user:all}')");
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst)).build()
                .restore(out.input("frontend", new RestoreOptions(true, false))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("table public.access_tokens (category access-tokens, not recreatable) has 1 rows"
                        + " and references public.users (restored)")
                .hasMessageContaining("--tables access-tokens")
                .hasMessageContaining("never deletes data");
        assertThat(DbContent.rows(dst, "access_tokens")).isEqualTo(1);
    }
}
