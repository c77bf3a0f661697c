package dev.sgbackup.examples.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script {@code examples/bin/sgbackup}, run by {@code sh} as a user runs it, on a small jar whose main
 * class reports what it was given ({@link LauncherProbe}): the shaded jar is built after the tests run.
 */
class LauncherTest {
    private static final Path SCRIPT = Path.of("bin", "sgbackup").toAbsolutePath();
    @TempDir
    static Path dir;
    private static Path jar;

    record Run(int exit, String out, String err) {
    }

    @BeforeAll
    static void probeJar() throws IOException {
        jar = dir.resolve("probe.jar");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, LauncherProbe.class.getName());
        String entry = LauncherProbe.class.getName().replace('.', '/') + ".class";
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m);
             var in = LauncherProbe.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            in.transferTo(out);
            out.closeEntry();
        }
    }

    private static Run run(Path script, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.directory(Files.createDirectories(dir.resolve("cwd")).toFile()); // the user's directory: nothing may appear in it
        pb.environment().remove("SGBACKUP_JAR");
        pb.environment().remove("SGBACKUP_JAVA_OPTS");
        // the Java running this test, as a user's JAVA_HOME would name one
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        // class-data sharing archives go to a cache of the test's own, never the user's
        pb.environment().put("XDG_CACHE_HOME", dir.resolve("cache").toString());
        pb.environment().putAll(env);
        Path err = Files.createTempFile(dir, "err", ".txt");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        try (OutputStream stdin = p.getOutputStream()) {
            stdin.flush();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        return new Run(exit, out, Files.readString(err));
    }

    @Test
    void passesEveryArgumentAsGivenAndReturnsTheExitStatus() throws Exception {
        Run r = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString()), "exit=3", "two words", "", "$HOME", "a'b\"c", "--to=file:///x y");
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.out()).contains("arg [exit=3]\narg [two words]\narg []\narg [$HOME]\narg [a'b\"c]\narg [--to=file:///x y]\n");
        assertThat(r.err()).isEqualTo("probe stderr\n"); // nothing of the launcher's own on either stream
    }

    @Test
    void runsTheSerialCollectorWithLessInliningAndTakesMoreFlagsFromTheEnvironment() throws Exception {
        Run plain = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString()));
        assertThat(plain.exit()).isZero();
        assertThat(plain.out()).contains("gc Copy,MarkSweepCompact\n").contains("vm FreqInlineSize=50\n", "vm InlineSmallCode=500\n");

        Run opts = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "SGBACKUP_JAVA_OPTS", "-Xmx64m -XX:+UseG1GC"));
        assertThat(opts.exit()).isZero();
        assertThat(opts.out()).contains("gc G1 Young Generation,G1 Old Generation\n");
        Run inline = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "SGBACKUP_JAVA_OPTS", "-XX:FreqInlineSize=325"));
        assertThat(inline.out()).as("the user's flag comes after the launcher's").contains("vm FreqInlineSize=325\n");
        long maxHeap = Long.parseLong(opts.out().replaceAll("(?s).*maxHeap (\\d+).*", "$1"));
        assertThat(maxHeap).isLessThanOrEqualTo(64L << 20);
    }

    @Test
    void findsTheJarBesideItself() throws Exception {
        Path installed = Files.createDirectories(dir.resolve("install"));
        Path script = Files.copy(SCRIPT, installed.resolve("sgbackup"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(jar, installed.resolve("sgbackup.jar"), StandardCopyOption.REPLACE_EXISTING);
        Run r = run(script, Map.of(), "hello");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("arg [hello]\n");
    }

    @Test
    void aMissingJarOrJavaIsOneMessageAndExit2() throws Exception {
        Path lonely = Files.createDirectories(dir.resolve("lonely"));
        Path script = Files.copy(SCRIPT, lonely.resolve("sgbackup"), StandardCopyOption.REPLACE_EXISTING);
        Run noJar = run(script, Map.of(), "list");
        assertThat(noJar.exit()).isEqualTo(2);
        assertThat(noJar.out()).isEmpty();
        assertThat(noJar.err()).contains("cannot find sgbackup.jar").contains("SGBACKUP_JAR").hasLineCount(1);

        Run noJava = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "JAVA_HOME", dir.resolve("no-such-jdk").toString()), "list");
        assertThat(noJava.exit()).isEqualTo(2);
        assertThat(noJava.out()).isEmpty();
        assertThat(noJava.err()).contains("cannot run " + dir.resolve("no-such-jdk")).contains("JAVA_HOME").hasLineCount(1);
    }

    /** The class-data sharing flags a run of the probe was given, e.g. "-XX:SharedArchiveFile=/…/classes-1-2.jsa". */
    private static List<String> sharing(Run r) {
        return r.out().lines().filter(l -> l.startsWith("jvm ")).map(l -> l.substring(4)).toList();
    }

    private static List<String> files(Path cache) throws IOException {
        if (!Files.isDirectory(cache)) {
            return List.of();
        }
        try (var s = Files.list(cache)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theFirstHeavyRunArchivesItsClassesAndTheNextOneMapsThem() throws Exception {
        Path cache = dir.resolve("cds-home");
        Map<String, String> env = Map.of("SGBACKUP_JAR", jar.toString(), "XDG_CACHE_HOME", cache.toString());
        Run light = run(SCRIPT, env, "list");
        assertThat(light.exit()).isZero();
        assertThat(sharing(light)).isEmpty();
        assertThat(files(cache.resolve("sgbackup"))).isEmpty();

        Run first = run(SCRIPT, env, "backup");
        assertThat(first.exit()).isZero();
        assertThat(first.err()).isEqualTo("probe stderr\n");
        assertThat(sharing(first)).hasSize(1);
        assertThat(sharing(first).get(0)).matches("-XX:ArchiveClassesAtExit=" + java.util.regex.Pattern.quote(cache.resolve("sgbackup").toString())
                + "/classes-\\d+-\\d+\\.jsa\\.tmp\\.\\d+");
        String written = sharing(first).get(0).replaceAll(".*/", "");
        assertThat(files(cache.resolve("sgbackup"))).containsExactly(written); // written by the JVM at exit
        assertThat(Files.getPosixFilePermissions(cache.resolve("sgbackup"))).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);

        String archive = written.replaceAll("\\.tmp\\.\\d+$", "");
        for (String command : List.of("restore", "list")) {
            Run next = run(SCRIPT, env, command);
            assertThat(next.exit()).isZero();
            assertThat(next.err()).isEqualTo("probe stderr\n");
            assertThat(next.out()).startsWith("arg [" + command + "]\n").doesNotContain("warning");
            assertThat(sharing(next)).containsExactly("-XX:SharedArchiveFile=" + cache.resolve("sgbackup").resolve(archive));
            assertThat(files(cache.resolve("sgbackup"))).containsExactly(archive);
        }
    }

    @Test
    void anArchiveCutShortByAKillIsDeletedNeverMapped() throws Exception {
        Path cache = dir.resolve("cds-killed");
        Map<String, String> env = Map.of("SGBACKUP_JAR", jar.toString(), "XDG_CACHE_HOME", cache.toString());
        Run first = run(SCRIPT, env, "verify");
        Path written = Path.of(sharing(first).get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        // what a kill during the JVM's dump at exit leaves: the first part of the file (mapping it crashes a JVM)
        byte[] whole = Files.readAllBytes(written);
        Files.delete(written);
        Files.write(written, java.util.Arrays.copyOf(whole, whole.length / 2));
        // and an archive of the same jar path for an earlier jar: deleted when this jar's archive is written
        String base = written.getFileName().toString().replaceAll("-\\d+\\.jsa\\.tmp\\.\\d+$", "");
        Path earlier = Files.write(written.resolveSibling(base + "-1.jsa"), new byte[] {1, 2, 3});

        Run next = run(SCRIPT, env, "backup", "exit=0");
        assertThat(next.exit()).isZero();
        assertThat(next.err()).isEqualTo("probe stderr\n");
        assertThat(sharing(next)).hasSize(1).first().asString().startsWith("-XX:ArchiveClassesAtExit=");
        assertThat(written).doesNotExist();
        assertThat(earlier).doesNotExist();
        String rewritten = Path.of(sharing(next).get(0).substring("-XX:ArchiveClassesAtExit=".length())).getFileName().toString();
        assertThat(files(cache.resolve("sgbackup"))).containsExactly(rewritten);
        // the JVM that checked the cut-short archive crashed: its report is neither in the user's directory nor kept
        assertThat(files(dir.resolve("cwd"))).isEmpty();

        Run third = run(SCRIPT, env, "restore");
        assertThat(third.exit()).isZero();
        assertThat(sharing(third).get(0)).startsWith("-XX:SharedArchiveFile=");
        assertThat(files(cache.resolve("sgbackup"))).containsExactly(rewritten.replaceAll("\\.tmp\\.\\d+$", ""));
    }

    @Test
    void sharingIsOffOnRequestOrWithoutACacheDirectory() throws Exception {
        Path cache = dir.resolve("cds-off");
        Run off = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "XDG_CACHE_HOME", cache.toString(), "SGBACKUP_CDS", "off"), "backup");
        assertThat(off.exit()).isZero();
        assertThat(sharing(off)).isEmpty();
        assertThat(cache).doesNotExist();

        Run own = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "XDG_CACHE_HOME", cache.toString(), "SGBACKUP_JAVA_OPTS", "-Xshare:off"), "backup");
        assertThat(own.exit()).isZero();
        assertThat(sharing(own)).isEmpty();

        // no XDG_CACHE_HOME and no HOME: nowhere to keep an archive, and the run goes on without one
        Path unwritable = Files.createDirectories(dir.resolve("read-only"));
        unwritable.toFile().setWritable(false);
        Run nowhere = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "XDG_CACHE_HOME", unwritable.resolve("cache").toString()), "backup");
        assertThat(nowhere.exit()).isZero();
        assertThat(nowhere.err()).isEqualTo("probe stderr\n");
        if (!"root".equals(System.getProperty("user.name"))) { // root writes anywhere
            assertThat(sharing(nowhere)).isEmpty();
        }
    }
}
