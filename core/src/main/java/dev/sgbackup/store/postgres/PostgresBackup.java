package dev.sgbackup.store.postgres;

import static dev.sgbackup.store.postgres.PostgresStore.PROP_FINGERPRINT;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_ROWS;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_SEQUENCES;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_SERVER;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_SG_VERSION;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_STRATEGY;
import static dev.sgbackup.store.postgres.PostgresStore.PROP_TENANT;
import static dev.sgbackup.store.postgres.PostgresStore.SELECTION_OVER_JDBC;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.postgres.PostgresStore.Mode;
import dev.sgbackup.store.postgres.PostgresStore.Selection;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The backup side of a {@link PostgresStore}: which tables a backup takes ({@link Selection}: the categories closed
 * over foreign keys and repository identity), the checks before it (tools, readability, row-level security), and
 * the backup itself in one snapshot, over JDBC ({@link JdbcBackup}) or with pg_dump ({@link PgDump}). Its single
 * job is taking one database's backup; options come from the store's builder.
 */
final class PostgresBackup {
    private final String name;
    private final ConnectionSpec spec;
    private final Mode mode;
    private final Set<String> categories;
    private final SourcegraphCatalog catalog;
    private final Path binDir;
    private final long splitBytes;
    private final boolean dedupKeyOrder;

    PostgresBackup(String name, ConnectionSpec spec, Mode mode, Set<String> categories, SourcegraphCatalog catalog,
                   Path binDir, long splitBytes, boolean dedupKeyOrder) {
        this.name = name;
        this.spec = spec;
        this.mode = mode;
        this.categories = categories;
        this.catalog = catalog;
        this.binDir = binDir;
        this.splitBytes = splitBytes;
        this.dedupKeyOrder = dedupKeyOrder;
    }

    void checkBackup(CheckReport report) {
        try (Connection c = spec.open()) {
            if (mode == Mode.PG_DUMP && !categories.isEmpty()) {
                report.info(name, SELECTION_OVER_JDBC);
            } else if (mode == Mode.PG_DUMP) {
                String why = PgTool.unusable(PgTool.find("pg_dump", binDir), serverMajor(c), "pg_dump");
                if (why != null) {
                    report.error(name, why + "; or back up with mode JDBC");
                }
            }
            if (spec.passwordInUrl()) {
                report.warn(name, "the JDBC URL contains a password; prefer password(), PGPASSWORD or ~/.pgpass");
            }
            PgSchema schema = PgSchema.read(c);
            Selection sel = select(c, schema);
            reportSelection(sel, report);
            checkReadable(c, schema, sel, report);
        } catch (SQLException | RuntimeException e) {
            report.error(name, spec.redactSecret(String.valueOf(e.getMessage())));
        }
    }

    /** What the operator should know about a selection before the backup runs, as INFO findings. */
    private void reportSelection(Selection sel, CheckReport report) {
        new TreeMap<>(sel.added()).forEach((t, why) -> report.info(name, "table " + t + " is added to the selection: "
                + why + " (" + catalog.categoryOf(t).map(SourcegraphCatalog.Category::id).orElse("unknown category") + ")"));
        if (!categories.isEmpty() && !sel.unknown().isEmpty()) {
            report.info(name, "tables unknown to the Sourcegraph catalog are backed up too (never dropped): "
                    + String.join(", ", sel.unknown()));
        }
        sel.encryptedRows().forEach((t, n) -> report.info(name, n + " rows of " + t + " are encrypted with the"
                + " instance's keyring: the new instance needs the same encryption keys to read them"));
    }

