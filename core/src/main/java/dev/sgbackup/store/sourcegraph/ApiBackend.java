package dev.sgbackup.store.sourcegraph;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.sourcegraph.ConfigDocument.Type;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The configuration through Sourcegraph's GraphQL API. One job, so one file (about 460 lines): the {@link Backend}
 * that reads and writes the documents over GraphQL, for the 3.2x and 5.x query shapes.
 */
final class ApiBackend implements Backend {
    static final int PAGE = 50;
    private static final int MAX_PAGES = 100_000;

    private final GraphQlClient gql;
    private final int conflictRetries;
    private Capabilities caps;

    /** What the instance's schema offers, read once from its own introspection. */
    record Capabilities(String version, String siteId, boolean usersCursor, boolean extsvcNamespace) {
    }

    ApiBackend(GraphQlClient gql, int conflictRetries) {
        this.gql = gql;
        this.conflictRetries = conflictRetries;
    }

    @Override
    public String describe() {
        return "Sourcegraph configuration via GraphQL API at " + gql.instance();
    }

    @Override
    public boolean transactional() {
        return false;
    }

    @Override
    public String source() {
        return "api";
    }

    synchronized Capabilities capabilities() {
        if (caps == null) {
            JsonNode d = gql.execute(Queries.CAPABILITIES.operation(), Queries.CAPABILITIES.text(), Map.of());
            // users(after:) appeared after 3.2x; externalServices(namespace:) (user-owned connections) left with 4.x
            boolean usersCursor = false;
            boolean ns = false;
            for (JsonNode f : d.path("queryType").path("fields")) {
                for (JsonNode a : f.path("args")) {
                    String field = f.path("name").asText();
                    String arg = a.path("name").asText();
                    usersCursor |= field.equals("users") && arg.equals("after");
                    ns |= field.equals("externalServices") && arg.equals("namespace");
                }
            }
            caps = new Capabilities(d.path("site").path("productVersion").asText("unknown"),
                    d.path("site").path("id").asText(), usersCursor, ns);
        }
        return caps;
    }

    @Override
    public String version() {
        return capabilities().version();
    }

    @Override
    public void checkSource(CheckReport report) {
        capabilities(); // reachable, token valid, site admin (configuration needs it)
    }

    @Override
    public void read(Backend.DocumentConsumer out) throws IOException {
        Capabilities c = capabilities();
        JsonNode site = gql.execute(Queries.SITE_CONFIG.operation(), Queries.SITE_CONFIG.text(), Map.of()).path("site");
        out.accept(ConfigDocument.siteConfig(text(site.path("configuration").path("effectiveContents"), "site configuration")));

        Queries.Doc q = c.extsvcNamespace() ? Queries.EXTERNAL_SERVICES_NAMESPACED : Queries.EXTERNAL_SERVICES;
        Map<String, String> usernames = new HashMap<>();
        forEachPage(q, "externalServices", nodes -> {
            for (JsonNode n : nodes) {
                Map<String, String> extra = new LinkedHashMap<>();
                String ns = n.path("namespace").asText(null);
                if (ns != null) {
                    extra.put(ConfigDocument.ATTR_NAMESPACE_USER, usernames.computeIfAbsent(ns, this::username));
                }
                out.accept(ConfigDocument.externalService(n.path("kind").asText(), n.path("displayName").asText(),
                        text(n.path("config"), "code host connection config"), extra));
            }
        });

        JsonNode global = gql.execute(Queries.GLOBAL_SETTINGS.operation(), Queries.GLOBAL_SETTINGS.text(), Map.of())
                .path("site").path("latestSettings");
        if (!global.isMissingNode() && !global.isNull()) {
            out.accept(ConfigDocument.globalSettings(text(global.path("contents"), "global settings")));
        }

        for (JsonNode org : listAll(Queries.ORGANIZATIONS, "organizations")) {
            JsonNode s = org.path("latestSettings");
            if (!s.isNull() && !s.isMissingNode()) {
                out.accept(ConfigDocument.orgSettings(org.path("name").asText(), text(s.path("contents"), "org settings")));
            }
        }

        if (c.usersCursor()) {
            forEachPage(Queries.USERS_PAGED, "users", nodes -> userSettings(nodes, out));
        } else {
            userSettings(listAll(Queries.USERS_ALL, "users"), out);
        }
    }

    private static void userSettings(JsonNode nodes, Backend.DocumentConsumer out) throws IOException {
        for (JsonNode u : nodes) {
            JsonNode s = u.path("latestSettings");
            if (!s.isNull() && !s.isMissingNode()) {
                out.accept(ConfigDocument.userSettings(u.path("username").asText(), text(s.path("contents"), "user settings")));
            }
        }
    }

