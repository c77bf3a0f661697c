package dev.sgbackup.examples.cli;

import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code backup --dedup} from the CLI, and reading dedup backups with the ordinary commands. */
class CliDedupTest {
    @TempDir
    Path tmp;

    @Test
    void backupDedupTwiceShowsChunkFiguresRestoresVerifiesAndDeletes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] big = new byte[6 << 20];
        new Random(1).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("a.txt"), "content\n");
        String sink = tmp.resolve("sink").toUri().toString();

        CliTest.Run first = cli("backup", "--volume", "v=" + src, "--to", sink, "--dedup");
        assertThat(first.code()).as(first.err()).isZero();
        Files.writeString(src.resolve("a.txt"), "more\n", StandardOpenOption.APPEND);
        CliTest.Run second = cli("backup", "--volume", "v=" + src, "--to", sink, "--dedup");
        assertThat(second.code()).as(second.err()).isZero();
        String id = second.last();

        CliTest.Run show = cli("show", "--from", sink, "--backup", id, "--json");
        assertThat(show.code()).as(show.err()).isZero();
        JsonNode art = new ObjectMapper().readTree(show.out()).path("stores").get(0).path("artifacts").get(0);
        assertThat(art.path("chunks").asLong()).isPositive();
        assertThat(art.path("reusedBytes").asLong()).isPositive();
        assertThat(art.path("newBytes").asLong()).isLessThan(art.path("size").asLong() / 2);
        // reused: big.bin's chunks; new: a.txt's chunk and the content table's (the tar headers are in the table)
        assertThat(art.path("reusedBytes").asLong()).isGreaterThanOrEqualTo(big.length);
        assertThat(art.path("newBytes").asLong()).isLessThan(64 * 1024);

        assertThat(cli("show", "--from", sink, "--backup", id).out()).containsPattern("dedup: \\d+ chunks, \\d+ bytes new, \\d+ bytes reused");

        CliTest.Run verify = cli("verify", "--from", sink, "--backup", id);
        assertThat(verify.code()).as(verify.err() + verify.out()).isZero();
        Path target = tmp.resolve("target");
        CliTest.Run restore = cli("restore", "--from", sink, "--backup", id, "--volume", "v=" + target);
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("content\nmore\n");
        assertThat(Files.readAllBytes(target.resolve("big.bin"))).isEqualTo(big);

        // damaged packs (the first byte of the first blob of each, a content chunk: chunks are packed in the order they
        // come and the content tables' come last): verify exits 1 naming the pack and chunk
        java.util.List<Path> packs;
        try (Stream<Path> s = Files.walk(tmp.resolve("sink/dedup/packs"))) {
            packs = s.filter(Files::isRegularFile).toList();
        }
        for (Path pack : packs) {
            byte[] bytes = Files.readAllBytes(pack);
            bytes[0] ^= 1;
            Files.write(pack, bytes);
        }
        CliTest.Run structure = cli("verify", "--from", sink, "--backup", id);
        assertThat(structure.code()).as("the default checks structure and reads no chunk: " + structure.err()).isZero();
        assertThat(structure.out()).containsPattern("^ok " + id + " 1 artifacts 0 bytes \\(dedup: structure of \\d+ chunks in "
                + packs.size() + " packs; 0 of " + packs.size() + " packs read \\(structure\\)\\)");
        for (String[] level : java.util.List.of(new String[] {"--read-data"}, new String[] {"--read-data-subset", "10%"},
                new String[] {"--read-data-subset", "1/1"})) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("verify", "--from", sink, "--backup", id));
            args.addAll(java.util.List.of(level));
            CliTest.Run bad = cli(args.toArray(String[]::new));
            assertThat(bad.code()).as(String.join(" ", level)).isEqualTo(1);
            // one line per problem, each naming a pack and a chunk: a damaged chunk this backup uses ("chunk C in pack P"),
            // or a pack whose damage lies in a chunk only the first backup uses (its hash fails, its chunk C is intact)
            assertThat(bad.out().lines().toList()).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("bad v/")
                    .containsPattern("pack [0-9a-f]{64}").containsPattern("chunk [0-9a-f]{64}"));
            assertThat(bad.out()).containsAnyOf(packs.stream().map(p -> "pack " + p.getFileName()).toArray(String[]::new));
            assertThat(bad.err()).contains("error: backup " + id + " is damaged: 1 of 1 artifacts failed verification");
        }
        CliTest.Run both = cli("verify", "--from", sink, "--backup", id, "--read-data", "--read-data-subset", "10%");
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("not both");
        CliTest.Run badSpec = cli("verify", "--from", sink, "--backup", id, "--read-data-subset", "110%");
        assertThat(badSpec.code()).isEqualTo(2);
        assertThat(badSpec.err()).contains("1% to 100%");

        CliTest.Run delete = cli("delete", "--from", sink, "--backup", first.last());
        assertThat(delete.code()).as(delete.err()).isZero();
        assertThat(delete.out()).contains("deleted " + first.last()).containsPattern("\nfreed [1-9][0-9]* bytes")
                .contains("packs: 0 bytes freed");
        assertThat(cli("list", "--from", sink).out()).contains(id).doesNotContain(first.last());
    }
}
