package dev.sgbackup.examples.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The OCI image's configuration and the deployment examples, checked in the default build (no registry, no
 * daemon, no cluster): the Jib configuration of the profile "image" as the pom states it (entrypoint, user,
 * environment, volume), the image tar itself when {@code mvn -Pimage} has built one, and the Compose and
 * Kubernetes files of {@code examples/deploy} (security settings, no literal secret, read-only data volumes).
 */
class ImageConfigTest {
    static final String MAIN = "dev.sgbackup.examples.cli.Main";
    static final Path POM = Path.of("pom.xml");
    static final Path TAR = Path.of("target", "sgbackup-image.tar");
    static final Path DEPLOY = Path.of("deploy");
    static final Pattern SECRET_NAME = Pattern.compile("(?i).*(pass|secret|token|credential|key).*");
    static final Set<String> SOURCEGRAPH_VOLUMES = Set.of("pgsql", "codeintel-db", "codeinsights-db", "gitserver-0",
            "zoekt-0-shared", "blobstore", "prometheus-v2", "grafana");

    static Map<String, String> props = new HashMap<>();
    static Element jib;
    static Element offlineJib;

    @BeforeAll
    static void readPom() throws Exception {
        var f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Element project = f.newDocumentBuilder().parse(POM.toFile()).getDocumentElement();
        for (Element p : children(child(project, "properties"))) {
            props.put(p.getTagName(), p.getTextContent().trim());
        }
        props.put("project.build.directory", "target");
        for (Element profile : children(child(project, "profiles"))) {
            String id = text(profile, "id");
            for (Element plugin : children(child(child(profile, "build"), "plugins"))) {
                if (text(plugin, "artifactId").equals("jib-maven-plugin")) {
                    if (id.equals("image")) {
                        jib = child(plugin, "configuration");
                    } else if (id.equals("offline-base")) {
                        offlineJib = child(plugin, "configuration");
                        for (Element p : children(child(profile, "properties"))) {
                            props.putIfAbsent("offline." + p.getTagName(), p.getTextContent().trim());
                        }
                    }
                }
            }
        }
        assertThat(jib).as("profile image configures jib-maven-plugin").isNotNull();
    }

    // --- the image's configuration, as the pom states it -------------------------------------------------------

