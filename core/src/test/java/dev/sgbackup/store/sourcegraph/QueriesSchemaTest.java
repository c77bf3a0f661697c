package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;

import graphql.ParseAndValidate;
import graphql.ParseAndValidateResult;
import graphql.schema.GraphQLSchema;
import graphql.schema.idl.RuntimeWiring;
import graphql.schema.idl.SchemaParser;
import graphql.schema.idl.TypeDefinitionRegistry;
import graphql.schema.idl.UnExecutableSchemaGenerator;
import graphql.validation.ValidationError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every GraphQL document the API store can send is valid against the real 3.21 and 5.11 schemas. */
class QueriesSchemaTest {
    static final Path DATA = TestData.DIR.resolve("graphql");
    static final GraphQLSchema V3 = schema("schema-3.21-e01bade8.graphql");
    static final GraphQLSchema V5 = schema("schema-5.11.6271.graphql");

    static GraphQLSchema schema(String file) {
        try {
            TypeDefinitionRegistry reg = new SchemaParser().parse(Files.readString(DATA.resolve(file)));
            return UnExecutableSchemaGenerator.makeUnExecutableSchema(reg);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<ValidationError> validate(GraphQLSchema schema, String document) {
        ParseAndValidateResult r = ParseAndValidate.parseAndValidate(schema,
                graphql.ExecutionInput.newExecutionInput(document).build());
        assertThat(r.getSyntaxException()).as("syntax of %s", document).isNull();
        return r.getValidationErrors();
    }

    @Test
    void everyDocumentIsValidAgainstTheSchemasItIsSentTo() {
        assertThat(Queries.ALL).hasSizeGreaterThan(10);
        for (Queries.Doc d : Queries.ALL) {
            assertThat(d.v3() || d.v5()).as(d.operation()).isTrue();
            if (d.v3()) {
                assertThat(validate(V3, d.text())).as("%s against 3.21", d.operation()).isEmpty();
            }
            if (d.v5()) {
                assertThat(validate(V5, d.text())).as("%s against 5.11", d.operation()).isEmpty();
            }
        }
    }

    @Test
    void theVersionSpecificVariantsReallyDifferBetweenTheSchemas() {
        // users(after:) does not exist in 3.21, ExternalService.namespace no longer exists in 5.11:
        // this is why there is one variant per generation
        assertThat(validate(V3, Queries.USERS_PAGED.text())).isNotEmpty();
        assertThat(validate(V5, Queries.EXTERNAL_SERVICES_NAMESPACED.text())).isNotEmpty();
    }

    @Test
    void anInvalidDocumentFailsValidation() {
        List<ValidationError> errors = validate(V5,
                "query Bad { site { configuration { id effectiveContentz } } }");
        assertThat(errors).isNotEmpty();
        assertThat(errors.get(0).getMessage()).contains("effectiveContentz");
        // a mutation argument of the wrong type
        assertThat(validate(V3, "mutation M($x: String!) { updateSiteConfiguration(lastID: $x, input: \"{}\") }"))
                .isNotEmpty();
    }

    @Test
    void theFixtureRequestsAreValidToo() throws Exception {
        for (String f : List.of("site-configuration", "external-services", "global-settings", "overwrite-settings",
                "update-site-configuration", "add-external-service", "update-external-service")) {
            String query = Json.MAPPER.readTree(TestData.DIR.resolve("fixtures/graphql/" + f + ".request.json").toFile())
                    .path("query").asText();
            assertThat(validate(V5, query)).as(f).isEmpty();
        }
    }
}
