package dev.sgbackup.arch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.SgBackup;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * core's module-info exports every package of the library except the engine rooms ({@link #NOT_EXPORTED}): a
 * package added (or moved) without an export would silently leave the API, an exported internal one would join it.
 */
class ModuleBoundaryTest {
    /** Engine rooms: {@code internal}, and {@code dedup} (the deduplicated storage layer, package-private, #14). */
    static final Set<String> NOT_EXPORTED = Set.of("dev.sgbackup.internal", "dev.sgbackup.dedup");

    @Test
    void exportsEveryPackageButInternal() throws Exception {
        Path classes = Path.of(SgBackup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor module;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            module = ModuleDescriptor.read(in);
        }
        Set<String> exported = module.exports().stream()
                .filter(e -> !e.isQualified())
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new));

        Set<String> packages = packagesIn(classes);
        assertThat(module.name()).isEqualTo("dev.sgbackup.core");
        assertThat(packages).contains("dev.sgbackup", "dev.sgbackup.internal");
        assertThat(exported).doesNotContainAnyElementsOf(NOT_EXPORTED);
        assertThat(exported).isEqualTo(packages.stream()
                .filter(p -> NOT_EXPORTED.stream().noneMatch(n -> p.equals(n) || p.startsWith(n + ".")))
                .collect(Collectors.toCollection(TreeSet::new)));
    }

    private static Set<String> packagesIn(Path classes) throws IOException {
        try (Stream<Path> files = Files.walk(classes)) {
            return files.filter(f -> f.toString().endsWith(".class") && !f.getFileName().toString().equals("module-info.class"))
                    .map(f -> classes.relativize(f.getParent()).toString().replace(f.getFileSystem().getSeparator(), "."))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