    private void checkReadable(Connection c, PgSchema schema, Selection sel, CheckReport report) throws SQLException {
        boolean exempt;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")) {
            exempt = rs.next() && rs.getBoolean(1);
        }
        for (String t : sel.tables()) {
            PgSchema.Table tab = schema.tables.get(t);
            try (var ps = c.prepareStatement("SELECT has_table_privilege(?::regclass, 'SELECT'),"
                    + " pg_has_role(current_user, ?, 'USAGE')")) {
                ps.setString(1, tab.sql());
                ps.setString(2, tab.owner());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    boolean owner = rs.getBoolean(2);
                    if (!rs.getBoolean(1)) {
                        report.error(name, "no permission to read table " + t + ": GRANT SELECT ON " + t
                                + " to this role, or connect as its owner (" + tab.owner() + ")");
                    } else if (tab.rowSecurity() && !exempt && (!owner || tab.forceRowSecurity())) {
                        report.error(name, "table " + t + " has row-level security and this role is subject to it, so"
                                + " rows could be missed: connect as its owner (" + tab.owner() + "), a superuser or a"
                                + " role with BYPASSRLS (ALTER ROLE ... BYPASSRLS)");
                    }
                }
            }
        }
    }

    /** Which tables a backup would take now, and why (connects and reads the schema). */
    Selection selection() {
        try (Connection c = spec.open()) {
            return select(c, PgSchema.read(c));
        } catch (SQLException e) {
            throw new StoreException("cannot read the schema of " + spec.where() + ": " + e.getMessage(), e);
        }
    }

    private Selection select(Connection c, PgSchema schema) throws SQLException {
        Set<String> all = schema.tables.keySet();
        Set<String> chosen = new TreeSet<>(categories.isEmpty() ? all : catalog.select(all, categories));
        Set<String> unknown = catalog.unknown(all);
        Map<String, String> added = new LinkedHashMap<>();
        if (!categories.isEmpty()) {
            chosen.addAll(unknown); // never dropped silently
            // closed over foreign keys, and over repository ids: rows that name repositories by id travel with the
            // repositories (RepoIdentity), whose tables may reference more tables in turn
            for (boolean grew = true; grew; ) {
                Map<String, String> fk = schema.closeOverForeignKeys(chosen);
                fk.forEach(added::putIfAbsent);
                chosen.addAll(fk.keySet());
                Map<String, String> ids = RepoIdentity.missing(schema, chosen);
                ids.forEach(added::putIfAbsent);
                grew = chosen.addAll(ids.keySet());
            }
        }
        Map<String, Long> encrypted = new TreeMap<>();
        try (Statement st = c.createStatement()) {
            for (String t : chosen) {
                PgSchema.Table tab = schema.tables.get(t);
                PgSchema.Column col = tab.column("encryption_key_id");
                if (col != null && col.type().startsWith("text")) {
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + tab.sql()
                            + " WHERE encryption_key_id IS NOT NULL AND encryption_key_id <> ''")) {
                        rs.next();
                        if (rs.getLong(1) > 0) {
                            encrypted.put(t, rs.getLong(1));
                        }
                    }
                }
            }
        }
        return new Selection(new ArrayList<>(chosen), added, new ArrayList<>(unknown), encrypted);
    }

    /** The server's major version, e.g. 16. */
    static int serverMajor(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version_num")) {
            rs.next();
            return Integer.parseInt(rs.getString(1)) / 10000;
        }
    }

    void backup(BackupOutput out) throws IOException {
        try (Connection c = spec.open()) {
            int major = serverMajor(c);
            Optional<PgTool> tool = Optional.empty();
            boolean jdbc = mode == Mode.JDBC;
            if (mode != Mode.JDBC && !categories.isEmpty()) {
                // a table subset from pg_dump -t lacks the types and extensions it needs in an empty database, and
                // pg_restore cannot load it into a migrated instance; over JDBC it restores like any JDBC backup
                out.warn(SELECTION_OVER_JDBC);
                jdbc = true;
            }
            if (!jdbc) {
                tool = PgTool.find("pg_dump", binDir);
                String why = PgTool.unusable(tool, major, "pg_dump");
                if (why != null && mode == Mode.PG_DUMP) {
                    throw new InvalidInputException("cannot back up " + name + " with pg_dump: " + why
                            + "; or use mode JDBC (no binaries needed)");
                }
                if (why != null) {
                    out.warn(why + "; backing up over JDBC instead");
                    jdbc = true;
                }
            }
            String snapshot = JdbcBackup.beginSnapshot(c, null);
            PgSchema schema = PgSchema.read(c);
            Selection sel = select(c, schema);
            CheckReport readable = new CheckReport();
            checkReadable(c, schema, sel, readable);
            for (PgSchema.Sequence q : schema.sequences) {
                try (var ps = c.prepareStatement("SELECT has_sequence_privilege(?::regclass, 'SELECT')")) {
                    ps.setString(1, q.sql());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (!rs.getBoolean(1) && jdbc) {
                            readable.error(name, "no permission to read sequence " + q.qualified() + ": GRANT SELECT ON SEQUENCE "
                                    + q.qualified() + " to this role, or connect as its owner");
                        }
                    }
                }
            }
            readable.throwIfFailed();
            String tenant = schema.usesTenantSetting ? tenant(c, schema) : null;
            if (tenant != null) {
                try (Statement st = c.createStatement()) {
                    JdbcBackup.setTenant(st, tenant, true);
                }
                out.property(PROP_TENANT, tenant);
            }
            out.property(PROP_SERVER, serverVersion(c));
            out.property(PROP_FINGERPRINT, schema.fingerprint());
            out.property(PROP_SG_VERSION, sourcegraphVersion(c, schema));
            out.property("tables", Integer.toString(sel.tables().size()));
            if (!categories.isEmpty()) {
                out.property("categories", String.join(",", new TreeSet<>(categories)));
            }
            if (!sel.added().isEmpty()) {
                out.property("tables.added", new TreeMap<>(sel.added()).toString());
                out.warn("added for foreign keys and repository identity: " + new TreeMap<>(sel.added()));
            }
            if (!sel.unknown().isEmpty()) {
                out.property("tables.unknown", String.join(",", sel.unknown()));
                out.warn("tables unknown to the Sourcegraph catalog (included): " + String.join(", ", sel.unknown()));
            }
            if (!sel.encryptedRows().isEmpty()) {
                out.property("encrypted.rows", sel.encryptedRows().toString());
                out.warn(sel.encryptedRows().values().stream().mapToLong(Long::longValue).sum()
                        + " rows are encrypted with the instance's keyring " + sel.encryptedRows().keySet()
                        + ": the target instance needs the same encryption keys");
            }
            if (jdbc) {
                out.property(PROP_STRATEGY, "jdbc");
                out.property("format", JdbcBackup.FORMAT);
                out.property(PROP_SEQUENCES, JdbcBackup.sequences(c, schema));
                List<PgSchema.Table> tables = sel.tables().stream().map(schema.tables::get).toList();
                Map<String, Long> rows = JdbcBackup.copyTables(spec, c, snapshot, tenant, tables, splitBytes,
                        dedupKeyOrder && out.deduplicated(), out);
                var json = PgSchema.JSON.createObjectNode();
                rows.forEach(json::put);
                out.property(PROP_ROWS, json.toString());
            } else {
                out.property(PROP_STRATEGY, "pg_dump");
                c.rollback();
                PgDump.backup(spec, tool.orElseThrow(), categories.isEmpty() ? List.of() : sel.tables(), out);
            }
            c.rollback();
        } catch (SQLException e) {
            throw new StoreException("backup of " + name + " from " + spec.where() + " failed: "
                    + spec.redactSecret(e.getMessage()), e);
        }
    }

    private static String serverVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String sourcegraphVersion(Connection c, PgSchema schema) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SAVEPOINT sgversion");
            String v = JdbcBackup.sourcegraphVersion(c, schema);
            st.execute("ROLLBACK TO SAVEPOINT sgversion");
            return v;
        }
    }

    /** The app.current_tenant value for sessions: the session's own, else the only tenant, else 1. */
    private static String tenant(Connection c, PgSchema schema) throws SQLException {
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT current_setting('app.current_tenant', true)")) {
                rs.next();
                String v = rs.getString(1);
                if (v != null && !v.isEmpty()) {
                    return v;
                }
            }
            if (schema.tables.containsKey("public.tenants")) {
                st.execute("SAVEPOINT tenant");
                try (ResultSet rs = st.executeQuery("SELECT id FROM public.tenants ORDER BY id LIMIT 2")) {
                    List<String> ids = new ArrayList<>();
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                    }
                    if (ids.size() == 1) {
                        return ids.get(0);
                    }
                } catch (SQLException e) {
                    st.execute("ROLLBACK TO SAVEPOINT tenant");
                }
            }
        }
        return "1";
    }
}
