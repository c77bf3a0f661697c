package dev.sgbackup.examples.cli;

import dev.sgbackup.discover.Discovery;
import dev.sgbackup.discover.InstanceDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code sgbackup discover --compose FILE… [--project NAME] [--env-file FILE] [--volume-root DIR] [--strict]}: the
 * instance description of a Docker Compose deployment (docs/instance.md) as JSON on stdout, warnings also on stderr.
 * Exit 0; 3 with --strict when there are warnings (the JSON is printed all the same).
 */
final class DiscoverCommand {
    static final Set<String> VALUE_FLAGS = Set.of("--compose", "--project", "--env-file", "--volume-root");
    static final Set<String> SWITCHES = Set.of("--strict");

    private DiscoverCommand() {
    }

    static int run(Session s, Args a) {
        List<String> files = a.all("--compose");
        if (files.isEmpty()) {
            throw new Args.UsageException("'discover' needs --compose FILE (the output of 'docker compose config --format json',"
                    + " or the Compose YAML files)");
        }
        String root = a.one("--volume-root");
        InstanceDescription d = Discovery.compose(files.stream().map(Path::of).toList(), a.one("--project"),
                root == null ? Discovery.DEFAULT_VOLUME_ROOT : Path.of(root).toAbsolutePath(), envFile(a.one("--env-file")));
        s.out.println(d.toJson());
        d.warnings().forEach(w -> s.err.println("warning: " + w));
        return a.has("--strict") && !d.warnings().isEmpty() ? 3 : 0;
    }

    /** A Compose .env file: KEY=VALUE lines, # comments, optional quotes. Its values are used, never printed. */
    static Map<String, String> envFile(String file) {
        if (file == null) {
            return Map.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(file));
        } catch (IOException e) {
            throw new Args.UsageException("cannot read --env-file " + file + ": " + e.getClass().getSimpleName());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#") || !l.contains("=")) {
                continue;
            }
            if (l.startsWith("export ")) {
                l = l.substring(7).strip();
            }
            int i = l.indexOf('=');
            String v = l.substring(i + 1).strip();
            if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
                v = v.substring(1, v.length() - 1);
            }
            out.put(l.substring(0, i).strip(), v);
        }
        return out;
    }

    /** The instance file of --instance, without the stores flags give; null without --instance. */
    static InstanceDescription instanceFile(Args a) {
        String file = a.one("--instance");
        if (file == null) {
            return null;
        }
        String json;
        try {
            json = Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new Args.UsageException("cannot read --instance " + file + ": " + e.getClass().getSimpleName());
        }
        Set<String> overridden = new java.util.HashSet<>(a.pairs("--postgres").keySet());
        overridden.addAll(a.pairs("--volume").keySet());
        return InstanceDescription.fromJson(json).without(overridden);
    }
}
