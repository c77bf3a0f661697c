package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.run.CancelledException;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks and runs the restore of one backup into one instance: secrets, versions, whether the target is fresh
 * ({@link TargetCheck}) unless replace was asked for, then every document written through the backend.
 */
final class ConfigRestore {
    private final String name;
    private final Backend backend;
    private final SecretChecks secrets;

    ConfigRestore(String name, Backend backend, Secrets secrets) {
        this.name = name;
        this.backend = backend;
        this.secrets = new SecretChecks(secrets);
    }

    void check(StoreBackup backup, RestoreOptions options, CheckReport report) {
        List<ConfigDocument> docs = new ArrayList<>();
        for (ArtifactInfo a : backup.artifacts()) {
            ConfigDocument d = document(a, null, report);
            if (d != null) {
                docs.add(d);
                secrets.checkSecrets(d, Json.readStrings(a.attributes().get(ConfigDocument.ATTR_REDACTED)), report);
            }
        }
        secrets.checkUnusedSecrets(backup, report);
        try {
            String target = backend.version();
            String source = backup.properties().get(SourcegraphConfigStore.PROPERTY_VERSION);
            if (source != null && !source.equals(target)) {
                report.warn(name, "the backup is of Sourcegraph " + source + " and the target runs " + target
                        + "; settings and site config keys that the target does not know are kept as they are, "
                        + "check the site admin page for validation messages after the restore");
            }
            backend.checkTarget(docs, report);
            if (!options.replace()) {
                List<String> found = TargetCheck.configured(backend, backup);
                if (!found.isEmpty()) {
                    report.error(name, name + " not fresh", TargetCheck.refusal(backend.describe(), found));
                }
            }
        } catch (IOException e) {
            report.error(name, "cannot read the target's configuration: " + e.getMessage());
        } catch (RuntimeException e) {
            report.error(name, e.getMessage());
        }
    }

    void restore(RestoreInput in) throws IOException {
        CheckReport report = new CheckReport();
        check(in.backup(), in.options(), report);
        // the recorded pointers are only a promise: look at what the artifacts really hold, and read each one to
        // its end (integrity) before anything is written
        for (ArtifactInfo a : in.artifacts()) {
            in.checkCancelled();
            ConfigDocument d = document(a, read(in, a), report);
            if (d != null) {
                List<String> actual = SecretChecks.redactedIn(d, report);
                List<String> recorded = Json.readStrings(a.attributes().get(ConfigDocument.ATTR_REDACTED));
                List<String> extra = new ArrayList<>(actual);
                extra.removeAll(recorded);
                secrets.checkSecrets(d, extra, report);
                secrets.substitute(d, report);
            }
        }
        report.throwIfFailed();
        for (CheckReport.Finding f : report.findings()) {
            in.warn(f.subject() + ": " + f.message());
        }
        if (in.options().dryRun()) {
            return;
        }
        List<String> written = new ArrayList<>();
        try (Backend.Writer w = backend.writer(in::warn)) {
            for (ArtifactInfo a : in.artifacts()) {
                in.checkCancelled();
                ConfigDocument d = document(a, read(in, a), null);
                String text = secrets.substitute(d, null);
                w.write(d.withContents(text));
                written.add(d.artifactName());
            }
            if (in.options().replace()) {
                in.checkCancelled();
                w.removeOthers();
            }
            w.commit();
        } catch (RuntimeException | IOException e) {
            if (backend.transactional() || written.isEmpty()) {
                throw e; // nothing was changed
            }
            // the API has no transactions: say exactly what the target already holds
            String msg = e.getMessage() + "; the target already has " + written.size() + " of "
                    + in.artifacts().size() + " documents restored (" + String.join(", ", written)
                    + "); fix the cause and run the restore again: it updates, never duplicates"
                    + (in.options().replace() ? "" : " (with --replace, as the target is no longer fresh)");
            throw e instanceof CancelledException ? new CancelledException(msg, e)
                    : e instanceof IntegrityException ? new IntegrityException(msg, e) : new StoreException(msg, e);
        }
    }

    private static String read(RestoreInput in, ArtifactInfo a) throws IOException {
        try (InputStream is = in.open(a)) {
            return new String(is.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private ConfigDocument document(ArtifactInfo a, String contents, CheckReport report) {
        try {
            return ConfigDocument.fromAttributes(a.name(), a.attributes(), contents);
        } catch (IllegalArgumentException e) {
            if (report == null) {
                throw new StoreException(a.name() + ": " + e.getMessage());
            }
            report.error(a.name(), e.getMessage() + "; this artifact was not written by a Sourcegraph config store");
            return null;
        }
    }
}
