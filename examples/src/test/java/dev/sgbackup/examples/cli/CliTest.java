package dev.sgbackup.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    @TempDir
    Path tmp;
    Path src;
    String sink;

    record Run(int code, String out, String err) {
        List<String> lines() {
            return out.isEmpty() ? List.of() : List.of(out.split("\n"));
        }

        String last() {
            List<String> l = lines();
            return l.get(l.size() - 1);
        }
    }

    /** Flips one bit in the middle of the first artifact file in {@code storeDir} (a local sink's store folder). */
    static void damageFirstArtifact(Path storeDir) throws java.io.IOException {
        Path artifact;
        try (var s = Files.list(storeDir)) {
            artifact = s.findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(artifact);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(artifact, bytes);
    }

    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false)
                .run(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeEach
    void sample() throws Exception {
        src = tmp.resolve("src");
        Files.createDirectories(src.resolve("a/b"));
        Files.writeString(src.resolve("a/b/file.txt"), "hello\n".repeat(1000));
        Files.writeString(src.resolve("naïve.txt"), "x");
        Files.createSymbolicLink(src.resolve("link"), Path.of("a/b/file.txt"));
        sink = tmp.resolve("sink").toUri().toString();
    }

    @Test
    void backupListShowVerifyRestoreDelete() throws Exception {
        Run b = cli("backup", "--volume", "repos=" + src, "--to", sink);
        assertThat(b.code()).as(b.err()).isZero();
        String id = b.last();
        assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");

        Run list = cli("list", "--from", sink);
        assertThat(list.code()).isZero();
        assertThat(list.lines()).singleElement().asString()
                .matches(id + " \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\d+ repos");
        assertThat(cli("list", "--from", sink, "--json").out()).contains("\"id\" : \"" + id + "\"");

        Run show = cli("show", "--from", sink, "--backup", id);
        assertThat(show.out()).contains("store repos (volume)").contains("sha256");
        assertThat(cli("show", "--from", sink, "--backup", id, "--json").out()).contains("\"storedSha256\"");

        Run verify = cli("verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).isZero();
        assertThat(verify.out()).startsWith("ok " + id);

        Path target = tmp.resolve("restored");
        Run restore = cli("restore", "--from", sink, "--backup", id, "--volume", "repos=" + target);
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(Files.readString(target.resolve("a/b/file.txt"))).isEqualTo("hello\n".repeat(1000));
        assertThat(Files.readSymbolicLink(target.resolve("link"))).isEqualTo(Path.of("a/b/file.txt"));
        assertThat(target.resolve("naïve.txt")).exists();

        // refused by a check (the target is not empty): exit 3, one line, nothing changed
        Run again = cli("restore", "--from", sink, "--backup", id, "--volume", "repos=" + target);
        assertThat(again.code()).isEqualTo(3);
        assertThat(again.err().lines().filter(l -> l.startsWith("refused: ")).toList()).singleElement().asString()
                .startsWith("refused: repos: ").contains("--replace");
        assertThat(again.err()).doesNotContain("\tat ").doesNotContain("error: ");
        assertThat(again.out()).isEmpty();
        assertThat(cli("restore", "--from", sink, "--backup", id, "--volume", "repos=" + target, "--replace").code()).isZero();

        Run del = cli("delete", "--from", sink, "--backup", id);
        assertThat(del.code()).isZero();
        assertThat(cli("list", "--from", sink).out()).isEmpty();
        assertThat(cli("verify", "--from", sink, "--backup", id).code()).isEqualTo(1);
    }

    @Test
    void verifyNamesTheDamagedArtifactAndExitsOne() throws Exception {
        String id = cli("backup", "--volume", "repos=" + src, "--volume", "more=" + src.resolve("a"), "--to", sink, "--compression", "gzip:1")
                .last();
        Path data = tmp.resolve("sink/data/" + id + "/more");
        damageFirstArtifact(data);
        Run v = cli("verify", "--from", sink, "--backup", id);
        assertThat(v.code()).isEqualTo(1);
        assertThat(v.out()).contains("bad ").contains("more/tar").doesNotContain("repos/tar");
        assertThat(v.err()).contains("damaged");
        // a full backup is read whole at every level: the dedup flags are accepted and change nothing
        for (String level : List.of("--read-data", "--read-data-subset=10%", "--read-data-subset=1/3")) {
            Run l = cli("verify", "--from", sink, "--backup", id, level);
            assertThat(l.code()).as(level).isEqualTo(1);
            assertThat(l.out()).as(level).isEqualTo(v.out());
        }

        Path target = tmp.resolve("r");
        Run r = cli("restore", "--from", sink, "--backup", id, "--volume", "more=" + target);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("damaged");
        assertThat(r.err()).contains("skipped: store repos");
        assertThat(target).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(cli().code()).isEqualTo(2);
        assertThat(cli("frobnicate").code()).isEqualTo(2);
        assertThat(cli("backup", "--volume", "repos=" + src).err()).contains("needs --to");
        assertThat(cli("backup", "--volume", "repos=" + src, "--to", sink, "--bogus", "x").code()).isEqualTo(2);
        assertThat(cli("backup", "--volume", "repos", "--to", sink).code()).isEqualTo(2);
        assertThat(cli("backup", "--volume", "repos=" + src, "--to", sink, "--compression", "lz4").code()).isEqualTo(2);
        assertThat(cli("backup", "--to", sink).code()).isEqualTo(2);

        String id = cli("backup", "--volume", "repos=" + src, "--to", sink).last();
        Run wrong = cli("restore", "--from", sink, "--backup", id, "--volume", "nope=" + tmp.resolve("x"));
        assertThat(wrong.code()).isEqualTo(2);
        assertThat(wrong.err()).contains("has no store 'nope'").contains("it has: repos");
        assertThat(tmp.resolve("x")).doesNotExist();
    }

    @Test
    void planPrintsATableAndWritesNothing() {
        Run p = cli("plan", "--volume", "repos=" + src, "--to", sink);
        assertThat(p.code()).isZero();
        assertThat(p.out()).contains("repos").contains("volume").contains("zstd:3");
        assertThat(tmp.resolve("sink")).doesNotExist();
    }

    @Test
    void unknownSchemeAndMissingBackupAreOneLineErrors() {
        Run r = cli("list", "--from", "ftp://host/x");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no sink for scheme 'ftp'").contains("known:");
        Run m = cli("show", "--from", sink, "--backup", "20200101T000000Z-abcdef");
        assertThat(m.code()).isEqualTo(1);
        assertThat(m.err().strip().lines()).hasSize(1);
        assertThat(m.err()).contains("no backup 20200101T000000Z-abcdef");
    }
}
