package dev.sgbackup.store.sourcegraph;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.matching.RequestPatternBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import graphql.ExecutionResult;
import graphql.GraphQL;
import graphql.schema.GraphQLSchema;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A Sourcegraph GraphQL endpoint made of WireMock stubs built from the fixture request/response pairs. The
 * capability answer is computed by graphql-java from the real schema's introspection.
 */
final class FakeSourcegraph implements AutoCloseable {
    static final String TOKEN = "sgp_0123456789abcdef0123456789abcdef01234567";
    static final String GRAPHQL = "/.api/graphql";
    static final String SITE_ID = "U2l0ZToic2l0ZSI=";

    final WireMockServer wm;

    FakeSourcegraph() {
        wm = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
        wm.start();
    }

    URI uri() {
        return URI.create(wm.baseUrl());
    }

    SourcegraphConfigStore.ApiBuilder store() {
        return SourcegraphConfigStore.api(uri()).token(TOKEN).retries(3, Duration.ofMillis(1));
    }

    static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode fixture(String name) {
        return json(TestData.fixture("graphql/" + name));
    }

    static MappingBuilder op(String operation) {
        return post(urlEqualTo(GRAPHQL)).withRequestBody(matchingJsonPath("$.operationName", equalTo(operation)));
    }

    static RequestPatternBuilder sent(String operation) {
        return postRequestedFor(urlEqualTo(GRAPHQL)).withRequestBody(matchingJsonPath("$.operationName", equalTo(operation)));
    }

    /** Stubs {@code operation} to answer {@code body}. */
    void answer(String operation, Object body) {
        wm.stubFor(op(operation).willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                .withBody(body instanceof String s ? s : Json.write(body))));
    }

    void answer(MappingBuilder m, Object body) {
        wm.stubFor(m.willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                .withBody(body instanceof String s ? s : Json.write(body))));
    }

    /** Matches requests whose variables have these values (a null value: the variable is null or absent). */
    static MappingBuilder withVariables(MappingBuilder m, Map<String, ?> variables) {
        int specific = 0;
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            if (e.getValue() == null) {
                m = m.withRequestBody(com.github.tomakehurst.wiremock.client.WireMock.notContaining(
                        "\"" + e.getKey() + "\":\""));
            } else {
                specific++;
                m = m.withRequestBody(matchingJsonPath("$.variables." + e.getKey(), equalTo(String.valueOf(e.getValue()))));
            }
        }
        return m.atPriority(10 - specific);
    }

    /** The Capabilities answer of a release: its introspection (from the real schema) and its version. */
    void capabilities(GraphQLSchema schema, String version, int siteConfigId) {
        ExecutionResult r = GraphQL.newGraphQL(schema).build().execute(
                "{ queryType: __type(name: \"Query\") { fields { name args { name } } } }");
        if (!r.getErrors().isEmpty()) {
            throw new IllegalStateException(r.getErrors().toString());
        }
        ObjectNode data = Json.MAPPER.valueToTree(r.getData());
        ObjectNode site = data.putObject("site");
        site.put("id", SITE_ID).put("productVersion", version).putObject("configuration").put("id", siteConfigId);
        answer("Capabilities", Map.of("data", data));
    }

    /** The body a stubbed request carried, as JSON. */
    List<JsonNode> bodies(String operation) {
        return wm.findAll(sent(operation)).stream().map(LoggedRequest::getBodyAsString).map(FakeSourcegraph::json).toList();
    }

    static ObjectNode data(String field, JsonNode value) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.putObject("data").set(field, value);
        return root;
    }

    static ObjectNode connection(int total, List<JsonNode> nodes, String endCursor) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("totalCount", total);
        ObjectNode info = c.putObject("pageInfo");
        info.put("hasNextPage", endCursor != null);
        info.put("endCursor", endCursor);
        ArrayNode arr = c.putArray("nodes");
        nodes.forEach(arr::add);
        return c;
    }

    static ObjectNode settingsOwner(String idField, String id, String nameField, String name, Integer settingsId,
                                    String contents) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put(idField, id);
        if (nameField != null) {
            n.put(nameField, name);
        }
        if (settingsId == null) {
            n.putNull("latestSettings");
        } else {
            ObjectNode s = n.putObject("latestSettings").put("id", settingsId);
            if (contents != null) {
                s.put("contents", contents);
            }
        }
        return n;
    }

    @Override
    public void close() {
        wm.stop();
    }
}
