package dev.sgbackup.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sgbackup.plan.InstanceDescription.Location;
import dev.sgbackup.plan.InstanceDescription.Store;
import dev.sgbackup.run.InvalidInputException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the stores of a Docker Compose deployment of Sourcegraph (deploy-sourcegraph-docker). One job, so one
 * file (about 520 lines): reading a Compose model into an instance description; Kubernetes and the single image
 * will get their own classes.
 *
 * <p>The primary input is the output of {@code docker compose config --format json}: Compose has resolved merge
 * keys, {@code !reset}/{@code !override}, overrides and interpolation, and named volumes carry their real names. Raw
 * YAML files are read as a fallback, with a warning: a plain YAML reader resolves none of that.
 *
 * <p>Databases come from the frontend's environment ({@code PGHOST}…, {@code CODEINTEL_PG*}, {@code CODEINSIGHTS_PG*},
 * {@code *_PGDATASOURCE}), not from service names; a host that is no service of the file is external. The volumes
 * databases live on are never stores of their own: databases are backed up logically only. Credentials are
 * recorded as a reference ({@code env:PGPASSWORD@service/sourcegraph-frontend-0}); a value read from the file is
 * dropped at once and never appears in the description, a warning or an exception.
 */
public final class Discovery {
    /** Where Docker's local volume driver keeps named volumes: {@code <root>/<volume>/_data}. */
    public static final Path DEFAULT_VOLUME_ROOT = Path.of("/var/lib/docker/volumes");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** The three databases by store name, with the prefix of their environment variables. */
    static final Map<String, String> DATABASES = Map.of("frontend", "", "codeintel", "CODEINTEL_", "codeinsights", "CODEINSIGHTS_");
    /** Sourcegraph's version in the frontend image's tag. */
    static final Pattern TAG = Pattern.compile("/frontend:([0-9][^@\\s]*)");

    private Discovery() {
    }

    /** {@link #compose(List, String, Path)} with {@link #DEFAULT_VOLUME_ROOT}. */
    public static InstanceDescription compose(List<Path> files, String project) {
        return compose(files, project, DEFAULT_VOLUME_ROOT);
    }

    /**
     * Discovers a Compose deployment.
     *
     * @param files      one file with the output of {@code docker compose config --format json}, or the raw Compose YAML
     *                   files in override order (fallback, warns)
     * @param project    the project name, or null: the JSON's {@code name}, else the first file's directory name
     *                   (Compose's default)
     * @param volumeRoot where named volumes live on the host
     */
    public static InstanceDescription compose(List<Path> files, String project, Path volumeRoot) {
        return compose(files, project, volumeRoot, Map.of());
    }

    /**
     * {@link #compose(List, String, Path)}, interpolating {@code ${VAR}}, {@code ${VAR:-default}}, {@code ${VAR-default}}
     * and {@code $VAR} in raw YAML files from {@code variables} (Compose's {@code .env} / {@code --env-file}); the
     * output of {@code docker compose config} is already interpolated. An unset variable becomes empty, with a warning.
     */
    public static InstanceDescription compose(List<Path> files, String project, Path volumeRoot, Map<String, String> variables) {
        return compose(files, project, new VolumeDirs(volumeRoot, false), variables);
    }

    /**
     * Where a named volume's files are: Docker's local driver keeps them in {@code <root>/<docker name>/_data};
     * a container that mounts each volume at {@code <root>/<key>} (as examples/deploy/compose does at /data) sees
     * them there.
     */
    record VolumeDirs(Path root, boolean mounts) {
        String dir(String key, String docker) {
            return (mounts ? root.resolve(key) : root.resolve(docker).resolve("_data")).toString();
        }
    }

