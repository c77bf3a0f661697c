package dev.sgbackup.gcs;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import dev.sgbackup.arch.PublicSignatures;

/** The adapter's public API names only JDK, sgbackup and the documented OkHttpClient types (core's rule). */
@AnalyzeClasses(packages = "dev.sgbackup.gcs",
        importOptions = {ImportOption.DoNotIncludeTests.class, ImportOption.DoNotIncludeJars.class})
class PublicApiTest {

    @ArchTest
    static final ArchRule publicApiNamesNoThirdPartyTypes = PublicSignatures.onlyPlatformAndOwnTypesIn("dev.sgbackup.gcs");
}
