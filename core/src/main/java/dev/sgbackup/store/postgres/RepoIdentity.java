package dev.sgbackup.store.postgres;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Repository ids are identity: a row that stores {@code repo.id} (a foreign key to {@code repo}, or a column named
 * {@code repo_id} / {@code repository_id}, which more than twenty Sourcegraph tables have without a foreign key)
 * means "this repository" only together with the {@code repo} rows of the same database. A new instance that
 * already synced numbers its repositories in its own order, so such rows restored without {@code repo} would
 * silently attach to other repositories. Backups that hold such rows therefore hold {@code repo} and what
 * identifies a repository beyond its row ({@code external_service_repos}, {@code repo_kvps}).
 */
final class RepoIdentity {
    /** Column names that hold repository ids even where no foreign key says so. */
    static final Set<String> ID_COLUMNS = Set.of("repo_id", "repository_id");
    /** Tables restored with {@code repo}: the repository rows and what ties them to code hosts and users' data. */
    static final List<String> IDENTIFYING = List.of("repo", "external_service_repos", "repo_kvps");

    private RepoIdentity() {
    }

    /** The repository table ({@code schema.repo}, public first), or null when the database has none. */
    static String repoTable(PgSchema s) {
        if (s.tables.containsKey("public.repo")) {
            return "public.repo";
        }
        return s.tables.keySet().stream().filter(t -> t.endsWith(".repo")).findFirst().orElse(null);
    }

    /** The columns of {@code table} that hold repository ids ({@code schema.table.column}), in column order. */
    static List<String> idColumns(PgSchema s, String table) {
        String repo = repoTable(s);
        List<String> out = new ArrayList<>();
        if (repo == null || table.equals(repo)) {
            return out;
        }
        PgSchema.Table t = s.tables.get(table);
        for (PgSchema.Column c : t.columns()) {
            boolean fk = s.foreignKeys.stream().anyMatch(f -> f.table().equals(table) && f.refTable().equals(repo)
                    && f.columns().contains(c.name()));
            boolean named = ID_COLUMNS.contains(c.name()) && (c.type().equals("integer") || c.type().equals("bigint"));
            if (fk || named) {
                out.add(table + "." + c.name());
            }
        }
        return out;
    }

    /**
     * What a selection must add because its tables hold repository ids: the identifying tables it lacks, each with
     * the reason ({@code repository identity: public.changesets.repo_id}). Empty when nothing holds repository ids.
     */
    static Map<String, String> missing(PgSchema s, Set<String> selected) {
        Map<String, String> out = new LinkedHashMap<>();
        String repo = repoTable(s);
        if (repo == null) {
            return out;
        }
        String holder = null;
        for (String t : selected) {
            if (IDENTIFYING.stream().anyMatch(i -> t.equals(schemaOf(repo) + "." + i))) {
                continue;
            }
            List<String> cols = idColumns(s, t);
            if (!cols.isEmpty()) {
                holder = cols.get(0);
                break;
            }
        }
        if (holder == null) {
            return out;
        }
        for (String i : IDENTIFYING) {
            String t = schemaOf(repo) + "." + i;
            if (s.tables.containsKey(t) && !selected.contains(t)) {
                out.put(t, "repository identity: " + holder + (t.equals(repo) ? "" : " (identifies " + repo + " rows)"));
            }
        }
        return out;
    }

    static String schemaOf(String qualified) {
        return qualified.substring(0, qualified.indexOf('.'));
    }

    static String bare(String qualified) {
        return qualified.substring(qualified.indexOf('.') + 1);
    }
}
