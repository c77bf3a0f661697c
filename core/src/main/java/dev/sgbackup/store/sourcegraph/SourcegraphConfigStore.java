package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.store.StoreKind;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;

/**
 * Sourcegraph's configuration ("option 1" of Sourcegraph's backup guide) as a {@link DataStore}: the site
 * configuration, every code host connection (external service), the global settings and the latest settings of
 * every organization and user. One artifact per document, the JSONC text kept byte for byte.
 *
 * <p>Two ways in:
 * <ul>
 *   <li>{@link #api(URI)}: through the GraphQL API with a site admin's access token. Since Sourcegraph 3.25 the
 *   API redacts code host secrets ({@code REDACTED}), and since ~3.36 site config secrets too; the backup records
 *   the RFC 6901 pointers of every redacted value, and a restore writes nothing until each one has a replacement
 *   ({@link ApiBuilder#secrets(Path)}, {@link ApiBuilder#secret(String, String, String)}).</li>
 *   <li>{@link #database(String)}: straight from the frontend database, complete and unredacted; restores as new
 *   rows in one transaction. Code host configs encrypted with the instance's keyring stay ciphertext: the target
 *   needs the same keys.</li>
 * </ul>
 * Both write the same artifacts, so a backup made one way can be restored the other way (except ciphertext,
 * which only the database store can restore).
 *
 * <p><b>Restore targets and replace.</b> Without {@link RestoreOptions#replace() replace}, a restore only goes into
 * a <em>fresh</em> target: one that holds no code host connection and no global, organization or user settings
 * with anything in them (settings of only {@code {}}, whitespace or comments are empty), apart from documents that
 * are byte for byte the backup's own of the same name (so a restore run again, e.g. after a partial failure
 * through the API, goes ahead). The site configuration does not count: every instance has one from its first
 * start, and replacing it with the backup's is what a configuration restore is for (Sourcegraph keeps the previous
 * one in its history; overrides keep what must stay the target's). Any other target is refused in the check phase,
 * before anything is written, with a message that names what it holds and says to use {@code --replace}. With
 * replace, the target's configuration becomes the backup's: the backup's documents are written as above, and the
 * target's code host connections and settings that the backup does not have are removed (the API store deletes
 * those connections and empties those settings; the database store deletes the other rows, settings history
 * included, in the same transaction). User-owned code host connections of Sourcegraph 3.2x are never touched.
 *
 * <pre>{@code
 * DataStore config = SourcegraphConfigStore.api(URI.create("https://sourcegraph.example.com")).build(); // token: SRC_ACCESS_TOKEN
 * DataStore target = SourcegraphConfigStore.api(URI.create("https://new.example.com"))
 *         .secrets(Path.of("secrets.json"))
 *         .secret("site-config", "/externalURL", "https://new.example.com")
 *         .build();
 * }</pre>
 */
public final class SourcegraphConfigStore implements DataStore {

    /** Store property: the Sourcegraph version at backup time. */
    public static final String PROPERTY_VERSION = "sourcegraph.version";
    /** Store property: {@code api} or {@code database}. */
    public static final String PROPERTY_SOURCE = "sourcegraph.source";
    /** The {@link #kind()} of both flavours. */
    public static final String KIND = "sourcegraph-config"; // = StoreKind.SOURCEGRAPH_CONFIG.id(); a constant, for switch labels

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");

    private final String name;
    private final Backend backend;
    private final Secrets secrets;
    private final ConfigRestore restorer;

    private SourcegraphConfigStore(String name, Backend backend, Secrets secrets) {
        if (!NAME.matcher(name).matches()) {
            throw new InvalidInputException("store name '" + name + "' is not valid; use [a-z0-9][a-z0-9._-]*, e.g. config");
        }
        this.name = name;
        this.backend = backend;
        this.secrets = secrets;
        this.restorer = new ConfigRestore(name, backend, secrets);
    }

    /** A builder for the GraphQL API store of the instance at {@code endpoint} (e.g. https://sourcegraph.example.com). */
    public static ApiBuilder api(URI endpoint) {
        return new ApiBuilder(Objects.requireNonNull(endpoint, "endpoint"));
    }

    /** A builder for the GraphQL API store of the instance named by {@code SRC_ENDPOINT}. */
    public static ApiBuilder api() {
        return new ApiBuilder(null);
    }

