package dev.sgbackup.store.postgres;

import dev.sgbackup.run.InvalidInputException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Sourcegraph's tables (frontend, codeintel-db, codeinsights-db; 3.2x and 5.x names) by the data categories
 * of Sourcegraph's backup guide. Each category has a fixed id and says whether its data can be recreated
 * without a backup (re-sync from code hosts, recomputed state).
 *
 * <p>A table is matched by its exact name first, then by the longest matching name prefix, so tables of
 * versions the catalog has not seen usually still find their category; a table that matches nothing is
 * unknown, and callers include and report it rather than drop it.
 *
 * <pre>{@code
 * SourcegraphCatalog c = SourcegraphCatalog.standard();
 * c.categoryOf("public.user_emails");   // Optional[users]
 * System.out.println(c);               // the whole catalog as a table
 * }</pre>
 */
public final class SourcegraphCatalog {

    /**
     * One data category.
     *
     * @param id          fixed id, e.g. {@code users}
     * @param description what it holds
     * @param recreatable true if a new instance can rebuild it without a backup (sync, recomputation)
     * @param tables      exact table names (without schema), 3.2x and 5.x
     * @param prefixes    name prefixes for tables of other versions
     */
    public record Category(String id, String description, boolean recreatable, Set<String> tables, List<String> prefixes) {
        public Category {
            tables = Set.copyOf(tables);
            prefixes = List.copyOf(prefixes);
        }

        @Override
        public String toString() {
            return id + (recreatable ? " (recreatable)" : "") + ": " + description;
        }
    }

    /**
     * Former ids still accepted where ids are parsed ({@link #expand}): {@code code-intel} (until 0.x both halves of
     * precise code-intel) means {@code code-intel-config} and {@code code-intel-data}.
     */
    public static final Map<String, List<String>> ALIASES = Map.of("code-intel", List.of("code-intel-config", "code-intel-data"));

    /** The fixed category ids, in guide order: those of the typed {@link dev.sgbackup.store.postgres.Category}. */
    public static final List<String> IDS = java.util.Arrays.stream(dev.sgbackup.store.postgres.Category.values())
            .map(dev.sgbackup.store.postgres.Category::id).toList();