    static InstanceDescription compose(List<Path> files, String project, VolumeDirs volumeRoot, Map<String, String> variables) {
        if (files.isEmpty()) {
            throw new InvalidInputException("no Compose file given");
        }
        List<String> warnings = new ArrayList<>();
        ObjectNode merged = JSON.createObjectNode();
        String input = "compose-config-json";
        for (Path f : files) {
            String text;
            try {
                text = Files.readString(f);
            } catch (IOException e) {
                throw new InvalidInputException("cannot read " + f + ": " + e.getClass().getSimpleName());
            }
            JsonNode doc;
            if (text.stripLeading().startsWith("{")) {
                doc = parse(JSON, text, f);
            } else {
                input = "compose-yaml";
                doc = parse(YAML, interpolate(text, variables, warnings), f);
            }
            if (doc != null && doc.isObject()) {
                merge(merged, (ObjectNode) doc);
            }
        }
        if (input.equals("compose-yaml")) {
            warnings.add("read raw Compose YAML: merge keys, !reset/!override and variable interpolation are not resolved; for an"
                    + " exact description pass the output of 'docker compose config --format json'");
        }
        String proj = project != null ? project
                : merged.hasNonNull("name") ? merged.get("name").asText()
                : dirName(files.get(0));
        List<String> names = files.stream().map(Path::toString).toList();
        return describe(merged, new InstanceDescription.Deployment("docker-compose", proj, names, input), volumeRoot, warnings);
    }

    /** Discovers from the text of {@code docker compose config --format json}. */
    public static InstanceDescription composeJson(String json, String project, Path volumeRoot) {
        JsonNode doc = parse(JSON, json, Path.of("(json)"));
        String proj = project != null ? project : doc.path("name").asText("docker-compose");
        return describe(doc, new InstanceDescription.Deployment("docker-compose", proj, List.of(), "compose-config-json"),
                new VolumeDirs(volumeRoot, false),
                new ArrayList<>());
    }

    private static final Pattern VAR = Pattern.compile("\\$\\$|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?}|\\$([A-Za-z_][A-Za-z0-9_]*)");

    /** Compose's variable syntax; a variable's value is never quoted in a warning. */
    static String interpolate(String text, Map<String, String> variables, List<String> warnings) {
        Matcher m = VAR.matcher(text);
        StringBuilder sb = new StringBuilder();
        Set<String> unset = new java.util.TreeSet<>();
        while (m.find()) {
            String rep;
            if (m.group().equals("$$")) {
                rep = "$";
            } else {
                String name = m.group(1) != null ? m.group(1) : m.group(4);
                String v = variables.get(name);
                String op = m.group(2);
                if (op != null && (v == null || (op.equals(":-") && v.isEmpty()))) {
                    v = m.group(3);
                }
                if (v == null) {
                    unset.add(name);
                    v = "";
                }
                rep = v;
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(rep));
        }
        m.appendTail(sb);
        if (!unset.isEmpty()) {
            warnings.add("variables not set (pass --env-file): " + String.join(", ", unset) + "; read as empty");
        }
        return sb.toString();
    }

    private static JsonNode parse(ObjectMapper m, String text, Path f) {
        try {
            return m.readTree(text);
        } catch (IOException e) {
            // the parser's message may quote the file, and the file may hold passwords: name the position only
            String where = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe && jpe.getLocation() != null
                    ? " at line " + jpe.getLocation().getLineNr() : "";
            throw new InvalidInputException("cannot parse " + f + where + " as Compose " + (m == JSON ? "JSON" : "YAML"));
        }
    }

