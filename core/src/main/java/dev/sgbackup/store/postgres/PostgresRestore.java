package dev.sgbackup.store.postgres;

import static dev.sgbackup.store.postgres.PostgresStore.PROP_SG_VERSION;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_STRATEGY;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The restore side of a {@link PostgresStore}: the backup names its strategy, and this class checks and restores
 * it that way, over JDBC ({@link JdbcRestore}) or with pg_restore ({@link PgDump}), including the checks both share
 * (same Sourcegraph version). Its single job is dispatching a restore, and its check, by strategy.
 */
final class PostgresRestore {
    private final String name;
    private final ConnectionSpec spec;
    private final Path binDir;
    private final int restoreJobs;
    private final long stageFromBytes;

    PostgresRestore(String name, ConnectionSpec spec, Path binDir, int restoreJobs, long stageFromBytes) {
        this.name = name;
        this.spec = spec;
        this.binDir = binDir;
        this.restoreJobs = restoreJobs;
        this.stageFromBytes = stageFromBytes;
    }

    void checkRestore(StoreBackup backup, RestoreOptions options, CheckReport report) {
        String strategy = backup.properties().getOrDefault(PROP_STRATEGY, "");
        try (Connection c = spec.open()) {
            if (strategy.equals("jdbc")) {
                PgSchema schema = PgSchema.read(c);
                new JdbcRestore(spec, name).check(c, schema, backup, options.replace(), report);
                checkSourcegraphVersion(c, schema, backup, report);
            } else if (strategy.equals("pg_dump")) {
                String why = PgTool.unusable(PgTool.find("pg_restore", binDir), PostgresBackup.serverMajor(c), "pg_restore");
                if (why != null) {
                    report.error(name, why);
                }
                PgSchema schema = PgSchema.read(c);
                int n = schema.tables.size();
                if (n > 0 && !options.replace()) {
                    report.error(name, "a pg_dump backup restores into an empty database, but " + spec.where() + " has "
                            + n + " tables: create an empty database, or restore with replace (--replace) to drop and"
                            + " recreate the dumped objects in one transaction");
                }
                checkSourcegraphVersion(c, schema, backup, report); // an empty database records no version: nothing to compare
                String oneJob = PgRestore.oneJobBecause(restoreJobs, options.replace(), options.replace() ? 0 : PgRestore.userObjects(c));
                if (oneJob != null) {
                    report.warn(name, "restoreJobs is " + restoreJobs + " but pg_restore will run with one job, in one"
                            + " transaction: " + oneJob);
                } else if (restoreJobs > 1) {
                    long bytes = backup.artifacts().stream().mapToLong(a -> a.size()).sum();
                    report.info(name, "pg_restore -j " + restoreJobs + ": the backup is first copied to a private temporary"
                            + " file (" + bytes + " bytes) and checked; if the restore fails, the objects it created are"
                            + " dropped again");
                    String space = PgRestore.stagingSpaceProblem(bytes);
                    if (space != null) {
                        report.error(name, space);
                    }
                }
            } else {
                report.error(name, "the backup names no known strategy ('" + strategy + "'); it was not written by PostgresStore");
            }
        } catch (SQLException | RuntimeException e) {
            report.error(name, spec.redactSecret(String.valueOf(e.getMessage())));
        }
    }

    /**
     * A database restore needs the same Sourcegraph version on both sides (the schema may match across patch releases
     * while the data's meaning does not); compared only when both sides record one.
     */
    private void checkSourcegraphVersion(Connection c, PgSchema schema, StoreBackup backup, CheckReport report)
            throws SQLException {
        String was = backup.properties().getOrDefault(PROP_SG_VERSION, "unknown");
        String is = c.getAutoCommit() ? JdbcBackup.sourcegraphVersion(c, schema) : "unknown";
        if (!was.startsWith("unknown") && !is.startsWith("unknown") && !was.equals(is)) {
            report.error(name, "the backup is from Sourcegraph " + was + " but " + spec.where() + " runs " + is
                    + "; database restores need the same version: upgrade or migrate the new instance to the backup's"
                    + " version first (configuration restores may cross versions)");
        }
    }

    void restore(RestoreInput in) throws IOException {
        String strategy = in.backup().properties().getOrDefault(PROP_STRATEGY, "");
        switch (strategy) {
            case "jdbc" -> new JdbcRestore(spec, name, stageFromBytes).restore(in);
            case "pg_dump" -> {
                CheckReport r = new CheckReport();
                checkRestore(in.backup(), in.options(), r);
                r.throwIfFailed();
                if (in.options().dryRun()) {
                    return;
                }
                PgRestore.restore(spec, PgTool.find("pg_restore", binDir).orElseThrow(), in, restoreJobs);
            }
            default -> throw new InvalidInputException("store " + name + ": the backup names no known strategy ('"
                    + strategy + "'); was it written by PostgresStore?");
        }
    }
}
