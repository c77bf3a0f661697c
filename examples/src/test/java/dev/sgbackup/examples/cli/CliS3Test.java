package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.examples.bench.LocalS3Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference CLI backs up, verifies and restores through a real S3 server (S3Proxy), finding the S3 sink by
 * its URI scheme and its credentials and endpoint in the environment, as an operator would run it.
 */
class CliS3Test {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    Run cli(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
        pb.environment().putAll(env);
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8).strip(),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void backupVerifyRestoreThroughARealS3Server() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("a"));
        byte[] big = new byte[12 * 1024 * 1024 + 3]; // more than one 8 MiB part before compression
        new java.util.Random(5).nextBytes(big);
        Files.write(src.resolve("a/big.bin"), big);
        Files.writeString(src.resolve("a/small.txt"), "hello s3\n");
        try (LocalS3Proxy s3 = LocalS3Proxy.start(Path.of(System.getProperty("s3proxy.jar")), tmp.resolve("s3"))) {
            s3.createBucket("backups");
            Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", LocalS3Proxy.ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY", LocalS3Proxy.SECRET_KEY, "AWS_ENDPOINT_URL_S3", s3.endpoint(),
                    "AWS_REGION", "us-east-1", "AWS_EC2_METADATA_DISABLED", "true");
            String sink = "s3://backups/sourcegraph/prod";

            Run b = cli(env, "backup", "--volume", "repos=" + src, "--to", sink);
            assertThat(b.code()).as(b.err()).isZero();
            String id = b.out().lines().reduce((x, y) -> y).orElseThrow();

            Run list = cli(env, "list", "--from", sink);
            assertThat(list.out()).startsWith(id);
            Run verify = cli(env, "verify", "--from", sink, "--backup", id);
            assertThat(verify.code()).as(verify.err()).isZero();
            assertThat(verify.out()).startsWith("ok " + id);

            Path target = tmp.resolve("restored");
            Run restore = cli(env, "restore", "--from", sink, "--backup", id, "--volume", "repos=" + target);
            assertThat(restore.code()).as(restore.err()).isZero();
            assertThat(Files.readAllBytes(target.resolve("a/big.bin"))).isEqualTo(big);
            assertThat(Files.readString(target.resolve("a/small.txt"))).isEqualTo("hello s3\n");

            Map<String, String> wrong = new java.util.HashMap<>(env);
            wrong.put("AWS_SECRET_ACCESS_KEY", "wrong-secret-value");
            Run denied = cli(wrong, "list", "--from", sink);
            assertThat(denied.code()).isEqualTo(1);
            assertThat(denied.err()).contains("SignatureDoesNotMatch").contains("Fix:")
                    .doesNotContain("wrong-secret-value").doesNotContain("\tat ");
        }
    }
}