    private static final SourcegraphCatalog STANDARD = new SourcegraphCatalog(List.of(
            new Category("site-config", "site configuration, global state, licenses, outbound webhooks, tenants,"
                    + " the telemetry export allowlist", false,
                    Set.of("critical_and_site_config", "global_state", "product_licenses", "product_subscriptions",
                            "outbound_webhooks", "outbound_webhook_event_types", "tenants",
                            // 5.x before 5.11: which events may be exported, seeded by migrations: configuration, not logs
                            "event_logs_export_allowlist"),
                    List.of("critical_and_site_config", "outbound_webhook_event")),
            new Category("code-hosts", "code host connections (external services), GitHub apps, incoming webhooks, secrets", false,
                    Set.of("external_services", "code_hosts", "github_apps", "github_app_installs", "webhooks", "secrets"),
                    List.of("external_service_", "github_app")),
            new Category("settings", "global, org and user settings, feature flags, extension registry", false,
                    Set.of("settings", "temporary_settings", "feature_flags", "feature_flag_overrides",
                            "user_onboarding_tour", "registry_extensions", "registry_extension_releases"),
                    List.of("settings_", "feature_flag", "registry_extension")),
            new Category("users", "user accounts, emails, external accounts, names, roles (RBAC), access requests", false,
                    Set.of("users", "user_emails", "user_external_accounts", "names", "roles", "user_roles",
                            "role_permissions", "permissions", "namespace_permissions", "access_requests"),
                    List.of("user_email", "user_external", "role")),
            new Category("orgs", "organizations, members, invitations, teams", false,
                    Set.of("orgs", "org_members", "org_invitations", "org_stats", "teams", "team_members"),
                    List.of("org_", "team")),
            new Category("saved-searches", "saved searches and queries, prompts", false,
                    Set.of("saved_searches", "saved_queries", "query_runner_state", "prompts", "prompt_tags",
                            "prompts_tags_mappings"),
                    List.of("saved_", "prompt")),
            new Category("access-tokens", "access tokens (hashes only)", false,
                    Set.of("access_tokens"), List.of("access_token")),
            new Category("batch-changes", "batch changes, specs, changesets, campaigns (3.2x), credentials, executor secrets", false,
                    Set.of("user_credentials", "executor_secrets", "executor_secret_access_logs", "patches", "patch_sets"),
                    List.of("batch_", "changeset", "campaign", "executor_secret")),
            new Category("code-intel-config", "precise code-intel configuration: policies, index and retention"
                    + " configuration, auto-indexing exceptions and inference scripts, code ownership (CODEOWNERS, assigned"
                    + " owners and teams, signal configurations), package repository filters", false,
                    Set.of("lsif_configuration_policies", "lsif_configuration_policies_repository_pattern_lookup",
                            "configuration_policies_audit_logs", "lsif_index_configuration", "lsif_retention_configuration",
                            "codeintel_autoindexing_exceptions", "codeintel_inference_scripts",
                            "codeintel_langugage_support_requests", "assigned_owners", "assigned_teams", "codeowners",
                            "codeowners_owners", "own_signal_configurations", "package_repo_filters"),
                    List.of("lsif_configuration_polic", "lsif_index_configuration", "lsif_retention_configuration",
                            "configuration_policies", "codeintel_autoindexing_exception", "codeintel_inference",
                            "codeowners", "assigned_", "package_repo_filter")),
            new Category("code-intel-data", "precise code-intel upload and index records, dependency and package data,"
                    + " SCIP jobs, vulnerability matches, ownership statistics: meaningful only together with the codeintel"
                    + " database; recreated by re-uploading and re-indexing", true,
                    Set.of("cached_available_indexers", "codeowners_individual_stats", "vulnerabilities",
                            "vulnerability_affected_packages", "vulnerability_affected_symbols", "vulnerability_matches",
                            "package_repo_versions"),
                    List.of("lsif_", "codeintel_", "rockskip_", "syntactic_scip_", "vulnerabilit", "package_repo_")),
            new Category("insights", "code insights: series, points, views, dashboards, background jobs", false,
                    Set.of("dashboard", "dashboard_grants", "dashboard_insight_view", "metadata", "repo_iterator",
                            "repo_iterator_errors", "repo_names", "series_points", "series_points_snapshots",
                            "archived_series_points", "archived_insight_series_recording_times"),
                    List.of("insight", "dashboard", "series_points", "archived_")),
            new Category("notebooks-monitors-contexts", "notebooks, code monitors, search contexts, discussions (3.2x)", false,
                    Set.of("notebooks", "notebook_stars"),
                    List.of("notebook", "cm_", "search_context", "discussion_")),
            new Category("surveys", "NPS survey responses", false,
                    Set.of("survey_responses"), List.of("survey_")),
            new Category("event-logs", "usage and security event logs, telemetry queue, user statistics", false,
                    Set.of("event_logs", "security_event_logs", "aggregated_user_statistics", "telemetry_events_export_queue",
                            "cody_audit_log"),
                    List.of("event_logs", "security_event", "telemetry_", "cody_audit")),
            new Category("repo-metadata", "key-value pairs and tags users attach to repositories (not synced)", false,
                    Set.of("repo_kvps"), List.of("repo_kvp")),
            new Category("repos", "repository metadata and clone state, synced from code hosts", true,
                    Set.of("repo", "default_repos", "phabricator_repos", "external_service_repos", "gitserver_repos",
                            "gitserver_repos_statistics", "gitserver_repos_sync_output", "zoekt_repos", "repo_statistics",
                            "repo_paths", "commit_authors"),
                    List.of("repo_", "gitserver_repos", "zoekt_")),
            new Category("permissions", "repository permissions synced from code hosts", true,
                    Set.of("user_permissions", "repo_permissions", "user_pending_permissions", "repo_pending_permissions",
                            "user_repo_permissions", "sub_repo_permissions", "permission_sync_jobs",
                            "explicit_permissions_bitbucket_projects_jobs"),
                    List.of("user_permissions", "repo_permissions", "user_pending_permissions", "repo_pending_permissions",
                            "permission_sync", "explicit_permissions", "sub_repo_permissions")),
            new Category("plumbing", "migrations, versions, job queues, executors, caches, derived statistics", true,
                    Set.of("versions", "schema_migrations", "migration_logs", "out_of_band_migrations",
                            "out_of_band_migrations_errors", "executor_heartbeats", "executor_job_tokens",
                            "gitserver_relocator_jobs", "webhook_logs", "outbound_webhook_jobs", "outbound_webhook_logs",
                            "context_detection_embedding_jobs", "contributor_data", "contributor_jobs", "contributor_repos",
                            "own_aggregate_recent_contribution", "own_aggregate_recent_view", "own_background_jobs",
                            "own_signal_recent_contribution", "ownership_path_stats", "event_logs_scrape_state",
                            "event_logs_scrape_state_own", "codeintel_last_reconcile", "lsif_last_index_scan",
                            "lsif_last_retention_scan", "lsif_dirty_repositories", "repo_update_jobs",
                            "repo_embedding_jobs", "repo_embedding_job_stats", "repo_context_stats",
                            "repo_context_stats_jobs", "exhaustive_search_jobs", "exhaustive_search_repo_jobs",
                            "exhaustive_search_repo_revision_jobs", "syntactic_scip_last_index_scan",
                            "insights_background_jobs", "insights_data_retention_jobs", "insights_query_runner_jobs",
                            "insights_query_runner_jobs_dependencies", "insights_settings_migration_jobs"),
                    List.of("out_of_band_", "executor_", "exhaustive_search", "own_", "ownership_", "contributor_",
                            "migration", "schema_migration", "outbound_webhook_job", "outbound_webhook_log",
                            "webhook_log"))));

