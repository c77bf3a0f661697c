package dev.sgbackup.gcs;

import java.time.Instant;
import java.util.Objects;

/**
 * An OAuth2 bearer token and the instant it stops working. {@link #toString()} never shows the token.
 *
 * @param value     the bearer token (secret)
 * @param expiresAt when it expires; {@link Instant#MAX} for a token whose lifetime is unknown
 */
public record AccessToken(String value, Instant expiresAt) {
    public AccessToken {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(expiresAt, "expiresAt");
        if (value.isBlank()) {
            throw new IllegalArgumentException("an access token must not be blank");
        }
    }

    /** A token without a known expiry (used as it is until GCS answers 401). */
    public static AccessToken of(String value) {
        return new AccessToken(value, Instant.MAX);
    }

    @Override
    public String toString() {
        return "AccessToken[value=<redacted>, expiresAt=" + (expiresAt.equals(Instant.MAX) ? "unknown" : expiresAt) + "]";
    }
}