    /** A list without a cursor: ask for a page, and again for all of them if totalCount says there are more. */
    private JsonNode listAll(Queries.Doc q, String field) {
        JsonNode conn = gql.execute(q.operation(), q.text(), Map.of("first", 1000)).path(field);
        int total = conn.path("totalCount").asInt(0);
        if (conn.path("nodes").size() < total) {
            conn = gql.execute(q.operation(), q.text(), Map.of("first", total)).path(field);
            if (conn.path("nodes").size() < total) {
                throw new StoreException("Sourcegraph listed " + conn.path("nodes").size() + " of " + total + " "
                        + field + "; the backup would miss some settings. Report this with the Sourcegraph version");
            }
        }
        return conn.path("nodes");
    }

    /** What {@link #forEachPage} hands each page's nodes to. */
    private interface PageNodes<E extends Exception> {
        void accept(JsonNode nodes) throws E;
    }

    /** Runs the cursor-paged query {@code q} to its last page, handing each page's {@code field} nodes on. */
    private <E extends Exception> void forEachPage(Queries.Doc q, String field, PageNodes<E> nodes) throws E {
        String after = null;
        for (int page = 0; ; page++) {
            Map<String, Object> vars = new LinkedHashMap<>();
            vars.put("first", PAGE);
            vars.put("after", after);
            JsonNode conn = gql.execute(q.operation(), q.text(), vars).path(field);
            nodes.accept(conn.path("nodes"));
            after = next(conn, after, page);
            if (after == null) {
                return;
            }
        }
    }

    private static String next(JsonNode conn, String after, int page) {
        JsonNode info = conn.path("pageInfo");
        if (!info.path("hasNextPage").asBoolean(false)) {
            return null;
        }
        String cursor = info.path("endCursor").asText(null);
        if (cursor == null || cursor.equals(after) || page >= MAX_PAGES) {
            throw new StoreException("Sourcegraph's pagination did not advance (hasNextPage without a new endCursor); "
                    + "the backup stopped instead of looping. Report this with the Sourcegraph version");
        }
        return cursor;
    }

    private String username(String userId) {
        JsonNode n = gql.execute(Queries.USERNAME_BY_ID.operation(), Queries.USERNAME_BY_ID.text(), Map.of("id", userId))
                .path("node");
        return n.path("username").asText("(unknown user " + userId + ")");
    }

    private static String text(JsonNode n, String what) {
        if (!n.isTextual()) {
            throw new StoreException("Sourcegraph answered without the " + what + " text; check the token is a site "
                    + "admin's (SRC_ACCESS_TOKEN)");
        }
        return n.asText();
    }

    // ---- restore ----

    @Override
    public void checkTarget(List<ConfigDocument> documents, CheckReport report) {
        capabilities();
        for (ConfigDocument d : documents) {
            switch (d.type()) {
                case ORG_SETTINGS -> {
                    if (subject(d) == null) {
                        report.warn(d.artifactName(), "organization '" + d.subject() + "' does not exist on the target; "
                                + "its settings are skipped (create the organization, then restore again)");
                    }
                }
                case USER_SETTINGS -> {
                    if (subject(d) == null) {
                        report.warn(d.artifactName(), "user '" + d.subject() + "' does not exist on the target; "
                                + "their settings are skipped (create the user, then restore again)");
                    }
                }
                case EXTERNAL_SERVICE -> {
                    if (!d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty()) {
                        report.error(d.artifactName(), "the config is ciphertext of the source instance's keyring; "
                                + "restore it with SourcegraphConfigStore.database(...) into an instance with the same "
                                + "encryption keys, or back up through the API instead");
                    } else if (d.extra().containsKey(ConfigDocument.ATTR_NAMESPACE_USER)) {
                        report.warn(d.artifactName(), namespacedSkipped(d));
                    }
                }
                default -> {
                }
            }
        }
    }

    static String namespacedSkipped(ConfigDocument d) {
        return "a user-owned code host connection (of '" + d.extra().get(ConfigDocument.ATTR_NAMESPACE_USER)
                + "', Sourcegraph 3.2x) is not restored: it would become visible site-wide; let the user add it again";
    }

    /** The target's id and latest settings id of a settings subject, or null if it does not exist. */
    private record Subject(String id, Integer lastId) {
    }

