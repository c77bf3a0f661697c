package dev.sgbackup.store.sourcegraph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared Sourcegraph reference data (read-only). */
final class TestData {
    static final Path DIR = locate();

    private static Path locate() {
        String prop = System.getProperty("sourcegraph.data");
        if (prop != null) {
            return Path.of(prop);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            for (Path c : new Path[] {p.resolve("shared/sourcegraph-data"), p.resolve("../shared/sourcegraph-data")}) {
                if (Files.isDirectory(c)) {
                    return c.normalize();
                }
            }
        }
        return Path.of("/work/shared/sourcegraph-data");
    }

    static String read(String relative) {
        try {
            return Files.readString(DIR.resolve(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String fixture(String name) {
        return read("fixtures/" + name);
    }

    private TestData() {
    }
}
