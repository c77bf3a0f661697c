package dev.sgbackup.store.sourcegraph;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.exactly;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.TOKEN;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.connection;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.data;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.fixture;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.json;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.op;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.sent;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.settingsOwner;
import static dev.sgbackup.store.sourcegraph.FakeSourcegraph.withVariables;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiStoreTest {
    static final String GITHUB = "external-services/GITHUB/GitHub (example-org)";
    static final String GITLAB = "external-services/GITLAB/GitLab (internal)";

    FakeSourcegraph sg;
    @TempDir
    Path tmp;

    @BeforeEach
    void start() {
        sg = new FakeSourcegraph();
    }

    @AfterEach
    void stop() {
        sg.close();
    }

    /** A 5.11 source: the fixture answers, external services and users over two pages each. */
    void source511() {
        sg.capabilities(QueriesSchemaTest.V5, "5.11.6271", 42);
        sg.answer("SiteConfig", TestData.fixture("graphql/site-configuration.response.json"));
        JsonNode ext = fixture("external-services.response.json").path("data").path("externalServices");
        Map<String, Object> first = new HashMap<>();
        first.put("first", 50);
        first.put("after", null);
        sg.answer(withVariables(op("ExternalServices"), first),
                data("externalServices", connection(2, List.of(ext.path("nodes").get(0)), "cursor-1")));
        sg.answer(withVariables(op("ExternalServices"), Map.of("first", 50, "after", "cursor-1")),
                data("externalServices", connection(2, List.of(ext.path("nodes").get(1)), null)));
        JsonNode global = fixture("global-settings.response.json").path("data").path("settingsSubject");
        ObjectNode site = json("{}").deepCopy();
        site.put("id", FakeSourcegraph.SITE_ID).set("latestSettings", global.path("latestSettings"));
        sg.answer("GlobalSettings", data("site", site));
        ObjectNode orgs = json("{\"totalCount\": 2}").deepCopy();
        orgs.putArray("nodes")
                .add(settingsOwner("id", "T3JnOjE=", "name", "platform", 3, "{\"search.contextLines\": 2}"))
                .add(settingsOwner("id", "T3JnOjI=", "name", "empty-org", null, null));
        sg.answer("Organizations", data("organizations", orgs));
        sg.answer(withVariables(op("Users"), first), data("users", connection(3, List.of(
                settingsOwner("id", "VXNlcjox", "username", "alice", 11, TestData.fixture("user-settings.jsonc")),
                settingsOwner("id", "VXNlcjoy", "username", "bob", null, null)), "u-2")));
        sg.answer(withVariables(op("Users"), Map.of("first", 50, "after", "u-2")), data("users", connection(3, List.of(
                settingsOwner("id", "VXNlcjoz", "username", "carol", 12, "{\"motd\": [\"hi\"]}")), null)));
    }

    MemoryStoreIo backup511() throws Exception {
        source511();
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        sg.store().build().backup(io);
        return io;
    }

    @Test
    void backsUpEveryDocumentByteForByteAcrossPages() throws Exception {
        MemoryStoreIo io = backup511();
        assertThat(io.artifacts).extracting(a -> a.name()).containsExactly("site-config", GITHUB, GITLAB,
                "global-settings", "orgs/platform/settings", "users/alice/settings", "users/carol/settings");
        String site = fixture("site-configuration.response.json").path("data").path("site").path("configuration")
                .path("effectiveContents").asText();
        assertThat(io.text("site-config")).isEqualTo(site);
        assertThat(io.text("users/alice/settings")).isEqualTo(TestData.fixture("user-settings.jsonc"));
        assertThat(io.text(GITHUB)).isEqualTo(TestData.fixture("extsvc-github.redacted.json"));
        assertThat(io.properties).containsEntry(SourcegraphConfigStore.PROPERTY_VERSION, "5.11.6271")
                .containsEntry(SourcegraphConfigStore.PROPERTY_SOURCE, "api");
        Map<String, String> siteAttrs = io.artifacts.get(0).attributes();
        assertThat(Json.readStrings(siteAttrs.get("redactedPointers"))).containsExactly(
                "/auth.providers/1/clientSecret", "/auth.providers/2/clientSecret", "/email.smtp/username",
                "/email.smtp/password", "/executors.accessToken", "/observability.alerts/0/notifier/url");
        assertThat(io.artifacts.get(1).attributes()).containsEntry("kind", "GITHUB")
                .containsEntry("displayName", "GitHub (example-org)").containsEntry("redactedPointers", "[\"/token\"]");
        assertThat(io.artifacts.get(3).attributes()).containsEntry("redactedPointers", "[]");
        // both pages of each paginated list were asked for, with the token in the header
        sg.wm.verify(exactly(2), sent("ExternalServices"));
        sg.wm.verify(exactly(2), sent("Users"));
        sg.wm.verify(postRequestedFor(urlEqualTo(FakeSourcegraph.GRAPHQL))
                .withHeader("Authorization", equalTo("token " + TOKEN)));
    }

    @Test
    void backsUpA321InstanceWithItsOwnQueryShapes() throws Exception {
        sg.capabilities(QueriesSchemaTest.V3, "3.21.2", 5);
        sg.answer("SiteConfig", data("site", json("{\"id\": \"x\", \"configuration\": {\"id\": 5, \"effectiveContents\": "
                + Json.write(TestData.fixture("site-config-3.21.json")) + "}}")));
        ObjectNode node = json("{\"id\": \"RXh0OjE=\", \"kind\": \"GITLAB\", \"displayName\": \"Mine\", "
                + "\"namespace\": \"VXNlcjo5\"}").deepCopy();
        node.put("config", TestData.fixture("extsvc-gitlab.json"));
        sg.answer(op("ExternalServices").withRequestBody(matchingJsonPath("$.query", com.github.tomakehurst.wiremock.client.WireMock.containing("namespace"))),
                data("externalServices", connection(1, List.of(node), null)));
        sg.answer("UserByID", data("node", json("{\"username\": \"dave\"}")));
        sg.answer("GlobalSettings", data("site", json("{\"id\": \"x\", \"latestSettings\": null}")));
        sg.answer("Organizations", data("organizations", json("{\"totalCount\": 0, \"nodes\": []}")));
        // 3.21's users() has no cursor: the store asks for a page, then for totalCount
        // (a server that caps the page answers fewer nodes than totalCount)
        ObjectNode capped = json("{\"totalCount\": 2}").deepCopy();
        capped.putArray("nodes").add(settingsOwner("id", "VXNlcjo5", "username", "dave", 4, "{}"));
        sg.answer(withVariables(op("Users"), Map.of("first", 1000)), data("users", capped));
        ObjectNode all = json("{\"totalCount\": 2}").deepCopy();
        all.putArray("nodes").add(settingsOwner("id", "VXNlcjo5", "username", "dave", 4, "{}"))
                .add(settingsOwner("id", "VXNlcjoxMA==", "username", "erin", 6, "{\"motd\": []}"));
        sg.answer(withVariables(op("Users"), Map.of("first", 2)), data("users", all));

        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        sg.store().build().backup(io);

        assertThat(io.artifacts).extracting(a -> a.name())
                .containsExactly("site-config", "external-services/GITLAB/Mine", "users/dave/settings", "users/erin/settings");
        assertThat(io.text("site-config")).isEqualTo(TestData.fixture("site-config-3.21.json"));
        assertThat(io.artifacts.get(0).attributes()).containsEntry("redactedPointers", "[]"); // 3.21 did not redact
        assertThat(io.artifacts.get(1).attributes()).containsEntry("namespaceUser", "dave");
        assertThat(io.properties).containsEntry(SourcegraphConfigStore.PROPERTY_VERSION, "3.21.2");
        for (JsonNode b : sg.bodies("Users")) {
            assertThat(b.path("query").asText()).doesNotContain("after");
        }
    }

    /** A 5.11 target with the fixture's ids: site config 42, global settings 7; users alice exists, carol not. */
    void target511(String version) {
        sg.wm.resetAll();
        sg.capabilities(QueriesSchemaTest.V5, version, 42);
        sg.answer("SiteConfigID", data("site", json("{\"configuration\": {\"id\": 42}}")));
        sg.answer("UpdateSiteConfiguration", TestData.fixture("graphql/update-site-configuration.response.json"));
        sg.answer("GlobalSettings", data("site", json("{\"id\": \"" + FakeSourcegraph.SITE_ID + "\", \"latestSettings\": {\"id\": 7, \"contents\": \"{}\"}}")));
        sg.answer("Organization", data("organization", json("{\"id\": \"T3JnOjE=\", \"latestSettings\": null}")));
        // what the restore's check reads: a new instance's own site config, no org or user settings of its own
        sg.answer("SiteConfig", data("site", json("{\"id\": \"" + FakeSourcegraph.SITE_ID + "\", \"configuration\": {\"id\": 42,"
                + " \"effectiveContents\": \"{\\\"externalURL\\\": \\\"https://new.example.com\\\"}\"}}")));
        sg.answer("Organizations", data("organizations", json("{\"totalCount\": 1, \"nodes\": [{\"id\": \"T3JnOjE=\","
                + " \"name\": \"platform\", \"latestSettings\": null}]}")));
        sg.answer("Users", data("users", json("{\"totalCount\": 1, \"pageInfo\": {\"hasNextPage\": false, \"endCursor\": null},"
                + " \"nodes\": [{\"id\": \"VXNlcjox\", \"username\": \"alice\", \"latestSettings\": {\"id\": 3, \"contents\": \"{}\"}}]}")));
        sg.answer(withVariables(op("User"), Map.of("username", "alice")), data("user", json("{\"id\": \"VXNlcjox\", \"latestSettings\": {\"id\": 3}}")));
        sg.answer(withVariables(op("User"), Map.of("username", "carol")), data("user", json("null")));
        sg.answer("OverwriteSettings", TestData.fixture("graphql/overwrite-settings.response.json"));
        // the target's code host connections: none until one is added
        sg.wm.stubFor(op("ExternalServices").inScenario("extsvc").whenScenarioStateIs(STARTED)
                .willReturn(okJson(data("externalServices", connection(0, List.of(), null)))));
        JsonNode ext = fixture("external-services.response.json").path("data").path("externalServices").path("nodes");
        sg.wm.stubFor(op("ExternalServices").inScenario("extsvc").whenScenarioStateIs("added")
                .willReturn(okJson(data("externalServices", connection(2, List.of(ext.get(0), ext.get(1)), null)))));
        sg.wm.stubFor(op("AddExternalService").inScenario("extsvc").whenScenarioStateIs(STARTED)
                .willSetStateTo("added").willReturn(okJson(TestData.fixture("graphql/add-external-service.response.json"))));
        sg.wm.stubFor(op("AddExternalService").inScenario("extsvc").whenScenarioStateIs("added")
                .willReturn(okJson(TestData.fixture("graphql/add-external-service.response.json"))));
        sg.answer("UpdateExternalService", data("updateExternalService", json("{\"id\": \"RXh0ZXJuYWxTZXJ2aWNlOjE=\", \"displayName\": \"x\", \"warning\": null}")));
    }

    static com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder okJson(Object body) {
        return aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                .withBody(body instanceof String s ? s : Json.write(body));
    }

    /** The values the API redacted, as in the fixtures' unredacted documents. */
    Path secretsFile() throws Exception {
        Map<String, Jsonc.Value> site = Jsonc.index(TestData.fixture("site-config.json"));
        Map<String, Object> siteSecrets = new LinkedHashMap<>();
        for (String p : Secrets.redactedPointers(TestData.fixture("site-config.redacted.json"))) {
            siteSecrets.put(p, site.get(p).string());
        }
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("site-config", siteSecrets);
        all.put(GITHUB, Map.of("/token", "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"));
        all.put(GITLAB, Map.of("/token", "glpat-FAKEfakeFAKEfake0000"));
        Path f = tmp.resolve("secrets.json");
        Files.writeString(f, Json.write(all));
        return f;
    }

    @Test
    void restoresIntoANewInstanceWithTheSecretsPutBackInPlace() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        SourcegraphConfigStore target = sg.store().secrets(secretsFile()).build();

        target.restore(io.input("config", RestoreOptions.defaults()));

        // the mutations are exactly the fixture requests
        JsonNode siteReq = fixture("update-site-configuration.request.json");
        assertThat(sg.bodies("UpdateSiteConfiguration")).singleElement()
                .satisfies(b -> assertThat(b.path("variables")).isEqualTo(siteReq.path("variables")));
        JsonNode addReq = fixture("add-external-service.request.json");
        List<JsonNode> adds = sg.bodies("AddExternalService");
        assertThat(adds).hasSize(2);
        assertThat(adds.get(0).path("variables")).isEqualTo(addReq.path("variables"));
        assertThat(adds.get(1).path("variables").path("input").path("config").asText())
                .isEqualTo(TestData.fixture("extsvc-gitlab.json"));
        JsonNode settingsReq = fixture("overwrite-settings.request.json");
        List<JsonNode> overwrites = sg.bodies("OverwriteSettings");
        assertThat(overwrites).hasSize(3); // global, org platform, user alice; carol does not exist
        assertThat(overwrites.get(0).path("variables")).isEqualTo(settingsReq.path("variables"));
        assertThat(overwrites.get(2).path("variables").path("subject").asText()).isEqualTo("VXNlcjox");
        assertThat(overwrites.get(2).path("variables").path("lastID").asInt()).isEqualTo(3);
        assertThat(overwrites.get(2).path("variables").path("contents").asText())
                .isEqualTo(TestData.fixture("user-settings.jsonc"));
        assertThat(io.warnings).anyMatch(w -> w.contains("carol") && w.contains("does not exist"));
    }

    @Test
    void aSecondRestoreUpdatesTheCodeHostConnectionsInsteadOfDuplicatingThem() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        SourcegraphConfigStore target = sg.store().secrets(secretsFile()).build();
        target.restore(io.input("config", RestoreOptions.defaults()));
        target.restore(io.input("config", RestoreOptions.defaults()));
        sg.wm.verify(exactly(2), sent("AddExternalService"));
        List<JsonNode> updates = sg.bodies("UpdateExternalService");
        assertThat(updates).hasSize(2);
        assertThat(updates.get(0).path("variables").path("input").path("id").asText()).isEqualTo("RXh0ZXJuYWxTZXJ2aWNlOjE=");
        assertThat(updates.get(0).path("variables").path("input").path("config").asText())
                .isEqualTo(TestData.fixture("extsvc-github.json"));
    }

    @Test
    void missingSecretsAreAllListedAndNothingIsWritten() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        Path partial = tmp.resolve("partial.json");
        Files.writeString(partial, "{\"" + GITHUB + "\": {\"/token\": \"ghp_given\"}}");
        SourcegraphConfigStore target = sg.store().secrets(partial).build();

        CheckReport report = new CheckReport();
        target.checkRestore(io.storeBackup("config"), RestoreOptions.defaults(), report);
        assertThat(report.ok()).isFalse();
        assertThat(report.findings().stream().filter(CheckReport.Finding::error)).hasSize(7);

        assertThatThrownBy(() -> target.restore(io.input("config", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("7 checks failed")
                .hasMessageContaining("site-config: secret /auth.providers/1/clientSecret")
                .hasMessageContaining("/observability.alerts/0/notifier/url")
                .hasMessageContaining(GITLAB + ": secret /token")
                .hasMessageNotContaining(GITHUB + ": secret")
                .hasMessageNotContaining("ghp_given");
        for (String m : List.of("UpdateSiteConfiguration", "AddExternalService", "UpdateExternalService", "OverwriteSettings")) {
            sg.wm.verify(0, sent(m));
        }
    }

    @Test
    void aValueRedactedInTheTextButNotRecordedIsCaughtBeforeWriting() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        // an artifact whose recorded pointers were lost: the restore looks at the text itself
        var a = io.artifacts.get(1);
        io.artifacts.set(1, new dev.sgbackup.store.ArtifactInfo(a.name(), a.key(), a.size(), a.sha256(), a.storedSize(),
                a.storedSha256(), a.transforms(), Map.of("type", "external-service", "kind", "GITHUB",
                "displayName", "GitHub (example-org)")));
        Path f = secretsFile();
        String withoutGithub = Files.readString(f).replace("\"" + GITHUB + "\"", "\"unused\"");
        Files.writeString(f, withoutGithub);
        SourcegraphConfigStore target = sg.store().secrets(f).build();
        assertThatThrownBy(() -> target.restore(io.input("config", RestoreOptions.defaults())))
                .hasMessageContaining(GITHUB + ": secret /token was redacted");
        sg.wm.verify(0, sent("UpdateSiteConfiguration"));
    }

    @Test
    void aDamagedArtifactStopsTheRestoreBeforeAnythingIsWritten() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        io.damage("users/carol/settings");
        SourcegraphConfigStore target = sg.store().secrets(secretsFile()).build();
        assertThatThrownBy(() -> target.restore(io.input("config", RestoreOptions.defaults()))).isInstanceOf(IntegrityException.class);
        sg.wm.verify(0, sent("UpdateSiteConfiguration"));
        sg.wm.verify(0, sent("OverwriteSettings"));
    }

    @Test
    void dryRunChecksEverythingAndWritesNothing() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        sg.store().secrets(secretsFile()).build().restore(io.input("config", new RestoreOptions(false, true)));
        sg.wm.verify(0, sent("UpdateSiteConfiguration"));
        sg.wm.verify(0, sent("AddExternalService"));
    }

    @Test
    void overridesChangeValuesForTheNewInstance() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        sg.store().secrets(secretsFile()).secret("site-config", "/externalURL", "https://new.acme.test").build()
                .restore(io.input("config", RestoreOptions.defaults()));
        String input = sg.bodies("UpdateSiteConfiguration").get(0).path("variables").path("input").asText();
        assertThat(input).isEqualTo(fixture("update-site-configuration.request.json").path("variables").path("input")
                .asText().replace("https://sourcegraph.example.com", "https://new.acme.test"));
    }

    @Test
    void aConcurrentEditIsRetriedWithTheFreshId() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        sg.wm.stubFor(op("OverwriteSettings").inScenario("race").whenScenarioStateIs(STARTED).willSetStateTo("lost")
                .willReturn(okJson(TestData.fixture("graphql/overwrite-settings-conflict.error-response.json"))));
        sg.wm.stubFor(op("OverwriteSettings").inScenario("race").whenScenarioStateIs("lost")
                .willReturn(okJson(TestData.fixture("graphql/overwrite-settings.response.json"))));
        sg.answer("LatestSettingsID", data("settingsSubject", json("{\"latestSettings\": {\"id\": 8}}")));

        sg.store().secrets(secretsFile()).build().restore(io.input("config", RestoreOptions.defaults()));

        List<JsonNode> overwrites = sg.bodies("OverwriteSettings");
        assertThat(overwrites).hasSize(4);
        assertThat(overwrites.get(0).path("variables").path("lastID").asInt()).isEqualTo(7);
        assertThat(overwrites.get(1).path("variables").path("lastID").asInt()).isEqualTo(8);
        assertThat(overwrites.get(1).path("variables").path("contents")).isEqualTo(overwrites.get(0).path("variables").path("contents"));
    }

    @Test
    void aPersistentConflictGivesUpAfterBoundedRetriesWithAClearError() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        sg.answer("UpdateSiteConfiguration", "{\"errors\": [{\"message\": \"site config has been modified by another "
                + "request, write not allowed\"}], \"data\": null}");
        SourcegraphConfigStore target = sg.store().conflictRetries(2).secrets(secretsFile()).build();
        assertThatThrownBy(() -> target.restore(io.input("config", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("site-config: another edit changed it on the target 3 times")
                .hasMessageContaining("run the restore again");
        sg.wm.verify(exactly(3), sent("UpdateSiteConfiguration"));
    }

    @Test
    void graphQlErrorsAreSurfacedWithTheirMessage() throws Exception {
        MemoryStoreIo io = backup511();
        target511("5.11.6271");
        sg.answer("AddExternalService", TestData.fixture("graphql/add-external-service-redacted.error-response.json"));
        assertThatThrownBy(() -> sg.store().secrets(secretsFile()).build().restore(io.input("config", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining(GITHUB + ": Sourcegraph rejected AddExternalService: unable to write external "
                        + "service config as it contains redacted fields")
                .hasMessageContaining("the target already has 1 of 7 documents restored (site-config)")
                .hasMessageNotContaining("ghp_FAKE");
    }

    @Test
    void crossVersionRestoreWarns() throws Exception {
        MemoryStoreIo io = backup511();
        target511("6.1.4020");
        SourcegraphConfigStore target = sg.store().secrets(secretsFile()).build();
        CheckReport report = new CheckReport();
        target.checkRestore(io.storeBackup("config"), RestoreOptions.defaults(), report);
        assertThat(report.ok()).isTrue();
        assertThat(report.findings()).anyMatch(f -> !f.error() && f.message().contains("5.11.6271")
                && f.message().contains("6.1.4020"));
        target.restore(io.input("config", RestoreOptions.defaults()));
        assertThat(io.warnings).anyMatch(w -> w.contains("6.1.4020"));
    }

    @Test
    void unauthorizedNamesTheFixAndNeverTheToken() {
        sg.wm.stubFor(com.github.tomakehurst.wiremock.client.WireMock.any(anyUrl()).willReturn(aResponse().withStatus(401)));
        SourcegraphConfigStore store = sg.store().build();
        assertThatThrownBy(() -> store.backup(new MemoryStoreIo(SourcegraphConfigStore.KIND)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("401").hasMessageContaining("SRC_ACCESS_TOKEN")
                .hasMessageNotContaining(TOKEN);
        sg.wm.verify(exactly(1), anyRequestedFor(anyUrl())); // 401 is not retried
        CheckReport r = new CheckReport();
        store.checkBackup(r);
        assertThat(r.ok()).isFalse();
        assertThat(r.toString()).contains("401").doesNotContain(TOKEN);
    }

    @Test
    void forbiddenAsksForSiteAdminRights() {
        sg.wm.stubFor(com.github.tomakehurst.wiremock.client.WireMock.any(anyUrl()).willReturn(aResponse().withStatus(403)));
        assertThatThrownBy(() -> sg.store().build().backup(new MemoryStoreIo(SourcegraphConfigStore.KIND)))
                .hasMessageContaining("403").hasMessageContaining("site admin");
    }

    @Test
    void serverErrorsAreRetriedWithBackoff() throws Exception {
        source511();
        sg.wm.stubFor(op("SiteConfig").inScenario("flaky").whenScenarioStateIs(STARTED).willSetStateTo("one")
                .willReturn(aResponse().withStatus(502)));
        sg.wm.stubFor(op("SiteConfig").inScenario("flaky").whenScenarioStateIs("one").willSetStateTo("two")
                .willReturn(aResponse().withStatus(503)));
        sg.wm.stubFor(op("SiteConfig").inScenario("flaky").whenScenarioStateIs("two")
                .willReturn(okJson(TestData.fixture("graphql/site-configuration.response.json"))));
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        sg.store().build().backup(io);
        sg.wm.verify(exactly(3), sent("SiteConfig"));
        assertThat(io.artifacts).hasSize(7);
    }

    @Test
    void serverErrorsGiveUpAfterTheBoundedAttempts() {
        sg.wm.stubFor(com.github.tomakehurst.wiremock.client.WireMock.any(anyUrl()).willReturn(aResponse().withStatus(500)));
        assertThatThrownBy(() -> sg.store().build().backup(new MemoryStoreIo(SourcegraphConfigStore.KIND)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("after 3 attempts").hasMessageContaining("HTTP 500");
        sg.wm.verify(exactly(3), anyRequestedFor(anyUrl()));
    }

    @Test
    void connectionFailuresAreRetriedThenReported() {
        int port = sg.wm.port();
        sg.close();
        SourcegraphConfigStore store = SourcegraphConfigStore.api(java.net.URI.create("http://127.0.0.1:" + port))
                .token(TOKEN).retries(2, java.time.Duration.ofMillis(1)).build();
        assertThatThrownBy(() -> store.backup(new MemoryStoreIo(SourcegraphConfigStore.KIND)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("after 2 attempts").hasMessageContaining("reachable");
        sg = new FakeSourcegraph();
    }

    @Test
    void sudoSendsTheTokenSudoHeader() throws Exception {
        source511();
        sg.store().sudo("alice").build().backup(new MemoryStoreIo(SourcegraphConfigStore.KIND));
        sg.wm.verify(postRequestedFor(urlEqualTo(FakeSourcegraph.GRAPHQL))
                .withHeader("Authorization", equalTo("token-sudo user=\"alice\",token=\"" + TOKEN + "\"")));
    }

    @Test
    void tokenAndEndpointDefaultToTheSrcEnvironment() throws Exception {
        source511();
        Map<String, String> env = Map.of("SRC_ENDPOINT", sg.uri().toString(), "SRC_ACCESS_TOKEN", "sgp_from_env_0000");
        MemoryStoreIo io = new MemoryStoreIo(SourcegraphConfigStore.KIND);
        SourcegraphConfigStore.api().environment(env::get).retries(1, java.time.Duration.ZERO).build().backup(io);
        sg.wm.verify(postRequestedFor(urlEqualTo(FakeSourcegraph.GRAPHQL))
                .withHeader("Authorization", equalTo("token sgp_from_env_0000")));
        assertThatThrownBy(() -> SourcegraphConfigStore.api().environment(k -> null).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("SRC_ENDPOINT");
        assertThatThrownBy(() -> SourcegraphConfigStore.api(sg.uri()).environment(k -> null).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("SRC_ACCESS_TOKEN");
    }

    @Test
    void toStringsNeverShowTheTokenOrSecrets() throws Exception {
        SourcegraphConfigStore.ApiBuilder b = sg.store().secrets(secretsFile()).secret("site-config", "/x", "override-value");
        SourcegraphConfigStore store = b.build();
        for (String s : List.of(b.toString(), store.toString(), store.describe())) {
            assertThat(s).doesNotContain(TOKEN).doesNotContain("ghp_FAKE").doesNotContain("override-value");
        }
        assertThat(store.toString()).contains(":" + sg.wm.port()).contains("Secrets[3 documents, 9 values]");
    }

    @Test
    void aBadSecretsFileIsRejectedWithoutEchoingIt() throws Exception {
        Path f = tmp.resolve("bad.json");
        Files.writeString(f, "{\"site-config\": {\"/x\": \"hunter2-secret\" ");
        assertThatThrownBy(() -> sg.store().secrets(f)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not valid JSON").hasMessageNotContaining("hunter2");
        Files.writeString(f, "{\"site-config\": {\"x\": \"v\"}}");
        assertThatThrownBy(() -> sg.store().secrets(f)).hasMessageContaining("not a JSON pointer");
        assertThatThrownBy(() -> sg.store().secrets(tmp.resolve("nope.json"))).hasMessageContaining("does not exist");
    }

    @Test
    void secretsNeverReachTheLogsAtAnyLevel() throws Exception {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("dev.sgbackup");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                String m = r.getMessage();
                if (r.getParameters() != null) {
                    m = java.text.MessageFormat.format(m, r.getParameters());
                }
                lines.add(r.getLevel() + " " + m + (r.getThrown() == null ? "" : " " + r.getThrown()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        h.setLevel(java.util.logging.Level.ALL);
        java.util.logging.Level before = root.getLevel();
        root.setLevel(java.util.logging.Level.ALL);
        root.addHandler(h);
        List<String> secrets = new java.util.ArrayList<>(List.of(TOKEN, "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000",
                "glpat-FAKEfakeFAKEfake0000"));
        Jsonc.index(TestData.fixture("site-config.json")).forEach((p, v) -> {
            if (Secrets.redactedPointers(TestData.fixture("site-config.redacted.json")).contains(p)) {
                secrets.add(v.string());
            }
        });
        List<String> messages = new java.util.ArrayList<>();
        try {
            MemoryStoreIo io = backup511();
            target511("5.11.6271");
            sg.wm.stubFor(op("OverwriteSettings").inScenario("flaky").whenScenarioStateIs(STARTED).willSetStateTo("ok")
                    .willReturn(aResponse().withStatus(503)));
            sg.wm.stubFor(op("OverwriteSettings").inScenario("flaky").whenScenarioStateIs("ok")
                    .willReturn(okJson(TestData.fixture("graphql/overwrite-settings.response.json"))));
            SourcegraphConfigStore store = sg.store().secrets(secretsFile()).build();
            store.restore(io.input("config", RestoreOptions.defaults()));
            messages.add(store.toString());
            messages.addAll(io.warnings);
            // a failing restore: the GraphQL error message quotes the config it refused
            sg.answer("UpdateSiteConfiguration", "{\"errors\": [{\"message\": \"invalid config: "
                    + secrets.get(3) + " is not allowed\"}], \"data\": null}");
            try {
                store.restore(io.input("config", RestoreOptions.defaults()));
            } catch (StoreException e) {
                messages.add(e.getMessage());
                assertThat(e.getMessage()).contains("invalid config: *** is not allowed");
            }
        } finally {
            root.removeHandler(h);
            root.setLevel(before);
        }
        assertThat(lines).anyMatch(l -> l.startsWith("FINE") && l.contains("UpdateSiteConfiguration"));
        assertThat(lines).anyMatch(l -> l.startsWith("WARNING") && l.contains("HTTP 503"));
        for (String s : secrets) {
            assertThat(lines).noneMatch(l -> l.contains(s));
            assertThat(messages).noneMatch(l -> l.contains(s));
        }
    }

    @Test
    void theEndpointMayHaveABasePathAndNeverShowsUserInfo() {
        GraphQlClient c = new GraphQlClient(new okhttp3.OkHttpClient(),
                okhttp3.HttpUrl.get("https://admin:pw@sg.acme.test/sourcegraph/?x=1"), TOKEN, null, 1,
                java.time.Duration.ZERO, Redactor.none());
        assertThat(c.url().toString()).isEqualTo("https://admin:pw@sg.acme.test/sourcegraph/.api/graphql");
        assertThat(c.instance()).isEqualTo("https://sg.acme.test/sourcegraph");
        assertThat(c.toString()).doesNotContain(TOKEN).doesNotContain("pw");
        assertThatThrownBy(() -> SourcegraphConfigStore.api(java.net.URI.create("sg.acme.test")).token(TOKEN).build())
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("not an http(s) URL");
    }
}
