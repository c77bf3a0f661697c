package dev.sgbackup.gcs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.SgBackupException;
import dev.sgbackup.run.SinkException;

/** Turns GCS error responses ({@code {"error":{"code","message","errors":[{"reason"}]}}}) into clear exceptions. */
final class Errors {
    private Errors() {
    }

    record GcsError(String reason, String message) {
    }

    static GcsError parse(String body) {
        try {
            JsonNode j = Json.parse(body);
            JsonNode e = j == null ? null : j.get("error");
            if (e != null && e.isObject()) {
                String reason = null;
                JsonNode errors = e.get("errors");
                if (errors != null && errors.isArray() && errors.size() > 0) {
                    reason = Json.text(errors.get(0), "reason");
                }
                if (reason == null) {
                    reason = Json.text(e, "status");
                }
                return new GcsError(reason, Json.text(e, "message"));
            }
        } catch (Exception ignored) {
            // not JSON
        }
        String plain = body == null ? "" : body.strip();
        if (plain.length() > 300) {
            plain = plain.substring(0, 300) + "…";
        }
        return new GcsError(null, plain.isEmpty() ? null : plain);
    }

    static boolean bucketMissing(String body) {
        GcsError e = parse(body);
        return e.message() != null && e.message().toLowerCase(java.util.Locale.ROOT).contains("bucket does not exist");
    }

    /** For a 404 on an object: throws when it is the bucket that is missing, else returns (the object is missing). */
    static void checkBucket(GcsSink sink, int code, String body, String what) {
        if (code == 404 && bucketMissing(body)) {
            throw of(sink, code, body, what);
        }
    }

    static SgBackupException of(GcsSink sink, int code, String body, String what) {
        GcsError e = parse(body);
        String message = e.message() == null ? null : e.message().strip().replaceAll("\\.+$", "");
        String gcs = "HTTP " + code + (e.reason() == null ? "" : " " + e.reason()) + (message == null ? "" : ": " + message);
        String fix;
        switch (code) {
            case 400 -> {
                if (e.message() != null && e.message().toLowerCase(java.util.Locale.ROOT).contains("crc32c")) {
                    return new IntegrityException("GCS rejected " + what + " because the bytes it received do not match the CRC32C "
                            + "computed while writing them (" + gcs + "); nothing was committed. The data was damaged in transit: "
                            + "run the backup again");
                }
                fix = "this is a bug in sgbackup-gcs or an unusual object name; report it with this message";
            }
            case 401 -> fix = "the credentials (" + sink.credentials + ") were not accepted: refresh them, e.g. "
                    + "`gcloud auth application-default login`, or check GOOGLE_APPLICATION_CREDENTIALS";
            case 403 -> fix = "grant the account the Storage Object User role (roles/storage.objectUser) or Storage Object Admin "
                    + "on bucket '" + sink.bucket + "' (gcloud storage buckets add-iam-policy-binding gs://" + sink.bucket
                    + " --member=... --role=roles/storage.objectUser), or use other credentials";
            case 404 -> fix = bucketMissing(body)
                    ? "bucket '" + sink.bucket + "' does not exist: create it (gcloud storage buckets create gs://" + sink.bucket
                    + ") or fix the gs:// URI"
                    : "the object or upload session is gone; run the operation again";
            case 409, 412 -> fix = "another writer changed the object at the same time; run the operation again";
            case 429 -> fix = "GCS kept rate-limiting the requests after all retries; lower the parallelism or try later";
            default -> fix = code >= 500 ? "GCS kept failing after all retries; try again later (see https://status.cloud.google.com)"
                    : "check the bucket and the credentials";
        }
        return new SinkException("GCS could not " + what + ": " + gcs + ". Fix: " + fix);
    }
}
