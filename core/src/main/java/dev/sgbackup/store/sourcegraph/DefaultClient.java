package dev.sgbackup.store.sourcegraph;

import java.time.Duration;
import okhttp3.OkHttpClient;

/** One OkHttpClient for every API store that was not given one. */
final class DefaultClient {
    private static OkHttpClient client;

    private DefaultClient() {
    }

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
