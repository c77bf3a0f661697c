package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliEncryptionTest {
    static final String SECRET = "glpat-T0pS3cretCodeHostToken-xyzzy";

    @TempDir
    Path tmp;

    static CliTest.Run cli(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main main = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false);
        main.env = env::get;
        int code = main.run(args);
        return new CliTest.Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The CLI on a terminal whose user types {@code typed} at every passphrase prompt; prompts are recorded. */
    static CliTest.Run onTerminal(List<String> prompts, String typed, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main main = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), true);
        main.env = k -> null;
        main.passwordReader = prompt -> {
            prompts.add(prompt);
            return typed == null ? null : typed.toCharArray();
        };
        int code = main.run(args);
        return new CliTest.Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void onATerminalReadingAnEncryptedBackupAsksForThePassphrase() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "content\n");
        String sink = tmp.resolve("sink").toUri().toString();
        List<String> asked = new java.util.ArrayList<>();
        CliTest.Run b = onTerminal(asked, "correct horse battery staple", "backup", "--volume", "v=" + src, "--to", sink, "--encrypt");
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(asked).containsExactly("passphrase for the new backup: ", "repeat the passphrase: ");
        String id = b.last();

        List<String> prompts = new java.util.ArrayList<>();
        CliTest.Run show = onTerminal(prompts, "correct horse battery staple", "show", "--from", sink, "--backup", id);
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains(id);
        assertThat(prompts).containsExactly("passphrase for backup " + id + ": ");

        Path target = tmp.resolve("target");
        CliTest.Run wrong = onTerminal(new java.util.ArrayList<>(), "correct horse battery stapler", "restore", "--from", sink,
                "--backup", id, "--volume", "v=" + target);
        assertThat(wrong.code()).isEqualTo(1);
        assertThat(wrong.err()).contains("wrong passphrase for backup " + id);
        assertThat(Files.exists(target)).as("nothing written").isFalse();

        CliTest.Run noAnswer = onTerminal(new java.util.ArrayList<>(), null, "verify", "--from", sink, "--backup", id);
        assertThat(noAnswer.code()).isEqualTo(1);
        assertThat(noAnswer.err()).contains("is encrypted; set SGBACKUP_PASSPHRASE");

        CliTest.Run restore = onTerminal(new java.util.ArrayList<>(), "correct horse battery staple", "restore", "--from", sink,
                "--backup", id, "--volume", "v=" + target);
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("content\n");

        // an unencrypted backup is read without a question
        String plainSink = tmp.resolve("plain").toUri().toString();
        String plainId = cli(Map.of(), "backup", "--volume", "v=" + src, "--to", plainSink).last();
        List<String> none = new java.util.ArrayList<>();
        assertThat(onTerminal(none, "x", "verify", "--from", plainSink, "--backup", plainId).code()).isZero();
        assertThat(none).isEmpty();
    }

    @Test
    void encryptedBackupHidesTheSecretAndNeedsThePassphraseToRestore() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("site-config.json"), "{\"token\": \"" + SECRET + "\"}\n".repeat(100));
        Path sinkDir = tmp.resolve("sink");
        String sink = sinkDir.toUri().toString();
        Map<String, String> env = Map.of(Main.PASSPHRASE_ENV, "correct horse battery staple");

        CliTest.Run noPass = cli(Map.of(), "backup", "--volume", "config=" + src, "--to", sink, "--encrypt");
        assertThat(noPass.code()).isEqualTo(2);
        assertThat(noPass.err()).contains("--encrypt needs a passphrase: set SGBACKUP_PASSPHRASE");

        CliTest.Run b = cli(env, "backup", "--volume", "config=" + src, "--to", sink, "--encrypt", "--compression", "none");
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.last();

        // grep every stored byte: no secret, no file name, no store name
        try (Stream<Path> files = Files.walk(sinkDir)) {
            List<Path> all = files.filter(Files::isRegularFile).toList();
            assertThat(all).hasSizeGreaterThanOrEqualTo(2);
            for (Path f : all) {
                String bytes = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                assertThat(bytes).as(f.toString()).doesNotContain(SECRET).doesNotContain("glpat-").doesNotContain("site-config");
                assertThat(sinkDir.relativize(f).toString()).doesNotContain("config");
            }
        }

        CliTest.Run list = cli(Map.of(), "list", "--from", sink);
        assertThat(list.lines()).singleElement().asString().matches(id + " \\S+Z [1-9]\\d* \\(encrypted\\)");

        CliTest.Run show = cli(Map.of(), "show", "--from", sink, "--backup", id);
        assertThat(show.code()).isEqualTo(1);
        assertThat(show.err()).contains("backup " + id + " is encrypted; set SGBACKUP_PASSPHRASE");

        Path target = tmp.resolve("target");
        CliTest.Run wrong = cli(Map.of(Main.PASSPHRASE_ENV, "correct horse battery stapler"), "restore", "--from", sink, "--backup", id,
                "--volume", "config=" + target);
        assertThat(wrong.code()).isEqualTo(1);
        assertThat(wrong.err()).contains("wrong passphrase for backup " + id);
        assertThat(Files.exists(target)).as("nothing written").isFalse();

        CliTest.Run verify = cli(env, "verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).as(verify.err()).isZero();
        CliTest.Run restore = cli(env, "restore", "--from", sink, "--backup", id, "--volume", "config=" + target);
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(Files.readString(target.resolve("site-config.json"))).isEqualTo(Files.readString(src.resolve("site-config.json")));
    }
}
