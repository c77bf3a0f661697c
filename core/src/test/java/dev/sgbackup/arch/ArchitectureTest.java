package dev.sgbackup.arch;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import com.tngtech.archunit.library.dependencies.Slices;

/**
 * sgbackup-core's architecture rules, checked on its main classes (tests left out).
 *
 * <p>Every package of {@code dev.sgbackup} is a slice of its own, the root package {@code dev.sgbackup} included
 * and each subpackage separately ({@code store} and {@code store.postgres} are two slices). ArchUnit's
 * {@code slices().matching("dev.sgbackup.(**)")} would leave the root package out (its classes have no
 * {@code dev.sgbackup.} prefix), and so would miss every cycle through the root package's exceptions and
 * {@code SgBackup}; hence the explicit assignment, and {@link #rootPackageIsASlice} to keep it honest.
 */
@AnalyzeClasses(packages = "dev.sgbackup",
        importOptions = {ImportOption.DoNotIncludeTests.class, ImportOption.DoNotIncludeJars.class})
class ArchitectureTest {

    static final String ROOT = "dev.sgbackup";

    /** One slice per package under (and including) {@link #ROOT}, named by its package. */
    static final SliceAssignment PACKAGES = new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String pkg = javaClass.getPackageName();
            return pkg.equals(ROOT) || pkg.startsWith(ROOT + ".") ? SliceIdentifier.of(pkg) : SliceIdentifier.ignore();
        }

        @Override
        public String getDescription() {
            return "every package of " + ROOT + " (the root package included)";
        }
    };

    @ArchTest
    static final ArchRule noCyclesBetweenPackages = slices().assignedFrom(PACKAGES).should().beFreeOfCycles();

    /** The slice assignment really gives the root package a slice (and subpackages their own). */
    @ArchTest
    static void rootPackageIsASlice(JavaClasses classes) {
        var ids = Slices.assignedFrom(PACKAGES).transform(classes).stream().map(s -> s.getNamePart(1)).toList();
        assertThat(ids).contains(ROOT, ROOT + ".store", ROOT + ".store.postgres", ROOT + ".sink", ROOT + ".spi");
        // why not the usual pattern: it has no slice for the root package
        var byPattern = Slices.matching(ROOT + ".(**)").transform(classes).stream().map(s -> s.getNamePart(1)).toList();
        assertThat(byPattern).contains("store.postgres").doesNotContain("", ROOT);
    }

    @ArchTest
    static final ArchRule publicApiNamesNoThirdPartyTypes = PublicSignatures.onlyPlatformAndOwnTypesIn(ROOT);
}
