package dev.sgbackup.transform;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a backup is encrypted: with a passphrase ({@code Encryption.passphrase(chars)}, stretched with
 * PBKDF2-HMAC-SHA256, 600,000 iterations, 16-byte random salt) or with a 32-byte key the caller keeps
 * ({@code Encryption.key(bytes)}).
 *
 * <p>Every backup gets its own random 256-bit data key. The passphrase or key only wraps that data key
 * (AES-256-GCM); the wrapped key, its nonce and the KDF parameters are recorded in clear in the manifest, so
 * restoring needs nothing but the passphrase. A wrong passphrase is detected when the data key is unwrapped,
 * before anything is read or written. {@link #toString()} never shows the secret.
 *
 * <pre>{@code
 * var sg = SgBackup.builder().sink(Sinks.local(dir)).encryption(Encryption.passphrase(console.readPassword())).build();
 * }</pre>
 */
public final class Encryption {
    /** The transform id recorded in the manifest for artifacts encrypted with a backup's data key. */
    public static final String TRANSFORM_ID = StreamTransform.ID;
    /** PBKDF2 iterations for new backups (OWASP 2023 guidance for PBKDF2-HMAC-SHA256). */
    public static final int DEFAULT_ITERATIONS = 600_000;
    static final int MIN_ITERATIONS = 600_000;
    /** Refuse absurd counts from a manifest (a forged manifest must not make us spin for hours). */
    static final int MAX_ITERATIONS = 20_000_000;
    static final String KDF_PBKDF2 = "pbkdf2-hmac-sha256";
    static final String KDF_RAW = "raw";
    static final String CIPHER = "aes-256-gcm";
    private static final int SALT_BYTES = 16;
    private static final int NONCE_BYTES = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final char[] passphrase; // null for a raw key
    private final byte[] rawKey;     // null for a passphrase
    private final int iterations;
    private final int minIterations;
    /** KEKs by "salt:iterations": one PBKDF2 run per backup, not one per manifest read. */
    private final Map<String, SecretKey> keks = new ConcurrentHashMap<>();
    /**
     * The salt (base64) of a key-encryption key this instance derived and saw authenticate a wrap (or made itself):
     * new data keys are wrapped under it, so a run that opens a repository key object or a parent backup and then
     * writes a backup costs one PBKDF2 run, not three. Only a salt whose wrap authenticated is reused: anyone can
     * write a salt into a sink, only a holder of the passphrase can write a wrap that opens with it.
     */
    private volatile String trustedSalt;
    /** Unwrapped data keys by wrapped key. */
    private final Map<String, DataKey> unwrapped = new ConcurrentHashMap<>();

    private Encryption(char[] passphrase, byte[] rawKey, int iterations, int minIterations) {
        this.passphrase = passphrase;
        this.rawKey = rawKey;
        this.iterations = iterations;
        this.minIterations = minIterations;
    }

    /**
     * Encryption with a passphrase (at least 8 characters). The array is copied; the caller may wipe its own.
     */
    public static Encryption passphrase(char[] passphrase) {
        return passphrase(passphrase, DEFAULT_ITERATIONS, MIN_ITERATIONS);
    }

    /** Same as {@link #passphrase(char[])}, for JShell and tests; prefer a {@code char[]} you can wipe. */
    public static Encryption passphrase(String passphrase) {
        if (passphrase == null) {
            throw new InvalidInputException("no passphrase given");
        }
        char[] c = passphrase.toCharArray();
        try {
            return passphrase(c);
        } finally {
            Arrays.fill(c, '\0');
        }
    }

    /** Test hook: a fast iteration count, also accepted when reading back. Never reachable from the public API. */
    static Encryption passphraseForTests(char[] passphrase, int iterations) {
        return passphrase(passphrase, iterations, Math.min(iterations, MIN_ITERATIONS));
    }

    private static Encryption passphrase(char[] passphrase, int iterations, int minIterations) {
        if (passphrase == null || passphrase.length == 0) {
            throw new InvalidInputException("the passphrase is empty; set SGBACKUP_PASSPHRASE or pass a passphrase of at least 8 characters");
        }
        if (passphrase.length < 8) {
            throw new InvalidInputException("the passphrase is too short (" + passphrase.length
                    + " characters); use at least 8, better a few random words");
        }
        return new Encryption(passphrase.clone(), null, iterations, minIterations);
    }

    /** Encryption with a raw 256-bit key the caller manages (e.g. from a KMS or a key file). The array is copied. */
    public static Encryption key(byte[] raw32) {
        if (raw32 == null || raw32.length != 32) {
            throw new InvalidInputException("an encryption key must be exactly 32 bytes (256 bits), not "
                    + (raw32 == null ? "null" : raw32.length + " bytes") + "; e.g. 'head -c 32 /dev/urandom > backup.key'");
        }
        return new Encryption(null, raw32.clone(), 0, 0);
    }

    /** True for passphrase-based encryption, false for a raw key. */
    public boolean usesPassphrase() {
        return passphrase != null;
    }

    /**
     * A fresh random data key for a new backup, already wrapped: {@link DataKey#parameters()} is what the
     * manifest records in clear. With a passphrase, the key-encryption key is derived with the salt of one this
     * instance already derived and saw authenticate (a repository key object, a backup it unlocked, or an earlier new
     * data key), else with a fresh salt: one PBKDF2 run per instance rather than one per backup.
     */
    public DataKey newDataKey() {
        byte[] dek = new byte[32];
        RANDOM.nextBytes(dek);
        try {
            return wrap(dek);
        } finally {
            Arrays.fill(dek, (byte) 0);
        }
    }

    /** Wraps {@code dek} under this passphrase or key with a fresh salt and nonce. */
    private DataKey wrap(byte[] dek) {
        Map<String, String> p = new TreeMap<>();
        p.put("cipher", CIPHER);
        p.put("transform", TRANSFORM_ID);
        if (passphrase != null) {
            String salt = trustedSalt;
            if (salt == null) {
                byte[] fresh = new byte[SALT_BYTES];
                RANDOM.nextBytes(fresh);
                salt = b64(fresh);
                trustedSalt = salt;
            }
            p.put("kdf", KDF_PBKDF2);
            p.put("iterations", String.valueOf(iterations));
            p.put("salt", salt);
        } else {
            p.put("kdf", KDF_RAW);
        }
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        p.put("keyNonce", b64(nonce));
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, kek(p, "the new backup"), new GCMParameterSpec(128, nonce));
            c.updateAAD(wrapAad(p));
            p.put("wrappedKey", b64(c.doFinal(dek)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JDK", e);
        }
        DataKey k = new DataKey(dek, p);
        unwrapped.put(p.get("wrappedKey"), k);
        return k;
    }

    /**
     * The same data key, wrapped under this passphrase or key instead (fresh salt and nonce): what a passphrase change
     * records in a backup's manifest. Whatever the data key encrypted stays readable with it; only the wrap changes.
     * Costs one PBKDF2 run with a passphrase. Internal API for the engine.
     */
    public DataKey rewrap(DataKey existing) {
        byte[] dek = existing.key.getEncoded();
        try {
            return wrap(dek);
        } finally {
            Arrays.fill(dek, (byte) 0);
        }
    }

    /**
     * Unwraps the data key of backup {@code backupId} from the parameters its manifest records.
     *
     * @throws InvalidInputException if the passphrase or key is wrong, or the backup was encrypted the other way
     *                               (key vs passphrase), or the parameters are unusable
     */
    public DataKey unlock(Map<String, String> parameters, String backupId) {
        String wrapped = parameters.get("wrappedKey");
        if (wrapped == null) {
            throw new IntegrityException("backup " + backupId + " has no wrapped data key in its manifest's encryption parameters; "
                    + "the manifest is damaged or was not written by sgbackup");
        }
        DataKey cached = unwrapped.get(wrapped);
        if (cached != null && cached.parameters().equals(new TreeMap<>(parameters))) {
            return cached;
        }
        if (!CIPHER.equals(parameters.get("cipher")) || !TRANSFORM_ID.equals(parameters.get("transform"))) {
            throw new InvalidInputException("backup " + backupId + " is encrypted with '" + parameters.get("cipher") + "/"
                    + parameters.get("transform") + "', which this version of sgbackup does not know; upgrade sgbackup");
        }
        byte[] nonce = unb64(parameters.get("keyNonce"), "keyNonce", backupId);
        byte[] ct = unb64(wrapped, "wrappedKey", backupId);
        if (nonce.length != NONCE_BYTES || ct.length != 32 + 16) {
            throw new IntegrityException("backup " + backupId + ": the wrapped data key in its manifest has the wrong length; the manifest is damaged");
        }
        Map<String, String> p = new TreeMap<>(parameters);
        byte[] dek;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, kek(p, "backup " + backupId), new GCMParameterSpec(128, nonce));
            c.updateAAD(wrapAad(p));
            dek = c.doFinal(ct);
        } catch (AEADBadTagException e) {
            throw new InvalidInputException(passphrase != null
                    ? "wrong passphrase for backup " + backupId + ": its data key does not unwrap with it (or the manifest's encryption parameters were altered)"
                    : "wrong key for backup " + backupId + ": its data key does not unwrap with it (or the manifest's encryption parameters were altered)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JDK", e);
        }
        DataKey k = new DataKey(dek, p);
        Arrays.fill(dek, (byte) 0);
        unwrapped.put(wrapped, k);
        if (passphrase != null && String.valueOf(iterations).equals(p.get("iterations")) && trustedSalt == null) {
            trustedSalt = p.get("salt"); // it authenticated: written by a holder of this passphrase
        }
        return k;
    }

    /** The key-encryption key for these parameters: PBKDF2 of the passphrase, or the raw key. */
    private SecretKey kek(Map<String, String> p, String what) {
        String kdf = p.get("kdf");
        if (KDF_RAW.equals(kdf)) {
            if (rawKey == null) {
                throw new InvalidInputException(what + " was encrypted with a raw key, not a passphrase; give the 32-byte key (Encryption.key)");
            }
            return new SecretKeySpec(rawKey, "AES");
        }
        if (!KDF_PBKDF2.equals(kdf)) {
            throw new InvalidInputException(what + " uses key derivation '" + kdf + "', which this version of sgbackup does not know; upgrade sgbackup");
        }
        if (passphrase == null) {
            throw new InvalidInputException(what + " was encrypted with a passphrase, not a raw key; give the passphrase (SGBACKUP_PASSPHRASE)");
        }
        int iter;
        try {
            iter = Integer.parseInt(p.get("iterations"));
        } catch (NumberFormatException e) {
            throw new IntegrityException(what + ": the manifest's PBKDF2 iteration count '" + p.get("iterations") + "' is not a number; the manifest is damaged");
        }
        if (iter < minIterations || iter > MAX_ITERATIONS) {
            throw new IntegrityException(what + ": the manifest asks for " + iter + " PBKDF2 iterations; sgbackup accepts "
                    + minIterations + " to " + MAX_ITERATIONS + ", so the manifest was altered or not written by sgbackup");
        }
        String saltText = p.get("salt");
        byte[] salt = unb64(saltText, "salt", what);
        if (salt.length < SALT_BYTES) {
            throw new IntegrityException(what + ": the manifest's salt is only " + salt.length + " bytes; sgbackup writes " + SALT_BYTES);
        }
        return keks.computeIfAbsent(saltText + ":" + iter, x -> {
            byte[] k = Pbkdf2.hmacSha256(passphrase, salt, iter);
            SecretKeySpec s = new SecretKeySpec(k, "AES");
            Arrays.fill(k, (byte) 0);
            return s;
        });
    }

    /** The wrap authenticates every parameter but the wrapped key itself, so none can be swapped silently. */
    private static byte[] wrapAad(Map<String, String> p) {
        StringBuilder sb = new StringBuilder("sgbackup/data-key/v1");
        new TreeMap<>(p).forEach((k, v) -> {
            if (!k.equals("wrappedKey")) {
                sb.append('\n').append(k).append('=').append(v);
            }
        });
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    private static byte[] unb64(String s, String field, String what) {
        if (s == null) {
            throw new IntegrityException(what + ": the manifest's encryption parameters lack '" + field + "'; the manifest is damaged");
        }
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new IntegrityException(what + ": the manifest's encryption parameter '" + field + "' is not base64; the manifest is damaged");
        }
    }

    @Override
    public String toString() {
        return passphrase != null ? "Encryption[passphrase ***, " + KDF_PBKDF2 + ", " + iterations + " iterations]" : "Encryption[raw key ***]";
    }

    /**
     * A backup's data key, unwrapped. Internal API for the engine: it builds the artifact transform and seals
     * the manifest. Never printed.
     */
    public static final class DataKey {
        private final SecretKeySpec key;
        private final SecretKeySpec manifestKey;
        private final Map<String, String> parameters;

        private DataKey(byte[] dek, Map<String, String> parameters) {
            this.key = new SecretKeySpec(dek, "AES");
            byte[] mk = Hkdf.sha256(dek, null, "sgbackup/manifest/v1");
            this.manifestKey = new SecretKeySpec(mk, "AES");
            Arrays.fill(mk, (byte) 0);
            this.parameters = Map.copyOf(parameters);
        }

        /** What the manifest records in clear under {@code "encryption"}: cipher, KDF, salt, iterations, wrapped key and its nonce. */
        public Map<String, String> parameters() {
            return new TreeMap<>(parameters);
        }

        /** The artifact transform ({@value StreamTransform#ID}) under this key. */
        public Transform transform() {
            return new StreamTransform(key);
        }

        /** Encrypts and authenticates {@code plain} together with {@code aad}: {@code nonce(12) ‖ ciphertext ‖ tag(16)}. */
        public byte[] seal(byte[] plain, byte[] aad) {
            byte[] nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.ENCRYPT_MODE, manifestKey, new GCMParameterSpec(128, nonce));
                c.updateAAD(aad);
                byte[] out = new byte[NONCE_BYTES + c.getOutputSize(plain.length)];
                System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
                c.doFinal(plain, 0, plain.length, out, NONCE_BYTES);
                return out;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available in this JDK", e);
            }
        }

        /**
         * Decrypts what {@link #seal} produced.
         *
         * @throws IntegrityException if the bytes or {@code aad} differ from what was sealed
         */
        public byte[] open(byte[] sealed, byte[] aad) {
            if (sealed.length < NONCE_BYTES + 16) {
                throw new IntegrityException("sealed data is too short (" + sealed.length + " bytes)");
            }
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, manifestKey, new GCMParameterSpec(128, sealed, 0, NONCE_BYTES));
                c.updateAAD(aad);
                return c.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
            } catch (AEADBadTagException e) {
                throw new IntegrityException("sealed data does not authenticate: it or its associated data was altered");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available in this JDK", e);
            }
        }

        @Override
        public String toString() {
            return "DataKey[***]";
        }
    }
}