    private Subject subject(ConfigDocument d) {
        JsonNode n;
        switch (d.type()) {
            case GLOBAL_SETTINGS -> {
                n = gql.execute(Queries.GLOBAL_SETTINGS.operation(), Queries.GLOBAL_SETTINGS.text(), Map.of()).path("site");
            }
            case ORG_SETTINGS -> n = gql.execute(Queries.ORGANIZATION_BY_NAME.operation(),
                    Queries.ORGANIZATION_BY_NAME.text(), Map.of("name", d.subject())).path("organization");
            case USER_SETTINGS -> n = gql.execute(Queries.USER_BY_NAME.operation(), Queries.USER_BY_NAME.text(),
                    Map.of("username", d.subject())).path("user");
            default -> throw new IllegalArgumentException(d.type().toString());
        }
        if (n.isNull() || n.isMissingNode()) {
            return null;
        }
        JsonNode last = n.path("latestSettings").path("id");
        return new Subject(n.path("id").asText(), last.isInt() ? last.asInt() : null);
    }

    @Override
    public Writer writer(Consumer<String> warn) {
        Capabilities c = capabilities();
        return new Writer() {
            Map<String, List<String>> existing;
            final Map<String, Integer> seen = new HashMap<>();
            final Set<String> writtenIds = new HashSet<>();
            final Set<String> writtenSettings = new HashSet<>();

            @Override
            public void write(ConfigDocument d) {
                switch (d.type()) {
                    case SITE_CONFIG -> writeSiteConfig(d, warn);
                    case EXTERNAL_SERVICE -> {
                        if (d.extra().containsKey(ConfigDocument.ATTR_NAMESPACE_USER)) {
                            warn.accept(d.artifactName() + ": " + namespacedSkipped(d));
                            return;
                        }
                        if (existing == null) {
                            existing = externalServiceIds();
                        }
                        writtenIds.add(writeExternalService(d, existing, seen.merge(d.matchKey(), 1, Integer::sum) - 1, warn));
                    }
                    default -> {
                        writeSettings(d, warn);
                        writtenSettings.add(d.artifactName());
                    }
                }
            }

            @Override
            public void removeOthers() throws IOException {
                removeAllBut(writtenIds, writtenSettings, warn);
            }

            @Override
            public void commit() {
                // every write is already applied: the API has no transactions
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return "ApiWriter[" + c.version() + "]";
            }
        };
    }

    private void writeSiteConfig(ConfigDocument d, Consumer<String> warn) {
        int lastId = siteConfigId();
        for (int attempt = 0; ; attempt++) {
            try {
                JsonNode r = gql.execute(Queries.UPDATE_SITE_CONFIGURATION.operation(), Queries.UPDATE_SITE_CONFIGURATION.text(),
                        Map.of("lastID", lastId, "input", d.contents()));
                if (r.path("updateSiteConfiguration").asBoolean(false)) {
                    warn.accept("site-config: Sourcegraph says the new site configuration needs a restart of the "
                            + "frontend to take full effect");
                }
                return;
            } catch (GraphQlClient.GraphQlException e) {
                conflict(e, attempt, "site-config");
                lastId = siteConfigId();
            }
        }
    }

    private int siteConfigId() {
        return gql.execute(Queries.SITE_CONFIG_ID.operation(), Queries.SITE_CONFIG_ID.text(), Map.of())
                .path("site").path("configuration").path("id").asInt();
    }

    /** Rethrows unless {@code e} is a lost race that may still be retried. */
    private void conflict(GraphQlClient.GraphQlException e, int attempt, String doc) {
        if (!e.versionMismatch()) {
            throw new StoreException(doc + ": " + e.getMessage(), e);
        }
        if (attempt >= conflictRetries) {
            throw new StoreException(doc + ": another edit changed it on the target " + (attempt + 1)
                    + " times while restoring (" + String.join("; ", e.messages()) + "); stop other editors "
                    + "(admins, automation) and run the restore again", e);
        }
    }

    /** The target's code host connections by kind and display name, oldest first. */
    private Map<String, List<String>> externalServiceIds() {
        Map<String, List<String>> ids = new HashMap<>();
        Queries.Doc q = Queries.EXTERNAL_SERVICES;
        forEachPage(q, "externalServices", nodes -> {
            for (JsonNode n : nodes) {
                ids.computeIfAbsent(key(n.path("kind").asText(), n.path("displayName").asText()), k -> new ArrayList<>())
                        .add(n.path("id").asText());
            }
        });
        return ids;
    }

    private static String key(String kind, String displayName) {
        return ConfigDocument.externalService(kind, displayName, "", Map.of()).matchKey();
    }

