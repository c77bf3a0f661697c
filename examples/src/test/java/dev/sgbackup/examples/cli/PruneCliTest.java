package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sgbackup prune} in process, on a local sink. */
class PruneCliTest {
    @TempDir
    Path tmp;
    Path src;
    Path sinkDir;
    String sink;

    @BeforeEach
    void sample() throws Exception {
        src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.writeString(src.resolve("file.txt"), "hello\n".repeat(100));
        sinkDir = tmp.resolve("sink");
        sink = sinkDir.toUri().toString();
    }

    /** Three backups, newest first. */
    private List<String> threeBackups() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Files.writeString(src.resolve("n.txt"), "v" + i);
            CliTest.Run b = cli("backup", "--volume", "repos=" + src, "--to", sink);
            assertThat(b.code()).as(b.err()).isZero();
            ids.add(0, b.lines().get(b.lines().size() - 1));
            Thread.sleep(1100); // ids are to the second
        }
        return ids;
    }

    private List<String> listed() {
        return cli("list", "--from", sink).lines().stream().map(l -> l.split(" ")[0]).toList();
    }

    @Test
    void dryRunThenPrune() throws Exception {
        List<String> ids = threeBackups();
        // a failed backup from three days ago left data without a manifest
        String oldId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)
                .format(Instant.now().minus(Duration.ofDays(3))) + "-0abcde";
        String oldKey = "data/" + oldId + "/repos/000000-tar.zst";
        Path old = sinkDir.resolve(oldKey);
        Files.createDirectories(old.getParent());
        Files.writeString(old, "partial");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(3))));

        CliTest.Run dry = cli("prune", "--from", sink, "--keep-last", "1", "--dry-run");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(dry.lines()).containsExactly(
                "keep " + ids.get(0) + " last:1",
                "would delete " + ids.get(1),
                "would delete " + ids.get(2),
                "would remove " + oldKey);
        assertThat(dry.err()).contains("dry run").contains("2 would be deleted");
        assertThat(listed()).containsExactlyElementsOf(ids);
        assertThat(old).exists();

        CliTest.Run real = cli("prune", "--from", sink, "--keep-last", "1");
        assertThat(real.code()).as(real.err()).isZero();
        assertThat(real.lines()).containsExactly(
                "keep " + ids.get(0) + " last:1",
                "delete " + ids.get(1),
                "delete " + ids.get(2),
                "removed " + oldKey);
        assertThat(listed()).containsExactly(ids.get(0));
        assertThat(sinkDir.resolve("data/" + ids.get(1))).doesNotExist();
        assertThat(sinkDir.resolve("data/" + ids.get(2))).doesNotExist();
        assertThat(old).doesNotExist();
        assertThat(cli("verify", "--from", sink, "--backup", ids.get(0)).code()).isZero();
    }

    @Test
    void rulesCombineAndYoungLeftoversStay() throws Exception {
        List<String> ids = threeBackups();
        String youngId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now()) + "-0abcde";
        Path young = sinkDir.resolve("data/" + youngId + "/repos/000000-tar.zst");
        Files.createDirectories(young.getParent());
        Files.writeString(young, "a backup still running");

        // all three were made today: keep-daily keeps the newest, keep-within keeps all three; the default 24h grace
        // spares the young data without a manifest (it may be a backup still running)
        CliTest.Run r = cli("prune", "--from", sink, "--keep-daily", "1", "--keep-within", "1h");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines()).containsExactly(
                "keep " + ids.get(0) + " daily:" + ids.get(0).substring(0, 4) + "-" + ids.get(0).substring(4, 6) + "-"
                        + ids.get(0).substring(6, 8) + ",within:1h",
                "keep " + ids.get(1) + " within:1h",
                "keep " + ids.get(2) + " within:1h");
        assertThat(listed()).containsExactlyElementsOf(ids);
        assertThat(young).exists();

        // keep-daily alone keeps one; --grace 0s removes every leftover, even one this young
        CliTest.Run d = cli("prune", "--from", sink, "--keep-daily", "1", "--grace", "0s");
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(d.lines()).containsExactly(
                r.lines().get(0).replace(",within:1h", ""),
                "delete " + ids.get(1),
                "delete " + ids.get(2),
                "removed data/" + youngId + "/repos/000000-tar.zst");
        assertThat(young).doesNotExist();
        assertThat(listed()).containsExactly(ids.get(0));
    }

    @Test
    void dedupPruneJsonDryRunThenRealCollectsWhatDeleteLeft() throws Exception {
        byte[] big = new byte[3 << 20];
        new java.util.Random(7).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        CliTest.Run first = cli("backup", "--volume", "repos=" + src, "--to", sink, "--dedup");
        assertThat(first.code()).as(first.err()).isZero();
        new java.util.Random(8).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        CliTest.Run second = cli("backup", "--volume", "repos=" + src, "--to", sink, "--dedup");
        assertThat(second.code()).as(second.err()).isZero();

        CliTest.Run delete = cli("delete", "--from", sink, "--backup", first.last());
        assertThat(delete.code()).as(delete.err()).isZero();
        assertThat(delete.out()).containsPattern("freed [1-9][0-9]* bytes").contains("packs: 0 bytes freed");

        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        CliTest.Run dry = cli("prune", "--from", sink, "--keep-last", "5", "--grace", "0s", "--dry-run", "--json");
        assertThat(dry.code()).as(dry.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode d = m.readTree(dry.out()); // stdout is one JSON object
        assertThat(d.path("operation").asText()).isEqualTo("prune");
        assertThat(d.path("dryRun").asBoolean()).isTrue();
        assertThat(d.path("ok").asBoolean()).isTrue();
        assertThat(d.path("kept").get(0).path("id").asText()).isEqualTo(second.last());
        assertThat(d.path("kept").get(0).path("reasons").get(0).asText()).isEqualTo("last:1"); // the newest backup, kept as "last" number 1
        assertThat(d.path("deleted")).isEmpty();
        // the first backup's one pack holds big.bin's old chunks (dead) and file.txt's chunk, which the kept backup
        // shares (files are chunked one by one): mostly garbage, so it is repacked around the live chunk
        assertThat(d.path("packsDeleted").asInt()).isZero();
        assertThat(d.path("packsRepacked").asInt()).isEqualTo(1);
        assertThat(d.path("bytesFreed").asLong()).isGreaterThan(3L << 20);
        assertThat(dry.err()).contains("would collect: 0 packs deleted, 1 packs repacked, " + d.path("bytesFreed").asLong() + " bytes freed");

        CliTest.Run real = cli("prune", "--from", sink, "--keep-last", "5", "--grace", "0s", "--json");
        assertThat(real.code()).as(real.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode r = m.readTree(real.out());
        assertThat(r.path("dryRun").asBoolean()).isFalse();
        assertThat(r.path("packsRepacked").asInt()).isEqualTo(1);
        assertThat(r.path("bytesFreed").asLong()).isEqualTo(d.path("bytesFreed").asLong());
        assertThat(real.err()).contains("collected: 0 packs deleted, 1 packs repacked");
        assertThat(cli("verify", "--from", sink, "--backup", second.last()).code()).isZero();
        Path target = tmp.resolve("target");
        assertThat(cli("restore", "--from", sink, "--backup", second.last(), "--volume", "repos=" + target).code()).isZero();
        assertThat(Files.readAllBytes(target.resolve("big.bin"))).isEqualTo(big);

        // a backup holding its lease: the prune refuses, saying who, and with --json stdout still is one object
        try (var lease = dev.sgbackup.sink.SinkLock.shared(dev.sgbackup.sink.Sinks.local(sinkDir), "backup elsewhere")) {
            CliTest.Run locked = cli("prune", "--from", sink, "--keep-last", "5", "--json");
            assertThat(locked.code()).isEqualTo(1);
            assertThat(locked.err()).contains("is locked by backup elsewhere (shared");
            com.fasterxml.jackson.databind.JsonNode l = m.readTree(locked.out());
            assertThat(l.path("ok").asBoolean()).isFalse();
            assertThat(l.path("error").asText()).contains("backup elsewhere");

            // with --retry-lock the prune waits, and goes on once the backup's lease ends
            java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                lease.close();
            });
            CliTest.Run waited = cli("prune", "--from", sink, "--keep-last", "5", "--retry-lock", "1m", "--json");
            assertThat(waited.code()).as(waited.err()).isZero();
            assertThat(m.readTree(waited.out()).path("ok").asBoolean()).isTrue();
            // (it started while the lease was held, which failed the prune above at once)
        }
        // a dedup backup meeting a prune's lease that does not end: it fails after the wait, saying how long it waited
        try (var prune = dev.sgbackup.sink.SinkLock.exclusive(dev.sgbackup.sink.Sinks.local(sinkDir), "prune elsewhere")) {
            CliTest.Run gaveUp = cli("backup", "--volume", "repos=" + src, "--to", sink, "--dedup", "--retry-lock", "2s");
            assertThat(gaveUp.code()).isEqualTo(1);
            assertThat(gaveUp.err()).contains("is locked by prune elsewhere (exclusive").contains("Waited 2s for it (--retry-lock");
        }
    }

    @Test
    void usageErrorsExitTwoAndDeleteNothing() throws Exception {
        Files.writeString(src.resolve("n.txt"), "x");
        String id = cli("backup", "--volume", "repos=" + src, "--to", sink).lines().get(1);

        CliTest.Run none = cli("prune", "--from", sink);
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("at least one keep rule").contains("every backup would be deleted").contains("prune   --from");
        assertThat(cli("prune", "--from", sink, "--dry-run").code()).isEqualTo(2);
        assertThat(cli("prune", "--from", sink, "--per-scope").code()).isEqualTo(2);

        CliTest.Run zero = cli("prune", "--from", sink, "--keep-last", "0");
        assertThat(zero.code()).isEqualTo(2);
        assertThat(zero.err()).contains("keep-last must be at least 1");
        CliTest.Run word = cli("prune", "--from", sink, "--keep-daily", "seven");
        assertThat(word.code()).isEqualTo(2);
        assertThat(word.err()).contains("--keep-daily takes a whole number").contains("'seven'");
        CliTest.Run within = cli("prune", "--from", sink, "--keep-within", "7");
        assertThat(within.code()).isEqualTo(2);
        assertThat(within.err()).contains("'7' is not a duration").contains("7d");
        CliTest.Run grace = cli("prune", "--from", sink, "--keep-last", "1", "--grace", "soon");
        assertThat(grace.code()).isEqualTo(2);
        assertThat(grace.err()).contains("--grace").contains("not a duration");
        CliTest.Run retry = cli("prune", "--from", sink, "--keep-last", "1", "--retry-lock", "a while");
        assertThat(retry.code()).isEqualTo(2);
        assertThat(retry.err()).contains("--retry-lock").contains("not a duration");
        CliTest.Run fullRetry = cli("backup", "--volume", "repos=" + src, "--to", sink, "--retry-lock", "5m");
        assertThat(fullRetry.code()).isEqualTo(2);
        assertThat(fullRetry.err()).contains("--retry-lock applies to deduplicated backups (--dedup)");
        assertThat(cli("prune", "--keep-last", "1").err()).contains("needs --from");
        assertThat(cli("prune", "--from", sink, "--keep-last", "1", "--keep-last", "2").code()).isEqualTo(2);
        assertThat(cli("prune", "--from", sink, "--keep-forever").code()).isEqualTo(2);

        assertThat(listed()).containsExactly(id);
    }
}
