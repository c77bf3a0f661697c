package dev.sgbackup.store.sourcegraph;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One configuration document as backed up: the site configuration, a code host connection, or the settings
 * of the site, an organization or a user. {@code contents} is the JSONC text byte for byte.
 */
record ConfigDocument(Type type, String subject, String kind, String displayName, String contents,
                      Map<String, String> extra, String name) {

    enum Type {
        SITE_CONFIG("site-config"), EXTERNAL_SERVICE("external-service"), GLOBAL_SETTINGS("global-settings"),
        ORG_SETTINGS("org-settings"), USER_SETTINGS("user-settings");

        final String id;

        Type(String id) {
            this.id = id;
        }

        static Type of(String id) {
            for (Type t : values()) {
                if (t.id.equals(id)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown document type '" + id + "'; known: site-config, "
                    + "external-service, global-settings, org-settings, user-settings");
        }
    }

    static final String ATTR_TYPE = "type";
    static final String ATTR_SUBJECT = "subject";
    static final String ATTR_KIND = "kind";
    static final String ATTR_DISPLAY_NAME = "displayName";
    static final String ATTR_REDACTED = "redactedPointers";
    /** Non-empty when the row's config is ciphertext of the source instance's keyring (database store). */
    static final String ATTR_ENCRYPTION_KEY_ID = "encryptionKeyId";
    /** 3.2x user-owned code host connection: the owner's username. */
    static final String ATTR_NAMESPACE_USER = "namespaceUser";

    ConfigDocument {
        extra = Map.copyOf(extra);
    }

    ConfigDocument(Type type, String subject, String kind, String displayName, String contents, Map<String, String> extra) {
        this(type, subject, kind, displayName, contents, extra, null);
    }

    ConfigDocument withName(String artifactName) {
        return new ConfigDocument(type, subject, kind, displayName, contents, extra, artifactName);
    }

    ConfigDocument withContents(String text) {
        return new ConfigDocument(type, subject, kind, displayName, text, extra, name);
    }

    /** Whether the API may have redacted values in it (settings are never redacted). */
    boolean mayBeRedacted() {
        return type == Type.SITE_CONFIG || type == Type.EXTERNAL_SERVICE;
    }

    /** Two code host connections of one kind may share a display name: restores match them in order. */
    String matchKey() {
        return kind + "\u0000" + displayName;
    }

    static ConfigDocument siteConfig(String contents) {
        return new ConfigDocument(Type.SITE_CONFIG, null, null, null, contents, Map.of());
    }

    static ConfigDocument globalSettings(String contents) {
        return new ConfigDocument(Type.GLOBAL_SETTINGS, null, null, null, contents, Map.of());
    }

    static ConfigDocument orgSettings(String org, String contents) {
        return new ConfigDocument(Type.ORG_SETTINGS, org, null, null, contents, Map.of());
    }

    static ConfigDocument userSettings(String user, String contents) {
        return new ConfigDocument(Type.USER_SETTINGS, user, null, null, contents, Map.of());
    }

    static ConfigDocument externalService(String kind, String displayName, String contents, Map<String, String> extra) {
        return new ConfigDocument(Type.EXTERNAL_SERVICE, null, kind, displayName, contents, extra);
    }

    /** The artifact name: also the key of this document in a secrets file. */
    String artifactName() {
        if (name != null) {
            return name;
        }
        return switch (type) {
            case SITE_CONFIG -> "site-config";
            case GLOBAL_SETTINGS -> "global-settings";
            case ORG_SETTINGS -> "orgs/" + subject + "/settings";
            case USER_SETTINGS -> "users/" + subject + "/settings";
            case EXTERNAL_SERVICE -> "external-services/" + kind + "/" + displayName;
        };
    }

    Map<String, String> attributes(List<String> redactedPointers) {
        Map<String, String> a = new LinkedHashMap<>();
        a.put(ATTR_TYPE, type.id);
        if (subject != null) {
            a.put(ATTR_SUBJECT, subject);
        }
        if (kind != null) {
            a.put(ATTR_KIND, kind);
            a.put(ATTR_DISPLAY_NAME, displayName);
        }
        a.put(ATTR_REDACTED, Json.write(redactedPointers));
        a.putAll(extra);
        return a;
    }

    /** The document's description in the manifest, read back from an artifact's attributes. */
    static ConfigDocument fromAttributes(String artifactName, Map<String, String> a, String contents) {
        Type t = Type.of(a.getOrDefault(ATTR_TYPE, ""));
        Map<String, String> extra = new LinkedHashMap<>();
        for (String k : List.of(ATTR_ENCRYPTION_KEY_ID, ATTR_NAMESPACE_USER)) {
            if (a.containsKey(k)) {
                extra.put(k, a.get(k));
            }
        }
        if (t == Type.EXTERNAL_SERVICE && (a.get(ATTR_KIND) == null || a.get(ATTR_DISPLAY_NAME) == null)) {
            throw new IllegalArgumentException("a code host connection without kind or displayName attributes");
        }
        if ((t == Type.ORG_SETTINGS || t == Type.USER_SETTINGS) && a.get(ATTR_SUBJECT) == null) {
            throw new IllegalArgumentException("settings without a subject attribute");
        }
        return new ConfigDocument(t, a.get(ATTR_SUBJECT), a.get(ATTR_KIND), a.get(ATTR_DISPLAY_NAME), contents, extra,
                artifactName);
    }

    @Override
    public String toString() {
        return artifactName(); // never the contents: they hold secrets
    }
}
