package dev.sgbackup.store.sourcegraph;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.StoreException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * A GraphQL client for Sourcegraph's {@code /.api/graphql}. Retries connection failures and 5xx answers a bounded
 * number of times with exponential backoff; 401/403 and GraphQL {@code errors} become clear exceptions.
 * The token and the variables (they carry configuration secrets) never reach logs or messages.
 */
final class GraphQlClient {
    private static final System.Logger LOG = System.getLogger(GraphQlClient.class.getName());
    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

    /** The GraphQL {@code errors} of an answer. */
    static final class GraphQlException extends StoreException {
        private final List<String> messages;

        GraphQlException(String message, List<String> messages) {
            super(message);
            this.messages = List.copyOf(messages);
        }

        List<String> messages() {
            return messages;
        }

        boolean versionMismatch() {
            return messages.stream().anyMatch(m -> {
                String l = m.toLowerCase(java.util.Locale.ROOT);
                // settings: "update settings version mismatch"; site config: "someone else has already applied a
                // newer edit" (older releases) or "site config has been modified by another request" (newer ones)
                return l.contains("version mismatch") || l.contains("modified by another request")
                        || l.contains("newer edit");
            });
        }
    }

    private final OkHttpClient http;
    private final HttpUrl url;
    private final String authorization;
    private final int maxAttempts;
    private final Duration backoff;
    private final Redactor redactor;

    GraphQlClient(OkHttpClient http, HttpUrl instance, String token, String sudoUser, int maxAttempts, Duration backoff,
                  Redactor redactor) {
        this.http = http;
        this.url = instance.newBuilder().encodedPath(joinPath(instance.encodedPath())).query(null).fragment(null).build();
        this.authorization = sudoUser == null
                ? "token " + token
                : "token-sudo user=\"" + sudoUser.replace("\"", "") + "\",token=\"" + token + "\"";
        this.maxAttempts = Math.max(1, maxAttempts);
        this.backoff = backoff;
        this.redactor = redactor.and(token);
    }

    private static String joinPath(String base) {
        String b = base.endsWith("/") ? base : base + "/";
        return b + ".api/graphql";
    }

    HttpUrl url() {
        return url;
    }

    /** Runs a query or a mutation; retries transport failures and 5xx. Returns {@code data}. */
    JsonNode execute(String operation, String document, Map<String, ?> variables) {
        return execute(operation, document, variables, true);
    }

    /**
     * @param retry false for a mutation that must not be sent twice blindly (the caller re-checks the target
     *              state and decides)
     */
    JsonNode execute(String operation, String document, Map<String, ?> variables, boolean retry) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("query", document);
        body.put("operationName", operation);
        body.set("variables", Json.MAPPER.valueToTree(variables));
        byte[] bytes;
        try {
            bytes = Json.MAPPER.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int attempts = retry ? maxAttempts : 1;
        String lastProblem = null;
        IOException lastIo = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            if (attempt > 1) {
                sleep(backoff.multipliedBy(1L << Math.min(attempt - 2, 10)));
            }
            Request request = new Request.Builder().url(url)
                    .header("Authorization", authorization)
                    .header("Accept", "application/json")
                    .header("X-Requested-With", "sgbackup")
                    .post(RequestBody.create(bytes, JSON))
                    .build();
            long t0 = System.nanoTime();
            int n = attempt;
            try (Response response = http.newCall(request).execute()) {
                int code = response.code();
                LOG.log(Level.DEBUG, () -> "POST " + instance() + "/.api/graphql " + operation + " -> " + code + " in "
                        + (System.nanoTime() - t0) / 1_000_000 + " ms (attempt " + n + ")");
                if (code == 401) {
                    throw new StoreException("Sourcegraph at " + instance() + " answered 401 Unauthorized to "
                            + operation + ": the access token was rejected; check SRC_ACCESS_TOKEN (or the token "
                            + "given to the builder) is a valid access token of this instance");
                }
                if (code == 403) {
                    throw new StoreException("Sourcegraph at " + instance() + " answered 403 Forbidden to "
                            + operation + ": the token's user lacks the rights; use a token of a site admin "
                            + "(check SRC_ACCESS_TOKEN" + (authorization.startsWith("token-sudo")
                            ? " and that it has the site-admin:sudo scope)" : ")"));
                }
                if (code >= 500 || code == 429) {
                    lastProblem = "HTTP " + code;
                    if (attempt < attempts) {
                        LOG.log(Level.WARNING, "Sourcegraph answered HTTP " + code + " to " + operation
                                + "; retrying (" + attempt + "/" + attempts + ")");
                    }
                    continue;
                }
                ResponseBody rb = response.body();
                if (code != 200 || rb == null) {
                    throw new StoreException("Sourcegraph at " + instance() + " answered HTTP " + code + " to "
                            + operation + "; check the URL points at a Sourcegraph instance (it must serve "
                            + url.encodedPath() + ")");
                }
                JsonNode root;
                try {
                    root = Json.MAPPER.readTree(rb.byteStream());
                } catch (IOException e) {
                    throw new StoreException("Sourcegraph at " + instance() + " did not answer " + operation
                            + " with JSON; check the URL points at a Sourcegraph instance");
                }
                JsonNode errors = root.path("errors");
                if (errors.isArray() && !errors.isEmpty()) {
                    List<String> messages = new ArrayList<>();
                    for (JsonNode e : errors) {
                        messages.add(redactor.scrub(e.path("message").asText("(no message)")));
                    }
                    String hint = messages.stream().anyMatch(m -> m.contains("site admin"))
                            ? "; use a token of a site admin (check SRC_ACCESS_TOKEN)" : "";
                    throw new GraphQlException("Sourcegraph rejected " + operation + ": "
                            + String.join("; ", messages) + hint, messages);
                }
                JsonNode data = root.path("data");
                if (!data.isObject()) {
                    throw new StoreException("Sourcegraph answered " + operation + " without data; check the URL "
                            + "points at a Sourcegraph instance");
                }
                return data;
            } catch (InterruptedIOException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new CancelledException("cancelled while calling Sourcegraph (" + operation + ")");
                }
                lastIo = e;
                lastProblem = "timeout";
            } catch (IOException e) {
                lastIo = e;
                lastProblem = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": "
                        + redactor.scrub(e.getMessage()));
                if (attempt < attempts) {
                    LOG.log(Level.WARNING, "cannot reach Sourcegraph for " + operation + " (" + lastProblem
                            + "); retrying (" + attempt + "/" + attempts + ")");
                }
            }
        }
        String msg = "Sourcegraph at " + instance() + " failed " + operation + " after " + attempts
                + (attempts == 1 ? " attempt" : " attempts") + " (" + lastProblem + "); check the instance is up and "
                + "reachable (SRC_ENDPOINT), then run again";
        throw lastIo == null ? new StoreException(msg) : new StoreException(msg, new IOException(lastProblem));
    }

    /** The instance URL (no user info, query or fragment). */
    String instance() {
        HttpUrl u = url.newBuilder().username("").password("").query(null).fragment(null).build();
        String s = u.toString();
        return s.substring(0, s.length() - "/.api/graphql".length());
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("cancelled while waiting to retry a Sourcegraph call");
        }
    }

    @Override
    public String toString() {
        return "GraphQlClient[" + instance() + ", token=***]";
    }
}
