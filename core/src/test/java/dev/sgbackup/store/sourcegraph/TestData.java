package dev.sgbackup.store.sourcegraph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Sourcegraph reference data vendored into the test resources (read-only). */
final class TestData {
    static final Path DIR = locate();

    /** The vendored copy in this module's test resources (see its README for each file's source). */
    private static Path locate() {
        var url = TestData.class.getResource("/sourcegraph-data/README.md");
        if (url == null) {
            throw new IllegalStateException("test resource /sourcegraph-data is missing from the test class path");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
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