    /** Later files override earlier ones, map by map (a simplification of Compose's merge; lists are replaced). */
    private static void merge(ObjectNode into, ObjectNode from) {
        Iterator<Map.Entry<String, JsonNode>> it = from.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = into.get(e.getKey());
            if (old instanceof ObjectNode o && e.getValue() instanceof ObjectNode n) {
                merge(o, n);
            } else {
                into.set(e.getKey(), e.getValue());
            }
        }
    }

    private static String dirName(Path f) {
        Path dir = f.toAbsolutePath().getParent();
        return dir == null || dir.getFileName() == null ? "default" : dir.getFileName().toString().toLowerCase(Locale.ROOT);
    }

    /** A mount of a service: a named volume or a bind mount. */
    private record Mount(String service, String source, String target, boolean bind, boolean readOnly) {
    }

    private static InstanceDescription describe(JsonNode doc, InstanceDescription.Deployment dep, VolumeDirs volumeRoot, List<String> warnings) {
        String project = dep.project();
        JsonNode services = doc.path("services");
        if (!services.isObject() || services.isEmpty()) {
            throw new InvalidInputException("no services in the Compose input: is it a Compose file?");
        }
        Map<String, JsonNode> byName = new TreeMap<>();
        services.fields().forEachRemaining(e -> byName.put(e.getKey(), e.getValue()));

        // the frontend: the service running Sourcegraph's frontend image (not -internal when there is a choice)
        String frontend = null;
        for (Map.Entry<String, JsonNode> e : byName.entrySet()) {
            String image = e.getValue().path("image").asText("");
            if (image.contains("/frontend:") || image.endsWith("/frontend")) {
                if (frontend == null || (frontend.contains("internal") && !e.getKey().contains("internal"))) {
                    frontend = e.getKey();
                }
            }
        }
        String version = null;
        if (frontend == null) {
            warnings.add("no service runs sourcegraph/frontend: databases cannot be read from its environment");
        } else {
            Matcher m = TAG.matcher(byName.get(frontend).path("image").asText(""));
            version = m.find() ? m.group(1) : null;
        }
        Map<String, String> feEnv = frontend == null ? Map.of() : env(byName.get(frontend));

        // named volumes: key -> docker name
        Map<String, String> volumeNames = new LinkedHashMap<>();
        doc.path("volumes").fields().forEachRemaining(e -> volumeNames.put(e.getKey(),
                e.getValue().hasNonNull("name") ? e.getValue().get("name").asText() : project + "_" + e.getKey()));
        if (doc.path("volumes").isMissingNode() || volumeNames.isEmpty()) {
            warnings.add("no top-level volumes: named volumes are assumed to be '" + project + "_<name>'");
        }

        // mounts, by source
        Map<String, List<Mount>> mounts = new LinkedHashMap<>();
        byName.forEach((svc, node) -> {
            for (JsonNode v : node.path("volumes")) {
                Mount m = mount(svc, v, volumeNames.keySet());
                if (m != null) {
                    mounts.computeIfAbsent(m.source(), k -> new ArrayList<>()).add(m);
                }
            }
        });

        List<Store> stores = new ArrayList<>();
        Set<String> dbServices = new LinkedHashSet<>();
        // databases, from the frontend's environment
        for (String db : List.of("frontend", "codeintel", "codeinsights")) {
            Store s = database(db, DATABASES.get(db), frontend, feEnv, byName, volumeNames, mounts, project, volumeRoot, warnings);
            if (s != null) {
                stores.add(s);
                if (!Boolean.TRUE.equals(s.location().external())) {
                    dbServices.add(s.location().host());
                }
            }
        }
        // volumes (and bind mounts), except those databases live on
        for (Map.Entry<String, List<Mount>> e : mounts.entrySet()) {
            List<Mount> ms = e.getValue();
            Set<String> users = new LinkedHashSet<>();
            ms.forEach(m -> users.add(m.service()));
            if (users.stream().anyMatch(dbServices::contains)) {
                // a database's data directory: backed up logically, never as files; its configuration files are listed
                Store files = ms.get(0).bind() ? volume(e.getKey(), ms.get(0), users, volumeNames, volumeRoot, new ArrayList<>()) : null;
                if (files != null && files.kind().equals(InstanceDescription.FILES)) {
                    stores.add(files);
                }
                continue;
            }
            if (users.stream().anyMatch(u -> isPostgresImage(byName.get(u)))) {
                warnings.add("volume " + e.getKey() + " is mounted by a PostgreSQL service (" + String.join(", ", users)
                        + ") the frontend does not use: not backed up (never as files); add it with --postgres if it matters");
                continue;
            }
            stores.add(volume(e.getKey(), ms.get(0), users, volumeNames, volumeRoot, warnings));
        }
        int dbs = (int) stores.stream().filter(st -> st.kind().equals(InstanceDescription.POSTGRES)).count();
        stores.subList(dbs, stores.size()).sort(java.util.Comparator.comparing(Store::name));
        // named volumes no service mounts
        for (String v : volumeNames.keySet()) {
            if (!mounts.containsKey(v)) {
                warnings.add("volume " + v + " is declared but no service mounts it: left out");
            }
        }
        return new InstanceDescription(InstanceDescription.FORMAT, dep, version, stores, warnings);
    }

    private static boolean isPostgresImage(JsonNode svc) {
        return isPostgresImage(svc == null ? "" : svc.path("image").asText(""));
    }

    /** A PostgreSQL server's image (not its metrics exporter). */
    static boolean isPostgresImage(String image) {
        return image.contains("postgres") && !image.contains("exporter");
    }

    /** A service's volume entry: long syntax (config JSON) or short {@code src:target[:mode]}; null for tmpfs and anonymous. */
    private static Mount mount(String svc, JsonNode v, Set<String> named) {
        String type;
        String source;
        String target;
        boolean readOnly;
        if (v.isTextual()) {
            String[] parts = v.asText().split(":");
            if (parts.length < 2) {
                return null; // anonymous volume
            }
            source = parts[0];
            target = parts[1];
            readOnly = parts.length > 2 && List.of(parts[2].split(",")).contains("ro");
            type = named.contains(source) || !(source.startsWith(".") || source.startsWith("/") || source.startsWith("~")) ? "volume" : "bind";
        } else {
            type = v.path("type").asText("volume");
            source = v.path("source").asText(null);
            target = v.path("target").asText("");
            readOnly = v.path("read_only").asBoolean(false);
        }
        if (source == null || source.isEmpty() || !(type.equals("volume") || type.equals("bind"))) {
            return null;
        }
        return new Mount(svc, source, target, type.equals("bind"), readOnly);
    }

    private static Store volume(String source, Mount m, Set<String> users, Map<String, String> volumeNames, VolumeDirs volumeRoot,
                                List<String> warnings) {
        String origin = m.bind() ? "bind/" + String.join(",", users) : "volume/" + source;
        if (m.bind()) {
            // the deployment's own files (configuration from the deploy repository), or a host directory holding data
            String name = Path.of(source).getFileName() == null ? source : Path.of(source).getFileName().toString();
            // read-only mounts, the host's own directories (cadvisor, node-exporter) and configuration are not data
            if (!source.startsWith("/") || m.readOnly() || isHostSystem(source) || isConfigTarget(m.target())
                    || m.target().matches(".*\\.[a-z]{2,5}$")) {
                return new Store(name.equals("/") ? "root" : name, InstanceDescription.FILES, true,
                        (isHostSystem(source) ? "the host's system directory mounted into " : "deployment files mounted into ") + String.join(", ", users)
                        + " at " + m.target(), origin, Location.directory(null, source), null);
            }
            VolumeKind k = VolumeKind.guess(name);
            if (k == VolumeKind.OTHER) {
                k = VolumeKind.guess(String.join(" ", users));
            }
            if (k == VolumeKind.OTHER) {
                warnings.add("bind mount " + source + " of " + String.join(", ", users) + " is of unknown kind: kept as 'other' (not recreatable)");
            }
            return new Store(name, InstanceDescription.kindId(k), k.recreatable(), k.holds(), origin,
                    Location.directory(null, source), null);
        }
        String docker = volumeNames.getOrDefault(source, source);
        String dir = volumeRoot.dir(source, docker);
        String kind;
        boolean recreatable;
        String holds;
        VolumeKind k = VolumeKind.guess(source);
        if (k == VolumeKind.OTHER && !isCache(source, users)) {
            k = VolumeKind.guess(String.join(" ", users)); // a renamed volume of a known service
        }
        if (k == VolumeKind.OTHER && isCache(source, users)) {
            kind = InstanceDescription.CACHE;
            recreatable = true;
            holds = "cache of " + String.join(", ", users);
        } else {
            if (k == VolumeKind.OTHER) {
                warnings.add("volume " + source + " (mounted by " + String.join(", ", users) + ") is of unknown kind: kept as 'other'"
                        + " (not recreatable)");
            }
            kind = InstanceDescription.kindId(k);
            recreatable = k.recreatable();
            holds = k.holds();
        }
        return new Store(source, kind, recreatable, holds, origin, Location.directory(docker, dir), null);
    }

    /** The host's own directories, which monitoring services (cadvisor, node-exporter) mount. */
    private static boolean isHostSystem(String source) {
        String p = source.endsWith("/") && source.length() > 1 ? source.substring(0, source.length() - 1) : source;
        for (String sys : List.of("/", "/proc", "/sys", "/dev", "/run", "/var/run", "/var/lib/docker", "/etc", "/boot")) {
            if (p.equals(sys) || (!sys.equals("/") && p.startsWith(sys + "/"))) {
                return true;
            }
        }
        return false;
    }

    /** Targets where deploy-sourcegraph-docker mounts its own configuration. */
    private static boolean isConfigTarget(String target) {
        String t = target.toLowerCase(Locale.ROOT);
        return t.startsWith("/sg_") || t.startsWith("/conf") || t.startsWith("/etc/") || t.contains("config") || t.contains("provisioning")
                || t.contains("dashboards") || t.startsWith("/var/run/") || t.startsWith("/sys") || t.startsWith("/proc") || t.startsWith("/dev")
                || t.equals("/rootfs") || t.startsWith("/var/lib/docker");
    }

    /** The caches deploy-sourcegraph-docker mounts: the services' own scratch space (frontend, searcher, worker, caddy…). */
    static boolean isCache(String volume, Set<String> users) {
        String v = volume.toLowerCase(Locale.ROOT);
        return v.startsWith("sourcegraph-frontend") || v.startsWith("searcher") || v.equals("worker") || v.equals("caddy")
                || v.contains("cache") || v.startsWith("symbols") || v.startsWith("embeddings");
    }

    private static Store database(String name, String prefix, String frontend, Map<String, String> feEnv, Map<String, JsonNode> services,
                                  Map<String, String> volumeNames, Map<String, List<Mount>> mounts, String project, VolumeDirs volumeRoot,
                                  List<String> warnings) {
        String host;
        Integer port;
        String db;
        String user;
        String credentials;
        String dsnVar = prefix + "PGDATASOURCE";
        String origin = frontend == null ? null : "service/" + frontend;
        if (feEnv.get(dsnVar) != null) {
            Dsn u = Dsn.parse(feEnv.get(dsnVar));
            if (u == null) {
                warnings.add(name + ": " + dsnVar + " of service/" + frontend + " is not a URL: database left out");
                return null;
            }
            host = u.host();
            port = u.port();
            db = u.database();
            user = u.user();
            credentials = "env:" + dsnVar + "@service/" + frontend;
        } else {
            host = feEnv.get(prefix + "PGHOST");
            if (host == null) {
                String guess = defaultHost(name);
                if (services.containsKey(guess)) {
                    warnings.add(name + ": the frontend does not set " + prefix + "PGHOST; assuming service " + guess + " (Sourcegraph's default)");
                    host = guess;
                } else {
                    if (name.equals("frontend")) {
                        warnings.add("frontend: no " + prefix + "PGHOST in the frontend's environment and no service pgsql: database unknown");
                    }
                    return null;
                }
            }
            port = parsePort(firstSet(prefix + "PGPORT", feEnv, services), name, warnings);
            db = valueOr(firstSet(prefix + "PGDATABASE", feEnv, services), defaultUserAndDatabase(name));
            user = valueOr(firstSet(prefix + "PGUSER", feEnv, services), defaultUserAndDatabase(name));
            credentials = reference(prefix + "PGPASSWORD", frontend, feEnv, services);
        }
        if (host == null) {
            warnings.add(name + ": no host in " + dsnVar + ": database left out");
            return null;
        }
        boolean external = !services.containsKey(host);
        String volume = null;
        if (!external) {
            origin = "service/" + host;
            String dbHost = host;
            for (Map.Entry<String, List<Mount>> e : mounts.entrySet()) {
                if (e.getValue().stream().anyMatch(m -> m.service().equals(dbHost)) && !e.getValue().get(0).bind()) {
                    volume = volumeNames.getOrDefault(e.getKey(), project + "_" + e.getKey());
                }
            }
        } else {
            origin = "external/" + host + (frontend == null ? "" : " (from service/" + frontend + ")");
        }
        return new Store(name, InstanceDescription.POSTGRES, name.equals("codeintel"), holds(name), origin,
                Location.database(volume, host, port, db, user, external), credentials);
    }

    /** What a Sourcegraph database holds. */
    static String holds(String name) {
        return switch (name) {
            case "frontend" -> "the frontend database: users, repositories, settings, batch changes…";
            case "codeintel" -> "precise code-intel data";
            default -> "code insights series";
        };
    }

    /** The service (Compose) or Service (Helm) a Sourcegraph database runs as by default. */
    static String defaultHost(String name) {
        return switch (name) {
            case "frontend" -> "pgsql";
            case "codeintel" -> "codeintel-db";
            default -> "codeinsights-db";
        };
    }

    /** Sourcegraph's default user, which is also the database name: sg, and postgres for code insights. */
    static String defaultUserAndDatabase(String name) {
        return name.equals("codeinsights") ? "postgres" : "sg";
    }

    /** The parts of a {@code *_PGDATASOURCE} URL but its password, which is never kept. */
    record Dsn(String host, int port, String database, String user) {
        /** The URL's host, port (5432), database ({@code postgres}) and user; null when it is not a URL. */
        static Dsn parse(String value) {
            URI u;
            try {
                u = URI.create(value.strip());
            } catch (IllegalArgumentException e) {
                return null; // never quoted: it holds the password
            }
            String ui = u.getUserInfo();
            return new Dsn(u.getHost(), u.getPort() > 0 ? u.getPort() : 5432,
                    u.getPath() == null || u.getPath().length() <= 1 ? "postgres" : u.getPath().substring(1),
                    ui == null ? null : ui.split(":", 2)[0]);
        }
    }

    /** A variable's value in the frontend, else in another service (the migrator sets them all). */
    private static String firstSet(String var, Map<String, String> feEnv, Map<String, JsonNode> services) {
        if (feEnv.get(var) != null) {
            return feEnv.get(var);
        }
        for (JsonNode s : services.values()) {
            String v = env(s).get(var);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /** Where the password variable is set: {@code env:VAR@service/NAME}, or {@code env:VAR} (to be set when running). */
    private static String reference(String var, String frontend, Map<String, String> feEnv, Map<String, JsonNode> services) {
        if (feEnv.containsKey(var)) {
            return "env:" + var + "@service/" + frontend;
        }
        for (Map.Entry<String, JsonNode> s : services.entrySet()) {
            if (env(s.getValue()).containsKey(var)) {
                return "env:" + var + "@service/" + s.getKey();
            }
        }
        return "env:" + var;
    }

    static Integer parsePort(String v, String name, List<String> warnings) {
        if (v == null) {
            return 5432;
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            warnings.add(name + ": port '" + v + "' is not a number (unresolved variable?); assuming 5432");
            return 5432;
        }
    }

    static String valueOr(String v, String dflt) {
        return v == null || v.isBlank() ? dflt : v;
    }

    /** A service's environment: a map (config JSON) or a list of {@code K=V} (raw YAML). */
    private static Map<String, String> env(JsonNode svc) {
        Map<String, String> out = new LinkedHashMap<>();
        JsonNode e = svc.path("environment");
        if (e.isObject()) {
            e.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().isNull() ? null : f.getValue().asText()));
        } else if (e.isArray()) {
            for (JsonNode item : e) {
                String s = item.asText();
                int i = s.indexOf('=');
                if (i < 0) {
                    out.put(s, null);
                } else {
                    out.put(s.substring(0, i), s.substring(i + 1));
                }
            }
        }
        return out;
    }
}
