package dev.sgbackup.store.sourcegraph;

import java.util.List;

/**
 * Every GraphQL document the API store can send. Most are valid on both 3.2x and 5.x; where the schemas differ
 * (3.2x has no {@code after} cursor on {@code users}; only 3.2x has user-owned code host connections with a
 * {@code namespace}) there is one variant per generation, chosen from the target's own introspection.
 */
final class Queries {
    private Queries() {
    }

    /** A document and the schema generations it is sent to. */
    record Doc(String operation, String text, boolean v3, boolean v5) {
    }

    static final Doc CAPABILITIES = new Doc("Capabilities",
            "query Capabilities { site { id productVersion configuration { id } } "
                    + "queryType: __type(name: \"Query\") { fields { name args { name } } } }", true, true);

    static final Doc SITE_CONFIG = new Doc("SiteConfig",
            "query SiteConfig { site { id configuration { id effectiveContents } } }", true, true);

    static final Doc EXTERNAL_SERVICES = new Doc("ExternalServices",
            "query ExternalServices($first: Int, $after: String) { externalServices(first: $first, after: $after) "
                    + "{ totalCount pageInfo { hasNextPage endCursor } nodes { id kind displayName config } } }",
            true, true);

    static final Doc EXTERNAL_SERVICES_NAMESPACED = new Doc("ExternalServices",
            "query ExternalServices($first: Int, $after: String) { externalServices(first: $first, after: $after) "
                    + "{ totalCount pageInfo { hasNextPage endCursor } nodes { id kind displayName config namespace } } }",
            true, false);

    static final Doc USERNAME_BY_ID = new Doc("UserByID",
            "query UserByID($id: ID!) { node(id: $id) { ... on User { username } } }", true, true);

    static final Doc GLOBAL_SETTINGS = new Doc("GlobalSettings",
            "query GlobalSettings { site { id latestSettings { id contents } } }", true, true);

    /** Organizations have no cursor in either generation: ask for {@code first: totalCount}. */
    static final Doc ORGANIZATIONS = new Doc("Organizations",
            "query Organizations($first: Int) { organizations(first: $first) "
                    + "{ totalCount nodes { id name latestSettings { id contents } } } }", true, true);

    static final Doc USERS_PAGED = new Doc("Users",
            "query Users($first: Int, $after: String) { users(first: $first, after: $after) "
                    + "{ totalCount pageInfo { hasNextPage endCursor } nodes { id username latestSettings { id contents } } } }",
            false, true);

    static final Doc USERS_ALL = new Doc("Users",
            "query Users($first: Int) { users(first: $first) "
                    + "{ totalCount nodes { id username latestSettings { id contents } } } }", true, true);

    static final Doc ORGANIZATION_BY_NAME = new Doc("Organization",
            "query Organization($name: String!) { organization(name: $name) { id latestSettings { id } } }", true, true);

    static final Doc USER_BY_NAME = new Doc("User",
            "query User($username: String!) { user(username: $username) { id latestSettings { id } } }", true, true);

    static final Doc LATEST_SETTINGS_ID = new Doc("LatestSettingsID",
            "query LatestSettingsID($id: ID!) { settingsSubject(id: $id) { latestSettings { id } } }", true, true);

    static final Doc SITE_CONFIG_ID = new Doc("SiteConfigID",
            "query SiteConfigID { site { configuration { id } } }", true, true);

    static final Doc UPDATE_SITE_CONFIGURATION = new Doc("UpdateSiteConfiguration",
            "mutation UpdateSiteConfiguration($lastID: Int!, $input: String!) "
                    + "{ updateSiteConfiguration(lastID: $lastID, input: $input) }", true, true);

    static final Doc ADD_EXTERNAL_SERVICE = new Doc("AddExternalService",
            "mutation AddExternalService($input: AddExternalServiceInput!) "
                    + "{ addExternalService(input: $input) { id kind displayName warning } }", true, true);

    static final Doc UPDATE_EXTERNAL_SERVICE = new Doc("UpdateExternalService",
            "mutation UpdateExternalService($input: UpdateExternalServiceInput!) "
                    + "{ updateExternalService(input: $input) { id displayName warning } }", true, true);

    static final Doc OVERWRITE_SETTINGS = new Doc("OverwriteSettings",
            "mutation OverwriteSettings($subject: ID!, $lastID: Int, $contents: String!) "
                    + "{ settingsMutation(input: {subject: $subject, lastID: $lastID}) "
                    + "{ overwriteSettings(contents: $contents) { empty { alwaysNil } } } }", true, true);

    static final Doc DELETE_EXTERNAL_SERVICE = new Doc("DeleteExternalService",
            "mutation DeleteExternalService($externalService: ID!) "
                    + "{ deleteExternalService(externalService: $externalService) { alwaysNil } }", true, true);

    static final List<Doc> ALL = List.of(CAPABILITIES, SITE_CONFIG, EXTERNAL_SERVICES, EXTERNAL_SERVICES_NAMESPACED,
            USERNAME_BY_ID, GLOBAL_SETTINGS, ORGANIZATIONS, USERS_PAGED, USERS_ALL, ORGANIZATION_BY_NAME, USER_BY_NAME,
            LATEST_SETTINGS_ID, SITE_CONFIG_ID, UPDATE_SITE_CONFIGURATION, ADD_EXTERNAL_SERVICE,
            UPDATE_EXTERNAL_SERVICE, OVERWRITE_SETTINGS, DELETE_EXTERNAL_SERVICE);
}
