package dev.sgbackup.s3;

import java.time.Instant;
import java.util.Objects;

/**
 * AWS credentials: an access key id, its secret, and for temporary credentials a session token and an
 * expiry. {@link #toString()} shows only the access key id; the secret and the token are never printed.
 *
 * <pre>{@code S3Credentials.of("AKIA...", "secret")}</pre>
 */
public record S3Credentials(String accessKeyId, String secretAccessKey, String sessionToken, Instant expiration) {

    public S3Credentials {
        if (accessKeyId == null || accessKeyId.isBlank()) {
            throw new IllegalArgumentException("accessKeyId is empty; pass the AWS access key id (e.g. AKIA...)");
        }
        if (secretAccessKey == null || secretAccessKey.isEmpty()) {
            throw new IllegalArgumentException("secretAccessKey is empty for access key " + accessKeyId
                    + "; pass the secret that belongs to it");
        }
        if (sessionToken != null && sessionToken.isEmpty()) {
            sessionToken = null;
        }
    }

    /** Long-term credentials. */
    public static S3Credentials of(String accessKeyId, String secretAccessKey) {
        return new S3Credentials(accessKeyId, secretAccessKey, null, null);
    }

    /** Temporary credentials with a session token (no known expiry). */
    public static S3Credentials of(String accessKeyId, String secretAccessKey, String sessionToken) {
        return new S3Credentials(accessKeyId, secretAccessKey, sessionToken, null);
    }

    /** True if these expire within {@code margin} of {@code now}. */
    boolean expiresWithin(java.time.Duration margin, Instant now) {
        return expiration != null && !now.plus(margin).isBefore(expiration);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof S3Credentials c && c.accessKeyId.equals(accessKeyId)
                && c.secretAccessKey.equals(secretAccessKey) && Objects.equals(c.sessionToken, sessionToken)
                && Objects.equals(c.expiration, expiration);
    }

    @Override
    public int hashCode() {
        return Objects.hash(accessKeyId, expiration);
    }

    @Override
    public String toString() {
        return "S3Credentials[accessKeyId=" + accessKeyId + ", secretAccessKey=<redacted>"
                + (sessionToken != null ? ", sessionToken=<redacted>" : "")
                + (expiration != null ? ", expiration=" + expiration : "") + "]";
    }
}
