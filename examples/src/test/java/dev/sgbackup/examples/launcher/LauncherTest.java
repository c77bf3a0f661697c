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
        pb.environment().remove("SGBACKUP_JAR");
        pb.environment().remove("SGBACKUP_JAVA_OPTS");
        // the Java running this test, as a user's JAVA_HOME would name one
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
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
    void runsTheSerialCollectorAndTakesMoreFlagsFromTheEnvironment() throws Exception {
        Run plain = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString()));
        assertThat(plain.exit()).isZero();
        assertThat(plain.out()).contains("gc Copy,MarkSweepCompact\n");

        Run opts = run(SCRIPT, Map.of("SGBACKUP_JAR", jar.toString(), "SGBACKUP_JAVA_OPTS", "-Xmx64m -XX:+UseG1GC"));
        assertThat(opts.exit()).isZero();
        assertThat(opts.out()).contains("gc G1 Young Generation,G1 Old Generation\n");
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
}