    @Test
    void entrypointIsTheCli() throws Exception {
        assertThat(resolve(text(child(jib, "container"), "mainClass"))).isEqualTo(MAIN);
        Method main = Class.forName(MAIN).getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers())).isTrue();
        // the shaded jar names the same main class: one value for both
        assertThat(Files.readString(POM)).contains("<mainClass>${image.mainClass}</mainClass>");
        assertThat(jvmFlags()).contains("-Djava.io.tmpdir=/tmp", "-Dfile.encoding=UTF-8");
    }

    @Test
    void userIsNumericAndNotRoot() {
        assertNumericNonRoot(resolve(text(child(jib, "container"), "user")));
    }

    @Test
    void localeIsUtf8AndTmpIsAVolume() {
        Map<String, String> env = environment();
        assertThat(env.get("LANG")).isEqualTo("C.UTF-8");
        assertThat(env.get("LC_ALL")).isEqualTo("C.UTF-8");
        assertThat(env.get("PATH")).startsWith("/opt/java/openjdk/bin:");
        List<String> volumes = texts(child(child(jib, "container"), "volumes")).stream().map(ImageConfigTest::resolve).toList();
        assertThat(volumes).containsExactly("/tmp");
    }

    @Test
    void baseIsConfigurableAndTheTarGoesToTarget() {
        assertThat(text(child(jib, "from"), "image")).isEqualTo("${image.base}");
        assertThat(props.get("image.base")).isNotBlank();
        assertThat(resolve(text(child(jib, "outputPaths"), "tar"))).isEqualTo("target/sgbackup-image.tar");
        // the offline base: Jib's empty base plus a root file system with a world-writable /tmp
        assertThat(props.get("offline.image.base")).isEqualTo("scratch");
        Map<String, String> modes = new LinkedHashMap<>();
        for (Element p : children(child(child(offlineJib, "extraDirectories"), "permissions"))) {
            modes.put(resolve(text(p, "file")), text(p, "mode"));
        }
        assertThat(modes).containsEntry("/tmp", "777").containsEntry("/opt/java/openjdk/bin/*", "755");
    }

    // --- the image itself, when `mvn -Pimage` built it ----------------------------------------------------------

    @Test
    void builtImageHasTheSameConfiguration() throws IOException {
        Assumptions.assumeTrue(Files.isRegularFile(TAR), "no " + TAR + " (built by mvn -Pimage)");
        Map<String, byte[]> entries = new HashMap<>();
        List<String> layers = new ArrayList<>();
        try (InputStream in = Files.newInputStream(TAR); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.getName().endsWith(".json")) {
                    entries.put(e.getName(), tar.readAllBytes());
                } else if (e.isFile()) {
                    layers.add(e.getName());
                }
            }
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(entries.get("manifest.json")).get(0);
        assertThat(manifest.get("Layers")).hasSizeGreaterThanOrEqualTo(3); // dependencies, resources, classes (+ base)
        JsonNode config = json.readTree(entries.get(manifest.get("Config").asText())).get("config");
        assertNumericNonRoot(config.get("User").asText());
        assertThat(config.get("User").asText()).isEqualTo(props.get("image.user"));
        List<String> env = new ArrayList<>();
        config.get("Env").forEach(v -> env.add(v.asText()));
        assertThat(env).contains("LANG=C.UTF-8", "LC_ALL=C.UTF-8");
        List<String> entrypoint = new ArrayList<>();
        config.get("Entrypoint").forEach(v -> entrypoint.add(v.asText()));
        assertThat(entrypoint.get(0)).isEqualTo("java");
        assertThat(entrypoint).contains("-Djava.io.tmpdir=/tmp", MAIN);
        assertThat(config.get("Volumes").has("/tmp")).isTrue();
        assertThat(config.get("Labels").get("org.opencontainers.image.title").asText()).isEqualTo("sgbackup");
    }

    // --- Compose -----------------------------------------------------------------------------------------------

    @Test
    void composeServiceIsOptInOnTheSourcegraphNetworkWithReadOnlyData() throws IOException {
        JsonNode doc = new YAMLMapper().readTree(DEPLOY.resolve("compose/docker-compose.sgbackup.yaml").toFile());
        JsonNode s = doc.get("services").get("sgbackup");
        assertThat(strings(s.get("profiles"))).containsExactly("backup");
        assertThat(strings(s.get("networks"))).containsExactly("sourcegraph");
        assertThat(s.get("user").asText()).isEqualTo(props.get("image.user"));
        assertThat(s.get("read_only").asBoolean()).isTrue();
        assertThat(strings(s.get("tmpfs"))).anyMatch(t -> t.startsWith("/tmp:") || t.equals("/tmp"));
        assertThat(strings(s.get("cap_drop"))).containsExactly("ALL");
        Set<String> mounted = new TreeSet<>();
        for (String v : strings(s.get("volumes"))) {
            assertThat(v).as("data volumes are read-only").endsWith(":ro");
            mounted.add(v.substring(0, v.indexOf(':')));
        }
        assertThat(mounted).containsExactlyInAnyOrderElementsOf(SOURCEGRAPH_VOLUMES);
        // environment: names only (values from the caller's shell) or a path; never a literal secret
        s.get("environment").fields().forEachRemaining(e -> {
            if (SECRET_NAME.matcher(e.getKey()).matches() && !e.getKey().equals("PGPASSFILE")) {
                assertThat(e.getValue().isNull() || e.getValue().asText().isEmpty())
                        .as("%s is passed through, not set here", e.getKey()).isTrue();
            }
        });
        assertThat(doc.get("secrets").get("sgbackup-pgpass").get("file").asText()).startsWith("${SGBACKUP_PGPASSFILE");
        assertNoLiteralSecret(doc, "compose");
    }

    // --- Kubernetes --------------------------------------------------------------------------------------------

    @Test
    void jobsMeetTheRestrictedProfileAndTakeCredentialsFromSecrets() throws IOException {
        JsonNode job = yaml("job.yaml").get(0);
        JsonNode cron = yaml("cronjob.yaml").get(0);
        assertThat(job.get("kind").asText()).isEqualTo("Job");
        assertThat(cron.get("kind").asText()).isEqualTo("CronJob");
        assertThat(cron.get("spec").get("concurrencyPolicy").asText()).isEqualTo("Forbid");
        for (JsonNode pod : List.of(job.get("spec").get("template").get("spec"),
                cron.get("spec").get("jobTemplate").get("spec").get("template").get("spec"))) {
            assertThat(pod.get("serviceAccountName").asText()).isEqualTo("sgbackup");
            JsonNode psc = pod.get("securityContext");
            assertThat(psc.get("runAsNonRoot").asBoolean()).isTrue();
            assertThat(psc.get("seccompProfile").get("type").asText()).isEqualTo("RuntimeDefault");
            assertThat(pod.has("hostNetwork") || pod.has("hostPID") || pod.has("hostIPC")).isFalse();
            Set<String> emptyDirs = new TreeSet<>();
            pod.get("volumes").forEach(v -> {
                assertThat(v.has("emptyDir")).as("restricted: only emptyDir/secret-like volumes").isTrue();
                emptyDirs.add(v.get("name").asText());
            });
            Set<String> secrets = new TreeSet<>();
            for (JsonNode c : pod.get("containers")) {
                JsonNode sc = c.get("securityContext");
                assertThat(sc.get("allowPrivilegeEscalation").asBoolean(true)).isFalse();
                assertThat(sc.get("readOnlyRootFilesystem").asBoolean()).isTrue();
                assertThat(sc.get("runAsNonRoot").asBoolean()).isTrue();
                assertThat(sc.get("runAsUser").asText() + ":" + sc.get("runAsGroup").asText()).isEqualTo(props.get("image.user"));
                assertThat(strings(sc.get("capabilities").get("drop"))).containsExactly("ALL");
                assertThat(sc.get("seccompProfile").get("type").asText()).isEqualTo("RuntimeDefault");
                boolean tmp = false;
                for (JsonNode m : c.get("volumeMounts")) {
                    tmp |= m.get("mountPath").asText().equals("/tmp") && emptyDirs.contains(m.get("name").asText());
                }
                assertThat(tmp).as("%s: /tmp is a writable emptyDir", c.get("name")).isTrue();
                for (JsonNode e : c.get("env")) {
                    if (SECRET_NAME.matcher(e.get("name").asText()).matches()) {
                        assertThat(e.has("value")).as("%s comes from a Secret", e.get("name")).isFalse();
                    }
                    if (e.has("valueFrom")) {
                        secrets.add(e.get("valueFrom").get("secretKeyRef").get("name").asText());
                    }
                }
                List<String> args = strings(c.get("args"));
                assertThat(args.get(0)).isEqualTo("backup");
                assertThat(args).contains("--postgres", "--to");
                assertThat(args.get(args.indexOf("--to") + 1)).startsWith("s3://");
                assertThat(String.join(" ", args)).doesNotContainIgnoringCase("password=");
            }
            assertThat(secrets).contains("pgsql-auth", "codeintel-db-auth", "codeinsights-db-auth", "sgbackup-s3")
                    .allMatch(n -> n.endsWith("-auth") || n.startsWith("sgbackup-"));
        }
        assertNoLiteralSecret(job, "job");
        assertNoLiteralSecret(cron, "cronjob");
    }

    @Test
    void rbacIsReadOnlyAndGetsOnlyTheNamedSecrets() throws IOException {
        List<JsonNode> docs = yaml("serviceaccount-rbac.yaml");
        Set<String> kinds = new TreeSet<>();
        for (JsonNode d : docs) {
            kinds.add(d.get("kind").asText());
            if (d.get("kind").asText().equals("Role")) {
                Set<String> resources = new TreeSet<>();
                for (JsonNode r : d.get("rules")) {
                    if (strings(r.get("resources")).contains("secrets")) {
                        // discover --kubernetes: the chart's database Secrets by name, get only (never list: all Secrets)
                        assertThat(strings(r.get("resources"))).containsExactly("secrets");
                        assertThat(strings(r.get("verbs"))).containsExactly("get");
                        assertThat(strings(r.get("resourceNames"))).containsExactlyInAnyOrder("pgsql-auth", "codeintel-db-auth",
                                "codeinsights-db-auth");
                        continue;
                    }
                    assertThat(strings(r.get("verbs"))).containsExactlyInAnyOrder("get", "list");
                    resources.addAll(strings(r.get("resources")));
                }
                assertThat(resources).containsExactlyInAnyOrder("pods", "services", "persistentvolumeclaims",
                        "deployments", "statefulsets");
            }
        }
        assertThat(kinds).containsExactlyInAnyOrder("ServiceAccount", "Role", "RoleBinding"); // no ClusterRole
    }

    // --- helpers -----------------------------------------------------------------------------------------------

    /** Fails on a secret-named key holding a literal, a {@code value:} with a password-like text, or a password in a URL. */
    static void assertNoLiteralSecret(JsonNode node, String where) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                JsonNode v = e.getValue();
                if (e.getKey().equals("value") && v.isTextual()) {
                    assertThat(v.asText()).as(where + ": literal value").doesNotContainIgnoringCase("password");
                }
                if (node.has("name") && e.getKey().equals("value") && SECRET_NAME.matcher(node.get("name").asText()).matches()) {
                    throw new AssertionError(where + ": " + node.get("name").asText() + " has a literal value");
                }
                assertNoLiteralSecret(v, where + "." + e.getKey());
            });
        } else if (node.isArray()) {
            node.forEach(n -> assertNoLiteralSecret(n, where));
        } else if (node.isTextual()) {
            assertThat(node.asText()).as(where).doesNotContainIgnoringCase("password=").doesNotContain("PGPASSWORD=");
        }
    }

    static void assertNumericNonRoot(String user) {
        Matcher m = Pattern.compile("(\\d+)(?::(\\d+))?").matcher(user);
        assertThat(m.matches()).as("numeric user: %s", user).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as("not root").isPositive();
    }

    static List<JsonNode> yaml(String file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = new YAMLMapper().readerFor(JsonNode.class).readValues(DEPLOY.resolve("kubernetes").resolve(file).toFile())) {
            while (it.hasNext()) {
                JsonNode d = (JsonNode) it.next();
                if (d != null && !d.isNull() && !d.isMissingNode()) {
                    docs.add(d);
                }
            }
        }
        return docs;
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    List<String> jvmFlags() {
        return texts(child(child(jib, "container"), "jvmFlags")).stream().map(ImageConfigTest::resolve).toList();
    }

    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        for (Element e : children(child(child(jib, "container"), "environment"))) {
            env.put(e.getTagName(), resolve(e.getTextContent().trim()));
        }
        return env;
    }

    static String resolve(String s) {
        Matcher m = Pattern.compile("\\$\\{([^}]+)}").matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = props.get(m.group(1));
            assertThat(v).as("property %s", m.group(1)).isNotNull();
            m.appendReplacement(b, Matcher.quoteReplacement(resolve(v)));
        }
        return m.appendTail(b).toString();
    }

    static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        if (parent != null) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    static Element child(Element parent, String name) {
        return children(parent).stream().filter(e -> e.getTagName().equals(name)).findFirst().orElse(null);
    }

    static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? "" : e.getTextContent().trim();
    }

    static List<String> texts(Element parent) {
        return children(parent).stream().map(e -> e.getTextContent().trim()).toList();
    }
}
