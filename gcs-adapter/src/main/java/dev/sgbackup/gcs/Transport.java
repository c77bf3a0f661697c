package dev.sgbackup.gcs;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * OkHttp with GCS's retry rules: 408, 429, 5xx and connection failures are retried with exponential
 * backoff and jitter; a 401 refreshes the token once. OkHttp's own silent retry and redirect following are
 * off, so a failed upload chunk is always seen (and resumed through a status query) by the caller.
 */
final class Transport {
    private static final System.Logger LOG = System.getLogger("dev.sgbackup.gcs");

    final OkHttpClient client;
    final RetryPolicy retry;
    final Sleeper sleeper;

    Transport(OkHttpClient base, RetryPolicy retry, Sleeper sleeper) {
        this.client = base.newBuilder()
                .followRedirects(false)
                .followSslRedirects(false)
                .retryOnConnectionFailure(false)
                .build();
        this.retry = retry;
        this.sleeper = sleeper;
    }

    static OkHttpClient defaultClient() {
        return new OkHttpClient.Builder()
                .connectTimeout(20, TimeUnit.SECONDS)
                .readTimeout(120, TimeUnit.SECONDS)
                .writeTimeout(120, TimeUnit.SECONDS)
                .build();
    }

    /** One attempt with the credentials' token (null credentials: no header). */
    Response once(Request request, GcsCredentials credentials) throws IOException {
        Request.Builder b = request.newBuilder();
        AccessToken token = credentials == null ? null : credentials.currentToken();
        if (token != null) {
            b.header("Authorization", "Bearer " + token.value());
        }
        return client.newCall(b.build()).execute();
    }

    /**
     * Runs {@code request} until it succeeds, fails with a non-retryable status, or the attempts run out; the
     * last response is returned either way (the caller closes it and judges the status). Throws the last
     * connection failure when no attempt got a response.
     */
    Response call(Request request, GcsCredentials credentials, String what) throws IOException {
        boolean refreshed = false;
        for (int attempt = 1; ; attempt++) {
            Response response;
            try {
                response = once(request, credentials);
            } catch (IOException e) {
                if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                if (attempt >= retry.maxAttempts()) {
                    throw new IOException(what + " failed after " + attempt + " attempts: " + describe(e), e);
                }
                backoff(attempt, what, describe(e));
                continue;
            }
            int code = response.code();
            if (code == 401 && credentials != null && !refreshed) {
                // the token may have been revoked or expired early: fetch a new one and try again at once
                response.close();
                credentials.invalidate();
                refreshed = true;
                attempt--;
                continue;
            }
            if (RetryPolicy.retryable(code) && attempt < retry.maxAttempts()) {
                response.close();
                backoff(attempt, what, "HTTP " + code);
                continue;
            }
            return response;
        }
    }

    /** Waits before retry {@code attempt} (1-based count of failures so far). */
    void backoff(int attempt, String what, String why) {
        Duration d = retry.delay(attempt);
        LOG.log(Level.DEBUG, () -> what + ": " + why + "; retry " + attempt + "/" + (retry.maxAttempts() - 1)
                + " in " + d.toMillis() + " ms");
        sleeper.sleep(d);
    }

    static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