    /** A builder for the database-backed store on the frontend database at {@code jdbcUrl} (jdbc:postgresql://…). */
    public static DatabaseBuilder database(String jdbcUrl) {
        return new DatabaseBuilder(Objects.requireNonNull(jdbcUrl, "jdbcUrl"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public StoreKind kind() {
        return StoreKind.SOURCEGRAPH_CONFIG;
    }

    @Override
    public String describe() {
        return backend.describe();
    }

    @Override
    public void checkBackup(CheckReport report) {
        try {
            backend.checkSource(report);
        } catch (RuntimeException e) {
            report.error(name, e.getMessage());
        }
    }

    @Override
    public void backup(BackupOutput out) throws IOException {
        ConfigBackup.run(name, backend, out);
    }

    @Override
    public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        restorer.check(backup, options, report);
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        restorer.restore(in);
    }

    @Override
    public String toString() {
        return "SourcegraphConfigStore[" + name + ", " + backend.describe() + ", " + secrets + "]";
    }

    // ---- builders ----

    /** Options shared by both builders: name, secrets and overrides. */
    abstract static class Common<B extends Common<B>> {
        String name = "config";
        Secrets secrets = Secrets.none();
        Function<String, String> env = System::getenv;

        abstract B self();

        /** The store's name within a backup; default {@code config}. */
        public B name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return self();
        }

        /**
         * Replacements for redacted secrets (and overrides), read from a JSON file
         * {@code {"<artifact name>": {"<pointer>": "<value>"}}}; used on restore. May be given more than once.
         */
        public B secrets(Path file) {
            this.secrets = secrets.and(Secrets.load(Objects.requireNonNull(file, "file")));
            return self();
        }

        /**
         * One replacement or override, e.g. {@code secret("site-config", "/externalURL", "https://new.example.com")};
         * a missing member of an existing object is added. Wins over a secrets file.
         */
        public B secret(String document, String pointer, String value) {
            this.secrets = secrets.with(document, pointer, Objects.requireNonNull(value, "value"));
            return self();
        }

        B environment(Function<String, String> env) {
            this.env = env;
            return self();
        }
    }

    /** Builds the GraphQL API store. */
    public static final class ApiBuilder extends Common<ApiBuilder> {
        private final URI endpoint;
        private String token;
        private String sudo;
        private OkHttpClient client;
        private int maxAttempts = 4;
        private Duration backoff = Duration.ofMillis(500);
        private int conflictRetries = 3;

        private ApiBuilder(URI endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        ApiBuilder self() {
            return this;
        }

        /** The access token of a site admin; default: {@code SRC_ACCESS_TOKEN}. */
        public ApiBuilder token(String token) {
            this.token = Objects.requireNonNull(token, "token");
            return this;
        }

        /** Acts as {@code username} (needs a token with the site-admin:sudo scope). */
        public ApiBuilder sudo(String username) {
            this.sudo = Objects.requireNonNull(username, "username");
            return this;
        }

        /** Your own client (proxies, TLS, timeouts). */
        public ApiBuilder client(OkHttpClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Attempts per request on connection failures and 5xx answers (default 4), and the first backoff (500 ms, doubling). */
        public ApiBuilder retries(int maxAttempts, Duration backoff) {
            if (maxAttempts < 1 || backoff.isNegative()) {
                throw new InvalidInputException("retries needs maxAttempts >= 1 and a backoff >= 0");
            }
            this.maxAttempts = maxAttempts;
            this.backoff = backoff;
            return this;
        }

        /** How many times a write that lost a race with a concurrent edit is retried with the fresh id (default 3). */
        public ApiBuilder conflictRetries(int retries) {
            if (retries < 0) {
                throw new InvalidInputException("conflictRetries must be >= 0");
            }
            this.conflictRetries = retries;
            return this;
        }

        public SourcegraphConfigStore build() {
            URI uri = endpoint;
            if (uri == null) {
                String e = env.apply("SRC_ENDPOINT");
                if (e == null || e.isBlank()) {
                    throw new InvalidInputException("no Sourcegraph URL: pass one to SourcegraphConfigStore.api(URI) "
                            + "or set SRC_ENDPOINT (e.g. https://sourcegraph.example.com)");
                }
                uri = URI.create(e.trim());
            }
            HttpUrl url = HttpUrl.parse(uri.toString());
            if (url == null) {
                throw new InvalidInputException("'" + uri + "' is not an http(s) URL of a Sourcegraph instance; "
                        + "use e.g. https://sourcegraph.example.com");
            }
            String t = token != null ? token : env.apply("SRC_ACCESS_TOKEN");
            if (t == null || t.isBlank()) {
                throw new InvalidInputException("no Sourcegraph access token: set SRC_ACCESS_TOKEN to a site admin's "
                        + "access token (Settings > Access tokens) or pass one to token(...)");
            }
            Redactor redactor = Redactor.none().and(t.trim()).and(secrets.rawValues());
            GraphQlClient gql = new GraphQlClient(client != null ? client : DefaultClient.get(), url, t.trim(), sudo,
                    maxAttempts, backoff, redactor);
            return new SourcegraphConfigStore(name, new ApiBackend(gql, conflictRetries), secrets);
        }

        @Override
        public String toString() {
            return "SourcegraphConfigStore.ApiBuilder[" + (endpoint == null ? "SRC_ENDPOINT" : endpoint.getHost())
                    + ", token=" + (token == null ? "SRC_ACCESS_TOKEN" : "***") + "]";
        }
    }

    /** Builds the database-backed store. */
    public static final class DatabaseBuilder extends Common<DatabaseBuilder> {
        private final String jdbcUrl;
        private String user;
        private String password;
        private int tenant = 1;

        private DatabaseBuilder(String jdbcUrl) {
            this.jdbcUrl = jdbcUrl;
        }

        @Override
        DatabaseBuilder self() {
            return this;
        }

        public DatabaseBuilder user(String user) {
            this.user = user;
            return this;
        }

        public DatabaseBuilder password(String password) {
            this.password = password;
            return this;
        }

        /** The tenant id of Sourcegraph 5.x+ multi-tenant schemas ({@code app.current_tenant}); default 1. */
        public DatabaseBuilder tenant(int tenant) {
            this.tenant = tenant;
            return this;
        }

        public SourcegraphConfigStore build() {
            if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
                throw new InvalidInputException("'" + DbBackend.safeUrl(jdbcUrl) + "' is not a PostgreSQL JDBC URL; "
                        + "use jdbc:postgresql://host:5432/sg");
            }
            return new SourcegraphConfigStore(name, new DbBackend(jdbcUrl, user, password, tenant), secrets);
        }

        @Override
        public String toString() {
            return "SourcegraphConfigStore.DatabaseBuilder[" + DbBackend.safeUrl(jdbcUrl) + ", user=" + user
                    + ", password=" + (password == null ? "none" : "***") + "]";
        }
    }
}
