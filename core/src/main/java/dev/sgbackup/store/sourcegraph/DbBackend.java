package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.run.StoreException;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.sourcegraph.ConfigDocument.Type;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One job, so one file (about 460 lines): the {@link Backend} over the frontend database's configuration tables.
 *
 * <p>The configuration straight from Sourcegraph's frontend database: complete and unredacted. Reads the latest
 * {@code critical_and_site_config} row of type site, the non-deleted {@code external_services} and the latest
 * {@code settings} row of each subject; writes them back as new rows (as Sourcegraph does) in one transaction.
 * With replace, the rows this restore did not write are deleted in the same transaction: every other settings row
 * (history included), every other site configuration row when the backup has one, and every other code host
 * connection not owned by a user (their repositories' links go with them, as when Sourcegraph deletes one).
 * Column sets differ between releases (3.21 has {@code namespace_user_id}, 5.x {@code encryption_key_id} and
 * {@code tenant_id}): the table's columns are read first.
 */
final class DbBackend implements Backend {
    private final String jdbcUrl;
    private final String user;
    private final String password;
    private final int tenant;

    DbBackend(String jdbcUrl, String user, String password, int tenant) {
        this.jdbcUrl = jdbcUrl;
        this.user = user;
        this.password = password;
        this.tenant = tenant;
    }

    /** The JDBC URL without its query (which may carry a password). */
    static String safeUrl(String url) {
        int q = url.indexOf('?');
        String s = q < 0 ? url : url.substring(0, q);
        return s.replaceAll("//[^/@]*@", "//");
    }

    @Override
    public String describe() {
        return "Sourcegraph configuration from the frontend database " + safeUrl(jdbcUrl);
    }

    @Override
    public boolean transactional() {
        return true;
    }

    @Override
    public String source() {
        return "database";
    }

    Connection connect() {
        Properties p = new Properties();
        if (user != null) {
            p.setProperty("user", user);
        }
        if (password != null) {
            p.setProperty("password", password);
        }
        try {
            Connection c = DriverManager.getConnection(jdbcUrl, p);
            try (PreparedStatement st = c.prepareStatement("SELECT set_config('app.current_tenant', ?, false)")) {
                st.setString(1, Integer.toString(tenant));
                st.execute();
            }
            return c;
        } catch (SQLException e) {
            throw new StoreException("cannot connect to the frontend database " + safeUrl(jdbcUrl) + ": "
                    + scrub(e.getMessage()) + "; check the URL, user and password", e);
        }
    }

    private String scrub(String m) {
        return password == null || m == null || password.length() < 4 ? m : m.replace(password, "***");
    }

    private StoreException failed(String what, SQLException e) {
        return new StoreException(what + " in " + safeUrl(jdbcUrl) + " failed: " + scrub(e.getMessage())
                + " (SQL state " + e.getSQLState() + ")", e);
    }

    static Set<String> columns(Connection c, String table) throws SQLException {
        Set<String> cols = new HashSet<>();
        try (PreparedStatement st = c.prepareStatement("SELECT column_name FROM information_schema.columns "
                + "WHERE table_schema = current_schema() AND table_name = ?")) {
            st.setString(1, table);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    cols.add(rs.getString(1));
                }
            }
        }
        return cols;
    }

    private static void requireTables(Connection c) throws SQLException {
        for (String t : List.of("critical_and_site_config", "external_services", "settings", "users", "orgs")) {
            if (columns(c, t).isEmpty()) {
                throw new StoreException("table " + t + " is missing: this is not a Sourcegraph frontend database "
                        + "(point the JDBC URL at the database the frontend uses, usually 'sg')");
            }
        }
    }

    @Override
    public String version() {
        try (Connection c = connect()) {
            return version(c);
        } catch (SQLException e) {
            throw failed("reading the version", e);
        }
    }

    private static String version(Connection c) throws SQLException {
        if (!columns(c, "versions").isEmpty()) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT version FROM versions WHERE service = 'frontend' LIMIT 1")) {
                if (rs.next()) {
                    return rs.getString(1);
                }
            }
        }
        return "unknown";
    }

    @Override
    public void checkSource(CheckReport report) {
        try (Connection c = connect()) {
            requireTables(c);
            if (columns(c, "external_services").contains("encryption_key_id")) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM "
                        + "external_services WHERE deleted_at IS NULL AND encryption_key_id <> ''")) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        report.warn("external-services", rs.getLong(1) + " code host connections are encrypted with "
                                + "the instance's keyring: the restore target needs the same encryption keys "
                                + "(encryption.keys in the site config)");
                    }
                }
            }
        } catch (SQLException e) {
            throw failed("checking the configuration tables", e);
        }
    }

    @Override
    public void read(Backend.DocumentConsumer out) throws IOException {
        try (Connection c = connect()) {
            requireTables(c);
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            try (Statement st = c.createStatement()) {
                st.setFetchSize(100);
                try (ResultSet rs = st.executeQuery("SELECT contents FROM critical_and_site_config "
                        + "WHERE type = 'site' ORDER BY id DESC LIMIT 1")) {
                    if (rs.next()) {
                        out.accept(ConfigDocument.siteConfig(rs.getString(1)));
                    }
                }
                Set<String> cols = columns(c, "external_services");
                boolean enc = cols.contains("encryption_key_id");
                boolean ns = cols.contains("namespace_user_id");
                String sql = "SELECT e.kind, e.display_name, e.config"
                        + (enc ? ", e.encryption_key_id" : ", ''")
                        + (ns ? ", u.username" : ", NULL")
                        + " FROM external_services e"
                        + (ns ? " LEFT JOIN users u ON u.id = e.namespace_user_id" : "")
                        + " WHERE e.deleted_at IS NULL ORDER BY e.id";
                try (ResultSet rs = st.executeQuery(sql)) {
                    while (rs.next()) {
                        Map<String, String> extra = new LinkedHashMap<>();
                        String key = rs.getString(4);
                        if (key != null && !key.isEmpty()) {
                            extra.put(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, key);
                        }
                        if (rs.getString(5) != null) {
                            extra.put(ConfigDocument.ATTR_NAMESPACE_USER, rs.getString(5));
                        }
                        out.accept(ConfigDocument.externalService(rs.getString(1), rs.getString(2), rs.getString(3), extra));
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT contents FROM settings WHERE user_id IS NULL "
                        + "AND org_id IS NULL ORDER BY id DESC LIMIT 1")) {
                    if (rs.next() && rs.getString(1) != null) {
                        out.accept(ConfigDocument.globalSettings(rs.getString(1)));
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT DISTINCT ON (s.org_id) o.name, s.contents FROM settings s "
                        + "JOIN orgs o ON o.id = s.org_id WHERE o.deleted_at IS NULL "
                        + "ORDER BY s.org_id, s.id DESC")) {
                    while (rs.next()) {
                        if (rs.getString(2) == null) {
                            continue; // 3.2x kept NULL contents: no settings
                        }
                        out.accept(ConfigDocument.orgSettings(rs.getString(1), rs.getString(2)));
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT DISTINCT ON (s.user_id) u.username, s.contents FROM settings s "
                        + "JOIN users u ON u.id = s.user_id WHERE u.deleted_at IS NULL "
                        + "ORDER BY s.user_id, s.id DESC")) {
                    while (rs.next()) {
                        if (rs.getString(2) == null) {
                            continue;
                        }
                        out.accept(ConfigDocument.userSettings(rs.getString(1), rs.getString(2)));
                    }
                }
            }
            c.rollback();
        } catch (SQLException e) {
            throw failed("reading the configuration", e);
        }
    }

    @Override
    public void checkTarget(List<ConfigDocument> documents, CheckReport report) {
        try (Connection c = connect()) {
            requireTables(c);
            boolean enc = columns(c, "external_services").contains("encryption_key_id");
            for (ConfigDocument d : documents) {
                switch (d.type()) {
                    case ORG_SETTINGS, USER_SETTINGS -> {
                        if (subjectId(c, d) == null) {
                            report.warn(d.artifactName(), (d.type() == Type.ORG_SETTINGS ? "organization '" : "user '")
                                    + d.subject() + "' does not exist on the target; its settings are skipped "
                                    + "(create it, then restore again)");
                        }
                    }
                    case EXTERNAL_SERVICE -> {
                        String key = d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "");
                        if (!key.isEmpty() && !enc) {
                            report.error(d.artifactName(), "the config is encrypted (key '" + key + "') but the target "
                                    + "schema has no encryption_key_id column; restore into a Sourcegraph of the same "
                                    + "version with the same encryption keys");
                        } else if (!key.isEmpty()) {
                            report.warn(d.artifactName(), "encrypted with keyring key '" + key + "': the target needs "
                                    + "the same encryption keys (encryption.keys in the site config)");
                        }
                        if (d.extra().containsKey(ConfigDocument.ATTR_NAMESPACE_USER)) {
                            report.warn(d.artifactName(), ApiBackend.namespacedSkipped(d));
                        }
                    }
                    default -> {
                    }
                }
            }
        } catch (SQLException e) {
            throw failed("checking the target", e);
        }
    }

    private static Integer subjectId(Connection c, ConfigDocument d) throws SQLException {
        String sql = d.type() == Type.ORG_SETTINGS
                ? "SELECT id FROM orgs WHERE name = ? AND deleted_at IS NULL"
                : "SELECT id FROM users WHERE username = ? AND deleted_at IS NULL";
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, d.subject());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getInt(1) : null;
            }
        }
    }

    @Override
    public Writer writer(Consumer<String> warn) {
        Connection c = connect();
        try {
            requireTables(c);
            c.setAutoCommit(false);
            Set<String> ext = columns(c, "external_services");
            return new Writer() {
                boolean committed;
                final Map<String, Integer> seen = new java.util.HashMap<>();
                final List<Long> siteIds = new ArrayList<>();
                final List<Long> settingsIds = new ArrayList<>();
                final List<Long> externalIds = new ArrayList<>();

                @Override
                public void write(ConfigDocument d) {
                    try {
                        switch (d.type()) {
                            case SITE_CONFIG -> {
                                try (PreparedStatement st = c.prepareStatement("INSERT INTO critical_and_site_config "
                                        + "(type, contents) VALUES ('site', ?) RETURNING id")) {
                                    st.setString(1, d.contents());
                                    siteIds.add(returnedId(st));
                                }
                            }
                            case EXTERNAL_SERVICE -> {
                                Long id = writeExternalService(c, ext, d,
                                        seen.merge(d.matchKey(), 1, Integer::sum) - 1, warn);
                                if (id != null) {
                                    externalIds.add(id);
                                }
                            }
                            case GLOBAL_SETTINGS -> settingsIds.add(insertSettings(c, null, null, d.contents()));
                            case ORG_SETTINGS, USER_SETTINGS -> {
                                Integer id = subjectId(c, d);
                                if (id == null) {
                                    warn.accept(d.artifactName() + ": " + (d.type() == Type.ORG_SETTINGS
                                            ? "organization '" : "user '") + d.subject()
                                            + "' does not exist on the target; skipped");
                                } else if (d.type() == Type.ORG_SETTINGS) {
                                    settingsIds.add(insertSettings(c, null, id, d.contents()));
                                } else {
                                    settingsIds.add(insertSettings(c, id, null, d.contents()));
                                }
                            }
                        }
                    } catch (SQLException e) {
                        throw failed("writing " + d.artifactName() + " (nothing was committed)", e);
                    }
                }

                @Override
                public void removeOthers() {
                    try {
                        if (!siteIds.isEmpty()) {
                            deleteOthers(c, "critical_and_site_config WHERE type = 'site' AND", siteIds);
                        }
                        deleteOthers(c, "settings WHERE", settingsIds);
                        deleteOthers(c, "external_services WHERE"
                                + (ext.contains("namespace_user_id") ? " namespace_user_id IS NULL AND" : ""), externalIds);
                    } catch (SQLException e) {
                        throw failed("removing the target's own configuration (nothing was committed)", e);
                    }
                }

                @Override
                public void commit() {
                    try {
                        c.commit();
                        committed = true;
                    } catch (SQLException e) {
                        throw failed("committing the configuration (nothing was committed)", e);
                    }
                }

                @Override
                public void close() {
                    try (c) {
                        if (!committed) {
                            c.rollback();
                        }
                    } catch (SQLException e) {
                        // the connection is gone: the transaction did not commit
                    }
                }
            };
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already failing
            }
            if (e instanceof SQLException se) {
                throw failed("starting the restore", se);
            }
            throw (RuntimeException) e;
        }
    }

    private static long insertSettings(Connection c, Integer userId, Integer orgId, String contents) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "INSERT INTO settings (user_id, org_id, contents, author_user_id) VALUES (?, ?, ?, NULL) RETURNING id")) {
            st.setObject(1, userId, java.sql.Types.INTEGER);
            st.setObject(2, orgId, java.sql.Types.INTEGER);
            st.setString(3, contents);
            return returnedId(st);
        }
    }

    private static long returnedId(PreparedStatement st) throws SQLException {
        try (ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Deletes the rows of {@code fromWhere} (a table and the start of a condition) whose id is not in {@code keep}. */
    private static void deleteOthers(Connection c, String fromWhere, List<Long> keep) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("DELETE FROM " + fromWhere + " id <> ALL (?)")) {
            st.setArray(1, c.createArrayOf("bigint", keep.toArray()));
            st.executeUpdate();
        }
    }

    /** Updates the connection this document matches, or adds it; its id (null: not restored). */
    private static Long writeExternalService(Connection c, Set<String> cols, ConfigDocument d, int occurrence,
                                             Consumer<String> warn) throws SQLException {
        if (d.extra().containsKey(ConfigDocument.ATTR_NAMESPACE_USER)) {
            warn.accept(d.artifactName() + ": " + ApiBackend.namespacedSkipped(d));
            return null;
        }
        boolean enc = cols.contains("encryption_key_id");
        String key = d.extra().getOrDefault(ConfigDocument.ATTR_ENCRYPTION_KEY_ID, "");
        Long id = null;
        try (PreparedStatement st = c.prepareStatement("SELECT id FROM external_services WHERE kind = ? "
                + "AND display_name = ? AND deleted_at IS NULL ORDER BY id OFFSET ? LIMIT 1")) {
            st.setString(1, d.kind());
            st.setString(2, d.displayName());
            st.setInt(3, occurrence);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    id = rs.getLong(1);
                }
            }
        }
        boolean nextSync = cols.contains("next_sync_at");
        if (id != null) {
            try (PreparedStatement st = c.prepareStatement("UPDATE external_services SET config = ?, updated_at = now()"
                    + (enc ? ", encryption_key_id = ?" : "") + (nextSync ? ", next_sync_at = now()" : "")
                    + " WHERE id = ?")) {
                int i = 1;
                st.setString(i++, d.contents());
                if (enc) {
                    st.setString(i++, key);
                }
                st.setLong(i, id);
                st.executeUpdate();
            }
            return id;
        } else {
            try (PreparedStatement st = c.prepareStatement("INSERT INTO external_services (kind, display_name, config"
                    + (enc ? ", encryption_key_id" : "") + (nextSync ? ", next_sync_at" : "") + ") VALUES (?, ?, ?"
                    + (enc ? ", ?" : "") + (nextSync ? ", now()" : "") + ") RETURNING id")) {
                st.setString(1, d.kind());
                st.setString(2, d.displayName());
                st.setString(3, d.contents());
                if (enc) {
                    st.setString(4, key);
                }
                return returnedId(st);
            }
        }
    }

    @Override
    public String toString() {
        return "DbBackend[" + safeUrl(jdbcUrl) + ", user=" + user + ", password=***]";
    }
}