    private final List<Category> categories;
    private final Map<String, Category> byId;
    private final Map<String, Category> exact = new LinkedHashMap<>();
    private final List<Map.Entry<String, Category>> prefixes = new ArrayList<>();

    private SourcegraphCatalog(List<Category> categories) {
        this.categories = List.copyOf(categories);
        this.byId = new LinkedHashMap<>();
        for (Category c : categories) {
            byId.put(c.id(), c);
            // plumbing's exact names win over other categories' prefixes, and exact names are unique
            c.tables().forEach(t -> exact.put(t, c));
            c.prefixes().forEach(p -> prefixes.add(Map.entry(p, c)));
        }
        prefixes.sort(Comparator.comparingInt((Map.Entry<String, Category> e) -> -e.getKey().length()));
    }

    /** The catalog of Sourcegraph 3.2x and 5.x. */
    public static SourcegraphCatalog standard() {
        return STANDARD;
    }

    public List<Category> categories() {
        return categories;
    }

    /** The category with this id; unknown ids fail listing the known ones. */
    public Category category(String id) {
        Category c = byId.get(id);
        if (c == null) {
            throw new InvalidInputException("unknown table category '" + id + "'; known: " + String.join(", ", IDS)
                    + (ALIASES.isEmpty() ? "" : " (and former " + String.join(", ", new TreeSet<>(ALIASES.keySet())) + ")"));
        }
        return c;
    }

    /**
     * The ids with former ids ({@link #ALIASES}) replaced by what they mean now; unknown ids fail listing the known
     * ones. Sorted.
     */
    public Set<String> expand(Collection<String> ids) {
        Set<String> out = new TreeSet<>();
        for (String id : ids) {
            List<String> alias = ALIASES.get(id);
            if (alias != null) {
                out.addAll(alias);
            } else {
                category(id);
                out.add(id);
            }
        }
        return out;
    }

    /** The category of a table ({@code schema.table} or bare name), or empty if the catalog does not know it. */
    public Optional<Category> categoryOf(String table) {
        return match(table).map(Map.Entry::getValue);
    }

    /**
     * The name prefix that gave {@code table} its category, or empty when the catalog lists the table by name (or does
     * not know it). A table matched only by a prefix is one of a Sourcegraph version the catalog has not seen.
     */
    public Optional<String> matchedPrefix(String table) {
        return match(table).map(Map.Entry::getKey); // a null prefix (listed by name) maps to empty
    }

    /** The catalog's match for a table: the prefix that decided it (null when listed by name) and its category. */
    private Optional<Map.Entry<String, Category>> match(String table) {
        String bare = table.contains(".") ? table.substring(table.indexOf('.') + 1) : table;
        Category c = exact.get(bare);
        if (c != null) {
            return Optional.of(new java.util.AbstractMap.SimpleImmutableEntry<>(null, c));
        }
        return prefixes.stream().filter(e -> bare.startsWith(e.getKey())).findFirst();
    }

    /** Tables among {@code tables} the catalog does not know, sorted. */
    public Set<String> unknown(Collection<String> tables) {
        Set<String> out = new TreeSet<>();
        tables.forEach(t -> {
            if (categoryOf(t).isEmpty()) {
                out.add(t);
            }
        });
        return out;
    }

    /** Tables among {@code tables} that belong to one of {@code ids} (unknown ids fail). */
    public Set<String> select(Collection<String> tables, Collection<String> ids) {
        Set<String> known = expand(ids);
        Set<String> out = new TreeSet<>();
        for (String t : tables) {
            categoryOf(t).filter(c -> known.contains(c.id())).ifPresent(c -> out.add(t));
        }
        return out;
    }

    /** The catalog as a printable table: id, recreatable, description, tables. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-28s %-11s %s%n", "CATEGORY", "RECREATABLE", "HOLDS"));
        for (Category c : categories) {
            sb.append(String.format("%-28s %-11s %s%n", c.id(), c.recreatable() ? "yes" : "no", c.description()));
            sb.append(String.format("%-28s %-11s tables: %s; prefixes: %s%n", "", "",
                    String.join(", ", new TreeSet<>(c.tables())), String.join(", ", c.prefixes())));
        }
        return sb.toString();
    }
}
