package dev.sgbackup.examples;

import dev.sgbackup.SgBackup;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.Stores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Backs up a sample directory to a local sink, verifies the backup, restores it into a new directory and
 * checks the copy is identical. Needs nothing but a JVM:
 * {@code java -cp examples/target/sgbackup.jar dev.sgbackup.examples.Quickstart /tmp/sgbackup-quickstart}
 */
public final class Quickstart {
    private Quickstart() {
    }

    public static void main(String[] args) throws IOException {
        Path work = args.length > 0 ? Path.of(args[0]).toAbsolutePath() : Files.createTempDirectory("sgbackup-quickstart");
        deleteTree(work);
        Path sample = work.resolve("gitserver-repos");
        writeSample(sample);

        SgBackup sg = SgBackup.to(Sinks.local(work.resolve("backups")));
        RunResult backup = sg.backup(Stores.directory("repos", sample));
        System.out.print(backup);
        System.out.println(sg.verify(backup.backupId()).throwIfFailed());
        System.out.println(sg.list());

        Path restored = work.resolve("restored");
        RunResult restore = sg.restore(backup.backupId(), RestoreOptions.defaults(), Stores.directory("repos", restored));
        System.out.print(restore);
        List<String> diff = compare(sample, restored);
        if (!diff.isEmpty()) {
            throw new IllegalStateException("restored tree differs: " + diff);
        }
        System.out.println("quickstart ok: " + sample + " backed up to " + work.resolve("backups") + " and restored to " + restored);
    }

    static void writeSample(Path root) throws IOException {
        Path repo = root.resolve("github.com/sourcegraph/sample/.git");
        Files.createDirectories(repo.resolve("objects/pack"));
        Files.createDirectories(repo.resolve("refs/tags")); // empty directory
        Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/main\n");
        Files.writeString(repo.resolve("config"), "[core]\n\trepositoryformatversion = 0\n\tbare = true\n");
        StringBuilder src = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            src.append("func handler").append(i).append("(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }\n");
        }
        Files.writeString(repo.resolve("objects/pack/pack-1.pack"), src, StandardCharsets.UTF_8);
        Files.writeString(root.resolve("github.com/sourcegraph/sample/README-ünïcødé.md"), "# sample\n");
        Files.createSymbolicLink(root.resolve("latest"), Path.of("github.com/sourcegraph/sample"));
    }

    static List<String> compare(Path a, Path b) throws IOException {
        try (Stream<Path> s = Files.walk(a)) {
            return s.filter(p -> {
                Path q = b.resolve(a.relativize(p).toString());
                try {
                    if (Files.isSymbolicLink(p)) {
                        return !Files.isSymbolicLink(q) || !Files.readSymbolicLink(p).equals(Files.readSymbolicLink(q));
                    }
                    if (Files.isDirectory(p)) {
                        return !Files.isDirectory(q);
                    }
                    return !Files.exists(q) || Files.mismatch(p, q) != -1;
                } catch (IOException e) {
                    return true;
                }
            }).map(p -> a.relativize(p).toString()).toList();
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
