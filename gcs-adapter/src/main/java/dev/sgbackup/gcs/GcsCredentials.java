package dev.sgbackup.gcs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the bearer token for GCS requests comes from. Pick one with a static factory:
 * <ul>
 *   <li>{@link #token(String)}: a fixed access token (e.g. from {@code gcloud auth print-access-token});</li>
 *   <li>{@link #tokenSource(TokenSource)}: your own refreshing source, cached until shortly before expiry;</li>
 *   <li>{@link #fromFile(Path)}: a service account key or gcloud {@code authorized_user} JSON file;</li>
 *   <li>{@link #applicationDefault()}: Google's Application Default Credentials order
 *       ({@code GOOGLE_APPLICATION_CREDENTIALS}, gcloud's well-known file, the GCE/GKE metadata server);</li>
 *   <li>{@link #none()}: no {@code Authorization} header (emulators, public buckets).</li>
 * </ul>
 * Implementations cache tokens and refresh them before they expire; they are safe for concurrent use and
 * their {@code toString()} never shows a token or a key.
 */
public interface GcsCredentials {

    /**
     * A token valid for at least a few more minutes, or null when requests go without authorization.
     *
     * @throws IOException when the token endpoint or metadata server cannot be reached
     */
    AccessToken currentToken() throws IOException;

    /** Forgets a cached token (called after GCS answered 401), so the next call fetches a fresh one. */
    default void invalidate() {
    }

    /** A fixed token. GCS access tokens live about an hour; prefer a key file or ADC for long backups. */
    static GcsCredentials token(String accessToken) {
        AccessToken t = AccessToken.of(Objects.requireNonNull(accessToken, "accessToken"));
        return new Credentials.Fixed(t);
    }

    /** Tokens from {@code source}, cached and fetched again five minutes before each expires. */
    static GcsCredentials tokenSource(TokenSource source) {
        return new Credentials.FromSource(Objects.requireNonNull(source, "source"), java.time.Clock.systemUTC());
    }

    /**
     * A service account key ({@code "type": "service_account"}) or a gcloud user credential
     * ({@code "type": "authorized_user"}) JSON file. The file is read now; a bad file throws
     * {@link dev.sgbackup.run.InvalidInputException} naming the problem (never the key).
     */
    static GcsCredentials fromFile(Path keyFile) {
        return Credentials.fromFile(Objects.requireNonNull(keyFile, "keyFile"), Credentials.Env.system());
    }

    /**
     * Application Default Credentials, in the order Google's tools use: the file named by
     * {@code GOOGLE_APPLICATION_CREDENTIALS}; gcloud's well-known file
     * ({@code ~/.config/gcloud/application_default_credentials.json}, or under {@code CLOUDSDK_CONFIG});
     * the GCE/GKE metadata server ({@code GCE_METADATA_HOST} overrides its address).
     */
    static GcsCredentials applicationDefault() {
        return Credentials.applicationDefault(Credentials.Env.system());
    }

    /** No authorization header at all (an emulator, or a public bucket for reads). */
    static GcsCredentials none() {
        return Credentials.NONE;
    }

    /** Your own way to get tokens (e.g. workload identity federation done by your code). */
    @FunctionalInterface
    interface TokenSource {
        AccessToken fetch() throws IOException;
    }
}
