package dev.sgbackup.s3;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/** Reads {@code ~/.aws/credentials} and {@code ~/.aws/config} the way the AWS CLI does. */
final class AwsProfiles {
    final Path credentialsFile;
    final Path configFile;
    final String profile;
    private final Map<String, Map<String, String>> credentials;
    private final Map<String, Map<String, String>> config;

    AwsProfiles(Function<String, String> env, Path home) {
        String credFile = env.apply("AWS_SHARED_CREDENTIALS_FILE");
        String confFile = env.apply("AWS_CONFIG_FILE");
        this.credentialsFile = credFile != null ? Path.of(expand(credFile, home)) : home.resolve(".aws/credentials");
        this.configFile = confFile != null ? Path.of(expand(confFile, home)) : home.resolve(".aws/config");
        String p = env.apply("AWS_PROFILE");
        if (p == null || p.isBlank()) {
            p = env.apply("AWS_DEFAULT_PROFILE");
        }
        this.profile = p == null || p.isBlank() ? "default" : p.strip();
        this.credentials = read(credentialsFile, false);
        this.config = read(configFile, true);
    }

    private static String expand(String f, Path home) {
        return f.startsWith("~/") ? home.resolve(f.substring(2)).toString() : f;
    }

    /** A setting of the selected profile: the credentials file wins over the config file, as in the AWS CLI. */
    String get(String key) {
        Map<String, String> c = credentials.get(profile);
        if (c != null && c.containsKey(key)) {
            return c.get(key);
        }
        Map<String, String> k = config.get(profile);
        return k == null ? null : k.get(key);
    }

    boolean profileExists() {
        return credentials.containsKey(profile) || config.containsKey(profile);
    }

    /** Parses an INI file; in the config file, {@code [profile x]} names profile x and {@code [default]} the default. */
    static Map<String, Map<String, String>> read(Path file, boolean configStyle) {
        Map<String, Map<String, String>> out = new HashMap<>();
        if (!Files.isRegularFile(file)) {
            return out;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return out;
        }
        Map<String, String> section = null;
        for (String raw : text.split("\r?\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                String name = line.substring(1, line.length() - 1).strip();
                if (configStyle && name.startsWith("profile ")) {
                    name = name.substring("profile ".length()).strip();
                } else if (configStyle && !name.equals("default")) {
                    section = null; // [sso-session x], [services x]: not profiles
                    continue;
                }
                section = out.computeIfAbsent(name, n -> new LinkedHashMap<>());
                continue;
            }
            int eq = line.indexOf('=');
            if (section != null && eq > 0 && !raw.startsWith(" ") && !raw.startsWith("\t")) {
                section.put(line.substring(0, eq).strip().toLowerCase(Locale.ROOT), line.substring(eq + 1).strip());
            }
        }
        return out;
    }
}
