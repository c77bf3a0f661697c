package dev.sgbackup.dedup;

import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys of a deduplicated repository, unlocked. Unencrypted: ids are plain SHA-256, the gear table is the
 * public one, nothing is sealed. Encrypted: every key is derived from the 256-bit master key (kept in the key
 * object, {@link KeyObject}) with HKDF-SHA256 and its own label:
 * <ul>
 *   <li>{@code sgbackup/dedup/id/v1} — the HMAC-SHA256 key of chunk ids;
 *   <li>{@code sgbackup/dedup/gear/v1} — the seed of the chunker's gear table;
 *   <li>{@code sgbackup/dedup/blob/v1} — the AES-256-GCM key of blobs, pack headers and index objects.
 * </ul>
 * Never printed.
 */
final class RepoKeys {
    private static final RepoKeys UNENCRYPTED = new RepoKeys(null, null, FastCdc.defaultGear());

    private final byte[] idKey;       // null: unkeyed SHA-256
    private final SecretKey blobKey;  // null: nothing sealed
    private final long[] gear;
    /** Per thread, reused for every chunk id: a Mac or digest per chunk costs a provider lookup and a key setup each. */
    private final ThreadLocal<Mac> idMac;
    private final ThreadLocal<java.security.MessageDigest> sha256 = ThreadLocal.withInitial(Crypto::sha256);

    private RepoKeys(byte[] idKey, SecretKey blobKey, long[] gear) {
        this.idKey = idKey;
        this.idMac = idKey == null ? null : ThreadLocal.withInitial(() -> Crypto.hmacSha256(idKey));
        this.blobKey = blobKey;
        this.gear = gear;
    }

    static RepoKeys unencrypted() {
        return UNENCRYPTED;
    }

    /** The keys derived from a 32-byte master key. */
    static RepoKeys fromMaster(byte[] master) {
        if (master.length != 32) {
            throw new IllegalArgumentException("a repository master key has 32 bytes");
        }
        byte[] id = Crypto.hkdf(master, "sgbackup/dedup/id/v1");
        byte[] seed = Crypto.hkdf(master, "sgbackup/dedup/gear/v1");
        byte[] blob = Crypto.hkdf(master, "sgbackup/dedup/blob/v1");
        RepoKeys k = new RepoKeys(id, new SecretKeySpec(blob, "AES"), FastCdc.gear(seed));
        Arrays.fill(seed, (byte) 0);
        Arrays.fill(blob, (byte) 0);
        return k;
    }

    boolean encrypted() {
        return blobKey != null;
    }

    /** The gear table for {@link FastCdc}. */
    long[] gear() {
        return gear;
    }

    /** The chunker with this repository's gear table. */
    FastCdc chunker(ChunkParams p) {
        return new FastCdc(p, gear);
    }

    /** The id of {@code buf[off, off + len)}. */
    ChunkId id(byte[] buf, int off, int len) {
        if (idKey == null) {
            var md = sha256.get();
            md.reset();
            md.update(buf, off, len);
            return ChunkId.of(md.digest());
        }
        Mac mac = idMac.get();
        mac.reset();
        mac.update(buf, off, len);
        return ChunkId.of(mac.doFinal());
    }

    /** A short name for a shard (e.g. a store) that reveals nothing about the name when encrypted. */
    String shardName(String name) {
        byte[] b = ("shard:" + name).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return id(b, 0, b.length).hex().substring(0, 16);
    }

    /** The blob key; only when {@link #encrypted()}. */
    SecretKey blobKey() {
        if (blobKey == null) {
            throw new IllegalStateException("this repository is not encrypted");
        }
        return blobKey;
    }

    @Override
    public String toString() {
        return encrypted() ? "RepoKeys[encrypted ***]" : "RepoKeys[unencrypted]";
    }
}
