package dev.sgbackup.store.sourcegraph;

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
import dev.sgbackup.store.StoreKind;
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
    public static final String KIND = "sourcegraph-config"; // StoreKind.SOURCEGRAPH_CONFIG.id()

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");
    private static final System.Logger LOG = System.getLogger(SourcegraphConfigStore.class.getName());

    private final String name;
    private final Backend backend;
    private final Secrets secrets;

    private SourcegraphConfigStore(String name, Backend backend, Secrets secrets) {
        if (!NAME.matcher(name).matches()) {
            throw new InvalidInputException("store name '" + name + "' is not valid; use [a-z0-9][a-z0-9._-]*, e.g. config");
        }
        this.name = name;
        this.backend = backend;
        this.secrets = secrets;
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
        String version = backend.version();
        out.property(PROPERTY_VERSION, version);
        out.property(PROPERTY_SOURCE, backend.source());
        Set<String> names = new HashSet<>();
        int[] count = new int[1];
        backend.read(read -> {
            out.checkCancelled();
            ConfigDocument doc = read;
            String artifact = doc.artifactName();
            if (!names.add(artifact)) {
                int n = 2;
                while (!names.add(artifact + " #" + n)) {
                    n++;
                }
                out.warn(artifact + " exists more than once; this one is backed up as '" + artifact + " #" + n
                        + "', and restores match connections of one kind and display name in order");
                artifact = artifact + " #" + n;
                doc = doc.withName(artifact);
            }
            List<String> redacted = List.of();
            if (!doc.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty()) {
                out.warn(artifact + " is encrypted with the source instance's keyring key '"
                        + doc.extra().get(ConfigDocument.ATTR_ENCRYPTION_KEY_ID)
                        + "'; the restore target needs the same encryption keys");
            } else if (doc.mayBeRedacted()) {
                try {
                    redacted = Secrets.redactedPointers(doc.contents());
                } catch (IllegalArgumentException e) {
                    out.warn(artifact + " is " + e.getMessage() + "; backed up as it is");
                }
            }
            try (BackupOutput.ArtifactStream s = out.artifact(artifact, doc.attributes(redacted))) {
                s.write(doc.contents().getBytes(StandardCharsets.UTF_8));
            }
            count[0]++;
            int n = redacted.size();
            String logged = artifact;
            LOG.log(System.Logger.Level.DEBUG, () -> "backed up " + logged + " (" + n + " redacted values)");
        });
        LOG.log(System.Logger.Level.INFO, () -> name + ": backed up " + count[0] + " configuration documents of Sourcegraph " + version);
    }

    @Override
    public void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        List<ConfigDocument> docs = new ArrayList<>();
        for (ArtifactInfo a : backup.artifacts()) {
            ConfigDocument d = document(a, null, report);
            if (d != null) {
                docs.add(d);
                checkSecrets(d, Json.readStrings(a.attributes().get(ConfigDocument.ATTR_REDACTED)), report);
            }
        }
        checkUnusedSecrets(backup, report);
        try {
            String target = backend.version();
            String source = backup.properties().get(PROPERTY_VERSION);
            if (source != null && !source.equals(target)) {
                report.warn(name, "the backup is of Sourcegraph " + source + " and the target runs " + target
                        + "; settings and site config keys that the target does not know are kept as they are, "
                        + "check the site admin page for validation messages after the restore");
            }
            backend.checkTarget(docs, report);
        } catch (RuntimeException e) {
            report.error(name, e.getMessage());
        }
    }

    @Override
    public void restore(RestoreInput in) throws IOException {
        CheckReport report = new CheckReport();
        checkRestore(in.backup(), in.options(), report);
        // the recorded pointers are only a promise: look at what the artifacts really hold, and read each one to
        // its end (integrity) before anything is written
        for (ArtifactInfo a : in.artifacts()) {
            in.checkCancelled();
            ConfigDocument d = document(a, read(in, a), report);
            if (d != null) {
                List<String> actual = redactedIn(d, report);
                {
                    List<String> recorded = Json.readStrings(a.attributes().get(ConfigDocument.ATTR_REDACTED));
                    List<String> extra = new ArrayList<>(actual);
                    extra.removeAll(recorded);
                    checkSecrets(d, extra, report);
                    substitute(d, report);
                }
            }
        }
        report.throwIfFailed();
        for (CheckReport.Finding f : report.findings()) {
            in.warn(f.subject() + ": " + f.message());
        }
        if (in.options().dryRun()) {
            return;
        }
        List<String> written = new ArrayList<>();
        try (Backend.Writer w = backend.writer(in::warn)) {
            for (ArtifactInfo a : in.artifacts()) {
                in.checkCancelled();
                ConfigDocument d = document(a, read(in, a), null);
                String text = substitute(d, null);
                w.write(d.withContents(text));
                written.add(d.artifactName());
            }
            w.commit();
        } catch (RuntimeException | IOException e) {
            if (backend.transactional() || written.isEmpty()) {
                throw e; // nothing was changed
            }
            // the API has no transactions: say exactly what the target already holds
            String msg = e.getMessage() + "; the target already has " + written.size() + " of "
                    + in.artifacts().size() + " documents restored (" + String.join(", ", written)
                    + "); fix the cause and run the restore again: it updates, never duplicates";
            throw e instanceof dev.sgbackup.run.CancelledException ? new dev.sgbackup.run.CancelledException(msg, e)
                    : e instanceof IntegrityException ? new IntegrityException(msg, e) : new StoreException(msg, e);
        }
    }

    private static String read(RestoreInput in, ArtifactInfo a) throws IOException {
        try (InputStream is = in.open(a)) {
            return new String(is.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private ConfigDocument document(ArtifactInfo a, String contents, CheckReport report) {
        try {
            return ConfigDocument.fromAttributes(a.name(), a.attributes(), contents);
        } catch (IllegalArgumentException e) {
            if (report == null) {
                throw new StoreException(a.name() + ": " + e.getMessage());
            }
            report.error(a.name(), e.getMessage() + "; this artifact was not written by a Sourcegraph config store");
            return null;
        }
    }

    private static List<String> redactedIn(ConfigDocument d, CheckReport report) {
        if (!d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty() || !d.mayBeRedacted()) {
            return List.of(); // ciphertext, or settings (never redacted): nothing to scan
        }
        try {
            return Secrets.redactedPointers(d.contents());
        } catch (IllegalArgumentException e) {
            // restored as it is, unless something has to be put in it (then substitute() reports the error)
            report.warn(d.artifactName(), e.getMessage() + "; restored as it is");
            return List.of();
        }
    }

    private void checkSecrets(ConfigDocument d, List<String> redacted, CheckReport report) {
        String doc = d.artifactName();
        Map<String, String> given = secrets.forDocument(doc);
        boolean encrypted = !d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "").isEmpty();
        if (encrypted && !given.isEmpty()) {
            report.error(doc, "the config is ciphertext of the source instance's keyring, so secrets and overrides "
                    + "cannot be put in it; remove the entries for " + doc + " from the secrets");
        }
        for (String p : redacted) {
            if (!given.containsKey(p)) {
                report.error(doc, "secret " + p + " was redacted by the API and has no replacement; add it to the "
                        + "secrets file as {\"" + doc + "\": {\"" + p + "\": \"<value>\"}}");
            }
        }
    }

    private void checkUnusedSecrets(StoreBackup backup, CheckReport report) {
        Set<String> names = new HashSet<>();
        backup.artifacts().forEach(a -> names.add(a.name()));
        for (String doc : secrets.documents()) {
            if (!names.contains(doc)) {
                report.warn(doc, "the secrets name a document that is not in the backup; it is ignored "
                        + "(documents: site-config, global-settings, external-services/<KIND>/<display name>, "
                        + "orgs/<name>/settings, users/<name>/settings)");
            }
        }
    }

    /** Puts the secrets in place; with a report, records problems there instead of throwing. */
    private String substitute(ConfigDocument d, CheckReport report) {
        Map<String, String> given = secrets.forDocument(d.artifactName());
        try {
            return Jsonc.replace(d.contents(), given);
        } catch (IllegalArgumentException e) {
            if (report == null) {
                throw new StoreException(d.artifactName() + ": " + e.getMessage());
            }
            report.error(d.artifactName(), e.getMessage());
            return null;
        }
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

    // ---- what the two flavours provide ----

    interface Backend {
        String describe();

        /** {@code api} or {@code database}. */
        String source();

        /** True when a failed restore leaves the target as it was (one database transaction). */
        boolean transactional();

        String version();

        void checkSource(CheckReport report);

        /** Reads every document, in order: site config, code host connections, global, org and user settings. */
        void read(DocumentConsumer consumer) throws IOException;

        /** Target-side checks before a restore (subjects that exist, keys, rights); nothing is written. */
        void checkTarget(List<ConfigDocument> documents, CheckReport report);

        Writer writer(java.util.function.Consumer<String> warn) throws IOException;

        interface Writer extends AutoCloseable {
            void write(ConfigDocument document) throws IOException;

            void commit() throws IOException;

            @Override
            void close() throws IOException;
        }
    }

    interface DocumentConsumer {
        void accept(ConfigDocument document) throws IOException;
    }

    /** One OkHttpClient for every store that was not given one. */
    static final class DefaultClient {
        private static OkHttpClient client;

        static synchronized OkHttpClient get() {
            if (client == null) {
                client = new OkHttpClient.Builder()
                        .connectTimeout(Duration.ofSeconds(15))
                        .readTimeout(Duration.ofSeconds(120))
                        .callTimeout(Duration.ofMinutes(5))
                        .build();
            }
            return client;
        }
    }
}
