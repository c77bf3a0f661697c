package dev.sgbackup.store.postgres;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A data category of the {@link SourcegraphCatalog} as a type, so that a selection given to
 * {@link PostgresStore.Builder#categories(Category...)} cannot hold a misspelt name. Its single job is naming the
 * categories and turning the names users type (the CLI's {@code --tables}, the catalog's ids, the former ids of
 * {@link SourcegraphCatalog#ALIASES}) into categories; what each category holds is the catalog's business
 * ({@link #describe()}).
 *
 * <pre>{@code
 * PostgresStore.builder("frontend", url).categories(Category.USERS, Category.ORGS);
 * Set<Category> picked = Category.parse("code-intel");   // [CODE_INTEL_CONFIG, CODE_INTEL_DATA]
 * Category.parse("user");   // InvalidInputException: unknown table category 'user'; known: site-config, ...
 * }</pre>
 */
public enum Category {
    SITE_CONFIG("site-config"),
    CODE_HOSTS("code-hosts"),
    SETTINGS("settings"),
    USERS("users"),
    ORGS("orgs"),
    SAVED_SEARCHES("saved-searches"),
    ACCESS_TOKENS("access-tokens"),
    BATCH_CHANGES("batch-changes"),
    CODE_INTEL_CONFIG("code-intel-config"),
    CODE_INTEL_DATA("code-intel-data"),
    INSIGHTS("insights"),
    NOTEBOOKS_MONITORS_CONTEXTS("notebooks-monitors-contexts"),
    SURVEYS("surveys"),
    EVENT_LOGS("event-logs"),
    REPO_METADATA("repo-metadata"),
    REPOS("repos"),
    PERMISSIONS("permissions"),
    PLUMBING("plumbing");

    private static final Map<String, Category> BY_ID = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(Category::id, Function.identity()));

    private final String id;

    Category(String id) {
        this.id = id;
    }

    /** The fixed id, as the CLI, backups and plans spell it, e.g. {@code code-intel-config}. */
    public String id() {
        return id;
    }

    /** The catalog's entry for this category: description, whether it is recreatable, its tables. */
    public SourcegraphCatalog.Category describe() {
        return SourcegraphCatalog.standard().category(id);
    }

    /** The id, e.g. {@code users}. */
    @Override
    public String toString() {
        return id;
    }

    /**
     * The categories one name means: a category id ({@code users}), or a former id ({@code code-intel}, which means
     * {@link #CODE_INTEL_CONFIG} and {@link #CODE_INTEL_DATA}). An unknown name fails with an
     * {@link dev.sgbackup.run.InvalidInputException} that lists the valid names.
     */
    public static Set<Category> parse(String name) {
        return parseAll(List.of(name));
    }

    /** The categories these names mean ({@link #parse(String)} for each), in catalog order. */
    public static Set<Category> parseAll(Collection<String> names) {
        Set<Category> out = EnumSet.noneOf(Category.class);
        for (String id : SourcegraphCatalog.standard().expand(names)) {
            out.add(BY_ID.get(id));
        }
        return Collections.unmodifiableSet(out);
    }
}
