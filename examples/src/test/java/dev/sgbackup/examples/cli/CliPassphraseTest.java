package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliEncryptionTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sgbackup passphrase change}: full and dedup backups re-wrapped; the old passphrase no longer opens them. */
class CliPassphraseTest {
    static final String OLD = "correct horse battery staple";
    static final String NEW = "tiger moon river gravel";

    @TempDir
    Path tmp;

    @Test
    void changeRewrapsEveryBackupAndTheOldPassphraseNoLongerOpensThem() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] big = new byte[2 << 20];
        new Random(1).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("a.txt"), "content\n");
        String sink = tmp.resolve("sink").toUri().toString();
        Map<String, String> old = Map.of("SGBACKUP_PASSPHRASE", OLD);
        Map<String, String> both = Map.of("SGBACKUP_PASSPHRASE", OLD, "SGBACKUP_NEW_PASSPHRASE", NEW);
        Map<String, String> neu = Map.of("SGBACKUP_PASSPHRASE", NEW);

        String full = cli(old, "backup", "--volume", "v=" + src, "--to", sink, "--encrypt").last();
        String dedup = cli(old, "backup", "--volume", "v=" + src, "--to", sink, "--encrypt", "--dedup").last();

        // the new passphrase only from the environment (or a terminal): never from a flag
        CliTest.Run missing = cli(old, "passphrase", "change", "--to", sink);
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("set SGBACKUP_NEW_PASSPHRASE");
        assertThat(cli(both, "passphrase", "change", "--to", sink, "--new-passphrase", NEW).code()).isEqualTo(2);
        assertThat(cli(both, "passphrase", "--to", sink).code()).isEqualTo(2);
        CliTest.Run same = cli(Map.of("SGBACKUP_PASSPHRASE", OLD, "SGBACKUP_NEW_PASSPHRASE", OLD), "passphrase", "change", "--to", sink);
        assertThat(same.code()).isEqualTo(2);
        assertThat(same.err()).contains("is the same as the current one");

        CliTest.Run change = cli(both, "passphrase", "change", "--to", sink);
        assertThat(change.code()).as(change.err()).isZero();
        assertThat(change.out().lines().toList()).contains("rewrapped " + full, "rewrapped " + dedup)
                .anySatisfy(l -> assertThat(l).startsWith("added key object dedup/keys/"))
                .anySatisfy(l -> assertThat(l).startsWith("deleted key object dedup/keys/"));
        assertThat(change.err()).contains("2 backups rewrapped").contains("no data was re-encrypted");

        for (String id : List.of(full, dedup)) {
            CliTest.Run verify = cli(neu, "verify", "--from", sink, "--backup", id, "--read-data");
            assertThat(verify.code()).as(verify.err()).isZero();
            CliTest.Run wrong = cli(old, "verify", "--from", sink, "--backup", id);
            assertThat(wrong.code()).isEqualTo(1);
            assertThat(wrong.err()).contains("wrong passphrase for backup " + id);
            Path target = tmp.resolve("restore-" + id);
            CliTest.Run restore = cli(neu, "restore", "--from", sink, "--backup", id, "--volume", "v=" + target);
            assertThat(restore.code()).as(restore.err()).isZero();
            assertThat(Files.readAllBytes(target.resolve("big.bin"))).isEqualTo(big);
        }
        CliTest.Run oldDedup = cli(old, "backup", "--volume", "v=" + src, "--to", sink, "--encrypt", "--dedup");
        assertThat(oldDedup.code()).isEqualTo(3);
        assertThat(oldDedup.err()).contains("wrong passphrase or key for the deduplicated repository");

        // a second run finds nothing to do
        CliTest.Run again = cli(both, "passphrase", "change", "--to", sink);
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out().lines().toList()).containsExactlyInAnyOrder("unchanged " + full + " (already the new passphrase)",
                "unchanged " + dedup + " (already the new passphrase)");
    }

    @Test
    void onATerminalBothPassphrasesAreAskedTheNewOneTwice() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "content\n");
        String sink = tmp.resolve("sink").toUri().toString();
        String id = cli(Map.of("SGBACKUP_PASSPHRASE", OLD), "backup", "--volume", "v=" + src, "--to", sink, "--encrypt").last();
        List<String> prompts = new ArrayList<>();
        // the same answer at every prompt: refused as "the same", after asking the current one once and the new one twice
        CliTest.Run run = CliEncryptionTest.onTerminal(prompts, OLD, "passphrase", "change", "--to", sink);
        assertThat(run.code()).isEqualTo(2);
        assertThat(prompts).containsExactly("current passphrase: ", "new passphrase: ", "repeat the new passphrase: ");
        assertThat(cli(Map.of("SGBACKUP_PASSPHRASE", OLD), "verify", "--from", sink, "--backup", id).code()).isZero();
    }
}
