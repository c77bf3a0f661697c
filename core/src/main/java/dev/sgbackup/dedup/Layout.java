package dev.sgbackup.dedup;

import dev.sgbackup.sink.Keys;

/**
 * Where a deduplicated repository's objects live in a sink, under one root prefix (e.g. {@code dedup}):
 * <pre>
 * ROOT/keys/HEX                  key objects (encrypted repositories), named by the SHA-256 of their bytes
 * ROOT/packs/HE/HEX              packs, named by the SHA-256 of their bytes, fanned out by the first two hex digits
 * ROOT/index/SHARD/HEX           index objects of one shard (e.g. one store), named by the SHA-256 of their bytes
 * ROOT/config                    the repository config ({@link RepoConfig}), created once
 * ROOT/trees/HEX                 tree objects: one artifact's chunk list ({@link TreeObject}), named by the SHA-256 of their bytes
 * </pre>
 */
record Layout(String root) {
    Layout {
        Keys.check(root);
    }

    String keysPrefix() {
        return root + "/keys/";
    }

    String key(String hex) {
        return keysPrefix() + hex;
    }

    String packsPrefix() {
        return root + "/packs/";
    }

    String pack(String hex) {
        return packsPrefix() + hex.substring(0, 2) + "/" + hex;
    }

    /** The pack name (its hex SHA-256) of a pack object key. */
    static String packName(String key) {
        return key.substring(key.lastIndexOf('/') + 1);
    }

    String indexPrefix(String shard) {
        return root + "/index/" + shard + "/";
    }

    String index(String shard, String hex) {
        return indexPrefix(shard) + hex;
    }

    String config() {
        return root + "/config";
    }

    String treesPrefix() {
        return root + "/trees/";
    }

    String tree(String hex) {
        return treesPrefix() + hex;
    }
}
