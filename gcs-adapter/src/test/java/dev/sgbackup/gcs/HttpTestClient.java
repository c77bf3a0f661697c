package dev.sgbackup.gcs;

import java.io.IOException;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** Raw requests to the fake, to check the fake's own guards. */
final class HttpTestClient {
    private final OkHttpClient client = new OkHttpClient.Builder().followRedirects(false).build();
    private final FakeGcs fake;

    HttpTestClient(FakeGcs fake) {
        this.fake = fake;
    }

    String startSession(String bucket, String name) throws IOException {
        Request r = new Request.Builder().url(fake.server.url("/upload/storage/v1/b/" + bucket + "/o?uploadType=resumable&name=" + name))
                .post(RequestBody.create(new byte[0], null)).build();
        try (Response resp = client.newCall(r).execute()) {
            return resp.header("Location");
        }
    }

    int put(String session, String contentRange, byte[] body, String hash) throws IOException {
        Request.Builder b = new Request.Builder().url(session).header("Content-Range", contentRange).put(RequestBody.create(body, null));
        if (hash != null) {
            b.header("X-Goog-Hash", hash);
        }
        try (Response resp = client.newCall(b.build()).execute()) {
            return resp.code();
        }
    }
}
