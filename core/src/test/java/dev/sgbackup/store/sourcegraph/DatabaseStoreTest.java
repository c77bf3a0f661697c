package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The database-backed store against a real PostgreSQL loaded with Sourcegraph's real frontend schemas. */
class DatabaseStoreTest {
    static EmbeddedPostgres pg;
    static final AtomicInteger DBS = new AtomicInteger();
    static final String GITHUB = "external-services/GITHUB/GitHub (example-org)";
    static final String GITLAB = "external-services/GITLAB/GitLab (internal)";

    @BeforeAll
    static void start() throws Exception {
        // a scratch server: durability settings off, so CREATE DATABASE ... TEMPLATE and loads are quick
        pg = EmbeddedPostgres.builder().setServerConfig("app.current_tenant", "1").setServerConfig("fsync", "off")
                .setServerConfig("synchronous_commit", "off").setServerConfig("full_page_writes", "off").start();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE sg511");
            st.execute("CREATE DATABASE sg321");
        }
        load("sg511", "sql/sourcegraph-frontend-5.11.sql");
        load("sg321", "sql/sourcegraph-frontend-3.21.sql");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    static void load(String db, String file) throws Exception {
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            // CREATE INDEX CONCURRENTLY cannot run in the one implicit transaction of a multi-statement string
            st.execute(TestData.read(file).replace(" CONCURRENTLY ", " "));
        }
    }

    static Connection connect(String db) throws Exception {
        return DriverManager.getConnection(url(db), "postgres", "postgres");
    }

    static String url(String db) {
        return pg.getJdbcUrl("postgres", db);
    }

    /** A fresh database cloned from a loaded schema. */
    static String fresh(String template) throws Exception {
        String name = template + "_" + DBS.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name + " TEMPLATE " + template);
        }
        return name;
    }

    static void exec(String db, String sql, Object... args) throws Exception {
        try (Connection c = connect(db); PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            st.execute();
        }
    }

    static List<List<String>> rows(String db, String sql) throws Exception {
        List<List<String>> out = new ArrayList<>();
        try (Connection c = connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    /** A 5.11 source instance: two site config versions, three code host rows (one deleted, one encrypted), settings history. */
    static String source511() throws Exception {
        String db = fresh("sg511");
        exec(db, "INSERT INTO users (id, username) VALUES (1, 'alice'), (2, 'bob'), (3, 'gone')");
        exec(db, "UPDATE users SET deleted_at = now() WHERE id = 3");
        exec(db, "INSERT INTO orgs (id, name) VALUES (1, 'platform')");
        exec(db, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', '{\"old\": true}')");
        exec(db, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', ?)", TestData.fixture("site-config.jsonc"));
        exec(db, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'GitHub (example-org)', ?)",
                TestData.fixture("extsvc-github.json"));
        exec(db, "INSERT INTO external_services (kind, display_name, config, encryption_key_id) VALUES "
                + "('GITLAB', 'GitLab (internal)', 'BASE64CIPHERTEXT==', 'extsvc-key-v1')");
        exec(db, "INSERT INTO external_services (kind, display_name, config, deleted_at) VALUES ('GITHUB', 'Old', '{}', now())");
        exec(db, "INSERT INTO settings (contents) VALUES ('{\"old\": 1}')");
        exec(db, "INSERT INTO settings (contents) VALUES (?)", TestData.fixture("global-settings.json"));
        exec(db, "INSERT INTO settings (user_id, contents) VALUES (1, '{\"v\": 1}')");
        exec(db, "INSERT INTO settings (user_id, contents) VALUES (1, ?)", TestData.fixture("user-settings.jsonc"));
        exec(db, "INSERT INTO settings (user_id, contents) VALUES (3, '{\"deleted\": true}')");
        exec(db, "INSERT INTO settings (org_id, contents) VALUES (1, '{\"org\": 1}')");
        exec(db, "INSERT INTO versions (service, version, first_version) VALUES ('frontend', '5.11.6271', '5.0.0')");
        return db;
    }

    static SourcegraphConfigStore.DatabaseBuilder store(String db) {
        return SourcegraphConfigStore.database(url(db)).user("postgres").password("postgres");
    }

    @Test
    void backsUpTheLatestRowsUnredactedAndReportsEncryptedOnes() throws Exception {
        String db = source511();
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        SourcegraphConfigStore store = store(db).build();
        CheckReport check = new CheckReport();
        store.checkBackup(check);
        assertThat(check.findings()).anyMatch(f -> !f.error() && f.message().contains("same encryption keys"));

        store.backup(io);

        assertThat(io.artifacts).extracting(ArtifactInfo::name).containsExactly("site-config", GITHUB, GITLAB,
                "global-settings", "orgs/platform/settings", "users/alice/settings");
        assertThat(io.text("site-config")).isEqualTo(TestData.fixture("site-config.jsonc"));
        assertThat(io.text(GITHUB)).isEqualTo(TestData.fixture("extsvc-github.json")); // complete: the real token
        assertThat(io.text("global-settings")).isEqualTo(TestData.fixture("global-settings.json"));
        assertThat(io.text("users/alice/settings")).isEqualTo(TestData.fixture("user-settings.jsonc"));
        assertThat(io.artifacts.get(1).attributes()).containsEntry("redactedPointers", "[]");
        assertThat(io.artifacts.get(2).attributes()).containsEntry("encryptionKeyId", "extsvc-key-v1");
        assertThat(io.properties).containsEntry(SourcegraphConfigStore.PROPERTY_VERSION, "5.11.6271")
                .containsEntry(SourcegraphConfigStore.PROPERTY_SOURCE, "database");
        assertThat(io.warnings).anyMatch(w -> w.contains(GITLAB) && w.contains("same encryption keys"));
    }

    @Test
    void restoresAsNewRowsInOneTransactionAndNeverDuplicatesCodeHosts() throws Exception {
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        store(source511()).build().backup(io);
        String target = fresh("sg511");
        exec(target, "INSERT INTO users (id, username) VALUES (7, 'alice')");
        exec(target, "INSERT INTO orgs (id, name) VALUES (9, 'platform')");
        exec(target, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', '{}')");
        SourcegraphConfigStore store = store(target).secret("site-config", "/externalURL", "https://new.acme.test").build();

        CheckReport report = new CheckReport();
        store.checkRestore(io.storeBackup("config"), RestoreOptions.defaults(), report);
        assertThat(report.ok()).isTrue();
        assertThat(report.findings()).anyMatch(f -> f.subject().equals(GITLAB) && f.message().contains("same encryption keys"));

        store.restore(io.input("config", RestoreOptions.defaults()));
        store.restore(io.input("config", RestoreOptions.defaults()));

        assertThat(rows(target, "SELECT contents FROM critical_and_site_config WHERE type = 'site' ORDER BY id DESC LIMIT 1"))
                .containsExactly(List.of(TestData.fixture("site-config.jsonc")
                        .replace("https://sourcegraph.example.com", "https://new.acme.test")));
        assertThat(rows(target, "SELECT kind, display_name, config, encryption_key_id, tenant_id FROM external_services ORDER BY id"))
                .containsExactly(
                        List.of("GITHUB", "GitHub (example-org)", TestData.fixture("extsvc-github.json"), "", "1"),
                        List.of("GITLAB", "GitLab (internal)", "BASE64CIPHERTEXT==", "extsvc-key-v1", "1"));
        assertThat(rows(target, "SELECT user_id, org_id, contents FROM settings ORDER BY id DESC LIMIT 3")).containsExactly(
                java.util.Arrays.asList("7", null, TestData.fixture("user-settings.jsonc")),
                java.util.Arrays.asList(null, "9", "{\"org\": 1}"),
                java.util.Arrays.asList(null, null, TestData.fixture("global-settings.json")));
        assertThat(rows(target, "SELECT count(*) FROM settings")).containsExactly(List.of("6")); // 3 per run, history kept
    }

    @Test
    void aFailureMidwayCommitsNothing() throws Exception {
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        store(source511()).build().backup(io);
        String target = fresh("sg511");
        // the target refuses the user settings row (after site config and code hosts were written in the transaction)
        exec(target, "INSERT INTO users (id, username) VALUES (7, 'alice')");
        exec(target, "ALTER TABLE settings ADD CONSTRAINT no_user_rows CHECK (user_id IS NULL)");
        assertThatThrownBy(() -> store(target).build().restore(io.input("config", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("users/alice/settings")
                .hasMessageContaining("nothing was committed")
                .hasMessageNotContaining("password=postgres");
        assertThat(rows(target, "SELECT count(*) FROM critical_and_site_config")).containsExactly(List.of("0"));
        assertThat(rows(target, "SELECT count(*) FROM external_services")).containsExactly(List.of("0"));
    }

    @Test
    void backsUpA321DatabaseWithItsColumnSetAndRestoresInto511() throws Exception {
        String old = fresh("sg321");
        exec(old, "INSERT INTO users (id, username) VALUES (1, 'dave')");
        exec(old, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', ?)", TestData.fixture("site-config-3.21.json"));
        exec(old, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITLAB', 'GitLab', ?)",
                TestData.fixture("extsvc-gitlab.json"));
        exec(old, "INSERT INTO external_services (kind, display_name, config, namespace_user_id) VALUES ('GITHUB', 'Mine', '{\"token\": \"t\"}', 1)");
        exec(old, "INSERT INTO settings (user_id, contents) VALUES (1, '{\"a\": 1}')");
        exec(old, "INSERT INTO users (id, username) VALUES (2, 'erin')");
        exec(old, "INSERT INTO settings (user_id, contents) VALUES (2, '{}')");
        exec(old, "INSERT INTO settings (user_id, contents) VALUES (2, NULL)"); // 3.21 allowed NULL: no settings
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        store(old).build().backup(io);
        assertThat(io.artifacts).extracting(ArtifactInfo::name).containsExactly("site-config",
                "external-services/GITLAB/GitLab", "external-services/GITHUB/Mine", "users/dave/settings");
        assertThat(io.artifacts.get(2).attributes()).containsEntry("namespaceUser", "dave");
        assertThat(io.text("users/dave/settings")).isEqualTo("{\"a\": 1}");

        String target = fresh("sg511");
        SourcegraphConfigStore store = store(target).build();
        store.restore(io.input("config", RestoreOptions.defaults()));
        assertThat(rows(target, "SELECT kind, display_name FROM external_services")).containsExactly(List.of("GITLAB", "GitLab"));
        assertThat(io.warnings).anyMatch(w -> w.contains("external-services/GITHUB/Mine") && w.contains("user-owned"));
        assertThat(io.warnings).anyMatch(w -> w.contains("user 'dave' does not exist"));
    }

    @Test
    void anApiBackupWithRedactedValuesNeedsItsSecretsHereToo() throws Exception {
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        io.property(SourcegraphConfigStore.PROPERTY_VERSION, "5.11.6271");
        try (var s = io.artifact("site-config", Map.of("type", "site-config", "redactedPointers", "[\"/email.smtp/password\"]"))) {
            s.write("{\"email.smtp\": {\"password\": \"REDACTED\"}}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String target = fresh("sg511");
        assertThatThrownBy(() -> store(target).build().restore(io.input("config", RestoreOptions.defaults())))
                .hasMessageContaining("site-config: secret /email.smtp/password");
        assertThat(rows(target, "SELECT count(*) FROM critical_and_site_config")).containsExactly(List.of("0"));
        store(target).secret("site-config", "/email.smtp/password", "pw\"1").build().restore(io.input("config", RestoreOptions.defaults()));
        assertThat(rows(target, "SELECT contents FROM critical_and_site_config")).containsExactly(
                List.of("{\"email.smtp\": {\"password\": \"pw\\\"1\"}}"));
    }

    @Test
    void badCoordinatesGiveOneClearMessageWithoutThePassword() {
        assertThatThrownBy(() -> SourcegraphConfigStore.database("jdbc:mysql://x/y").build())
                .hasMessageContaining("not a PostgreSQL JDBC URL");
        SourcegraphConfigStore s = SourcegraphConfigStore.database(url("postgres")).user("postgres").password("wrong-pass-123").build();
        CheckReport r = new CheckReport();
        s.checkBackup(r);
        assertThat(r.ok()).isFalse();
        assertThat(r.toString()).contains("not a Sourcegraph frontend database");
        assertThat(s.toString()).doesNotContain("wrong-pass-123");
        assertThat(SourcegraphConfigStore.database("jdbc:postgresql://h/sg?password=pw-in-url").password("x").toString())
                .doesNotContain("pw-in-url");
    }

    @Test
    void aDatabaseBackupRestoresThroughTheApiWithoutSecretsExceptCiphertext() throws Exception {
        String db = source511();
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        store(db).build().backup(io);
        ApiStoreTest api = new ApiStoreTest();
        api.sg = new FakeSourcegraph();
        try {
            api.target511("5.11.6271");
            CheckReport report = new CheckReport();
            api.sg.store().build().checkRestore(io.storeBackup("config"), RestoreOptions.defaults(), report);
            assertThat(report.findings()).filteredOn(CheckReport.Finding::error).singleElement()
                    .satisfies(f -> assertThat(f.toString()).contains(GITLAB).contains("ciphertext")
                            .contains("SourcegraphConfigStore.database"));

            exec(db, "DELETE FROM external_services WHERE encryption_key_id <> ''");
            MemoryStoreIo plain = new MemoryStoreIo(SourcegraphConfigStore.KIND);
            store(db).build().backup(plain);
            api.sg.store().build().restore(plain.input("config", RestoreOptions.defaults())); // complete: no secrets needed
            assertThat(api.sg.bodies("AddExternalService")).singleElement().satisfies(b -> assertThat(
                    b.path("variables").path("input").path("config").asText()).isEqualTo(TestData.fixture("extsvc-github.json")));
            assertThat(api.sg.bodies("UpdateSiteConfiguration").get(0).path("variables").path("input").asText())
                    .isEqualTo(TestData.fixture("site-config.jsonc"));
        } finally {
            api.stop();
        }
    }

    @Test
    void codeHostsSharingKindAndNameAreKeptApartAndMatchedInOrder() throws Exception {
        String db = fresh("sg511");
        exec(db, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'GitHub', '{\"n\": 1}')");
        exec(db, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'GitHub', '{\"n\": 2}')");
        // settings are never redacted by Sourcegraph: a value that reads REDACTED is just a value
        exec(db, "INSERT INTO settings (contents) VALUES ('{\"motd\": [\"REDACTED\"]}')");
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        store(db).build().backup(io);
        assertThat(io.artifacts).extracting(ArtifactInfo::name).containsExactly("external-services/GITHUB/GitHub",
                "external-services/GITHUB/GitHub #2", "global-settings");
        assertThat(io.artifacts.get(1).attributes()).containsEntry("displayName", "GitHub");
        assertThat(io.artifacts.get(2).attributes()).containsEntry("redactedPointers", "[]");
        assertThat(io.warnings).anyMatch(w -> w.contains("more than once"));

        String target = fresh("sg511");
        store(target).build().restore(io.input("config", RestoreOptions.defaults()));
        exec(target, "UPDATE external_services SET config = '{}'");
        List<List<String>> ids = rows(target, "SELECT id::text FROM external_services ORDER BY id");
        // the target now holds other code host configs: only a replace may overwrite them
        assertThatThrownBy(() -> store(target).build().restore(io.input("config", RestoreOptions.defaults())))
                .hasMessageContaining("--replace");
        store(target).build().restore(io.input("config", new RestoreOptions(true, false)));
        assertThat(rows(target, "SELECT display_name, config FROM external_services ORDER BY id"))
                .containsExactly(List.of("GitHub", "{\"n\": 1}"), List.of("GitHub", "{\"n\": 2}"));
        assertThat(rows(target, "SELECT id::text FROM external_services ORDER BY id"))
                .as("matched in order and updated in place, not deleted and inserted again").isEqualTo(ids);
    }
}