    /**
     * With replace: deletes the code host connections not written by this restore and empties the settings it did
     * not write, so the target's configuration is the backup's. User-owned connections (3.2x) are left alone.
     */
    private void removeAllBut(Set<String> keepIds, Set<String> keepSettings, Consumer<String> warn) throws IOException {
        Queries.Doc q = capabilities().extsvcNamespace() ? Queries.EXTERNAL_SERVICES_NAMESPACED : Queries.EXTERNAL_SERVICES;
        List<String> remove = new ArrayList<>();
        forEachPage(q, "externalServices", nodes -> {
            for (JsonNode n : nodes) {
                if (!keepIds.contains(n.path("id").asText()) && n.path("namespace").asText(null) == null) {
                    remove.add(n.path("id").asText());
                }
            }
        });
        for (String id : remove) {
            try {
                gql.execute(Queries.DELETE_EXTERNAL_SERVICE.operation(), Queries.DELETE_EXTERNAL_SERVICE.text(),
                        Map.of("externalService", id));
            } catch (GraphQlClient.GraphQlException e) {
                throw new StoreException("removing the target's code host connection " + id + ": " + e.getMessage(), e);
            }
        }
        List<ConfigDocument> settings = new ArrayList<>();
        read(d -> {
            if (d.type() != Type.SITE_CONFIG && d.type() != Type.EXTERNAL_SERVICE
                    && !keepSettings.contains(d.artifactName()) && !TargetCheck.empty(d.contents())) {
                settings.add(d);
            }
        });
        for (ConfigDocument d : settings) {
            writeSettings(d.withContents("{}"), warn);
        }
    }

    /**
     * @param occurrence how many connections of this kind and display name came before in this restore
     * @return the connection's id on the target
     */
    private String writeExternalService(ConfigDocument d, Map<String, List<String>> existing, int occurrence,
                                      Consumer<String> warn) {
        String key = d.matchKey();
        for (int attempt = 1; ; attempt++) {
            List<String> same = existing.getOrDefault(key, List.of());
            String id = occurrence < same.size() ? same.get(occurrence) : null;
            JsonNode r;
            try {
                if (id != null) {
                    Map<String, Object> input = new LinkedHashMap<>();
                    input.put("id", id);
                    input.put("displayName", d.displayName());
                    input.put("config", d.contents());
                    r = gql.execute(Queries.UPDATE_EXTERNAL_SERVICE.operation(), Queries.UPDATE_EXTERNAL_SERVICE.text(),
                            Map.of("input", input)).path("updateExternalService");
                } else {
                    Map<String, Object> input = new LinkedHashMap<>();
                    input.put("kind", d.kind());
                    input.put("displayName", d.displayName());
                    input.put("config", d.contents());
                    // not retried blindly: a lost answer may hide a created connection, so look again first
                    r = gql.execute(Queries.ADD_EXTERNAL_SERVICE.operation(), Queries.ADD_EXTERNAL_SERVICE.text(),
                            Map.of("input", input), false).path("addExternalService");
                    existing.computeIfAbsent(key, k -> new ArrayList<>()).add(r.path("id").asText());
                }
            } catch (GraphQlClient.GraphQlException e) {
                throw new StoreException(d.artifactName() + ": " + e.getMessage(), e);
            } catch (StoreException e) {
                if (id != null || attempt >= 3) {
                    throw e;
                }
                existing.clear();
                existing.putAll(externalServiceIds());
                continue;
            }
            String w = r.path("warning").asText(null);
            if (w != null && !w.isEmpty()) {
                warn.accept(d.artifactName() + ": Sourcegraph warns: " + w);
            }
            return id != null ? id : r.path("id").asText();
        }
    }

    private void writeSettings(ConfigDocument d, Consumer<String> warn) {
        Subject s = subject(d);
        if (s == null) {
            warn.accept(d.artifactName() + ": " + (d.type() == Type.ORG_SETTINGS ? "organization" : "user") + " '"
                    + d.subject() + "' does not exist on the target; skipped");
            return;
        }
        Integer lastId = s.lastId();
        for (int attempt = 0; ; attempt++) {
            try {
                Map<String, Object> vars = new LinkedHashMap<>();
                vars.put("subject", s.id());
                vars.put("lastID", lastId);
                vars.put("contents", d.contents());
                gql.execute(Queries.OVERWRITE_SETTINGS.operation(), Queries.OVERWRITE_SETTINGS.text(), vars);
                return;
            } catch (GraphQlClient.GraphQlException e) {
                conflict(e, attempt, d.artifactName());
                JsonNode last = gql.execute(Queries.LATEST_SETTINGS_ID.operation(), Queries.LATEST_SETTINGS_ID.text(),
                        Map.of("id", s.id())).path("settingsSubject").path("latestSettings").path("id");
                lastId = last.isInt() ? last.asInt() : null;
            }
        }
    }
}
