package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.gcs.FakeGcs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference CLI backs up to, verifies and restores from {@code gs://} through the GCS fake, found the way
 * Google's own clients find an emulator: {@code STORAGE_EMULATOR_HOST} in the environment (so the CLI runs as
 * a child process).
 */
class GcsCliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
        String last() {
            String[] l = out.strip().split("\n");
            return l[l.length - 1];
        }
    }

    static Run cli(String emulatorHost, String... args) throws IOException, InterruptedException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dfile.encoding=UTF-8", "-Dsun.jnu.encoding=UTF-8", "-cp", cp, Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("STORAGE_EMULATOR_HOST", emulatorHost);
        pb.environment().put("LANG", "C.UTF-8");
        pb.environment().put("LC_ALL", "C.UTF-8");
        pb.environment().remove("GOOGLE_APPLICATION_CREDENTIALS");
        Path out = Files.createTempFile("cli", ".out");
        Path err = Files.createTempFile("cli", ".err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the CLI did not finish in 120 s: " + String.join(" ", args));
        }
        Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    @Test
    void backupVerifyRestoreThroughStorageEmulatorHost() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/a"));
        Files.writeString(src.resolve("small.txt"), "hello\n".repeat(100));
        byte[] big = new byte[10 * 1024 * 1024 + 3]; // incompressible: more than one 8 MiB chunk
        new Random(5).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        try (FakeGcs fake = new FakeGcs(Files.createDirectories(tmp.resolve("fake"))).bucket("backups")) {
            fake.shortPersistEvery = 1;
            fake.fail(FakeGcs.Kind.CHUNK, 1, 503);
            String uri = "gs://backups/sourcegraph/prod";

            Run b = cli(fake.hostPort(), "backup", "--volume", "repos=" + tmp.resolve("src"), "--to", uri);
            assertThat(b.code()).as(b.err()).isZero();
            String id = b.last();
            assertThat(fake.count(FakeGcs.Kind.START)).as("the volume went through a resumable session").isGreaterThanOrEqualTo(1);

            Run list = cli(fake.hostPort(), "list", "--from", uri);
            assertThat(list.code()).as(list.err()).isZero();
            assertThat(list.out()).contains(id);

            Run verify = cli(fake.hostPort(), "verify", "--from", uri, "--backup", id);
            assertThat(verify.code()).as(verify.err() + verify.out()).isZero();

            Path dst = tmp.resolve("dst");
            Run restore = cli(fake.hostPort(), "restore", "--from", uri, "--backup", id, "--volume", "repos=" + dst);
            assertThat(restore.code()).as(restore.err()).isZero();
            assertThat(Files.readAllBytes(dst.resolve("a/big.bin"))).isEqualTo(big);
            assertThat(Files.readString(dst.resolve("a/small.txt"))).isEqualTo("hello\n".repeat(100));

            Run missing = cli(fake.hostPort(), "list", "--from", "gs://no-such-bucket/x");
            assertThat(missing.code()).isEqualTo(1);
            assertThat(missing.err()).contains("no-such-bucket").contains("does not exist");
        }
    }
}
