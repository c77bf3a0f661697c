package dev.sgbackup.store.postgres;

import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where one PostgreSQL database is and how to log in: the JDBC URL, the resolved user and password, the
 * redacted form for messages, and the libpq environment for {@code pg_dump}/{@code pg_restore}.
 *
 * <p>The password comes from, in this order: the builder, the URL (works, but warned about), {@code
 * PGPASSWORD}, the password file ({@code PGPASSFILE} or {@code ~/.pgpass}, libpq's matching rules). It is
 * never part of {@link #toString()}, {@link #redactedUrl()}, an exception message or a command line.
 */
final class ConnectionSpec {
    private static final System.Logger LOG = System.getLogger(ConnectionSpec.class.getName());
    private static final Pattern SECRET_PARAM =
            Pattern.compile("(?i)([?&](?:password|sslpassword)=)[^&]*");
    static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

    private final String url;
    private final String redactedUrl;
    private final List<String> hosts;
    private final List<String> ports;
    private final String database;
    private final String user;
    private final char[] password;
    private final String passwordSource;
    private final Map<String, String> params;
    private final boolean passwordInUrl;
    private final int connectTimeoutSeconds;

    private ConnectionSpec(String url, List<String> hosts, List<String> ports, String database, String user,
                           char[] password, String passwordSource, Map<String, String> params,
                           boolean passwordInUrl, int connectTimeoutSeconds) {
        this.url = url;
        this.redactedUrl = redact(url);
        this.hosts = hosts;
        this.ports = ports;
        this.database = database;
        this.user = user;
        this.password = password;
        this.passwordSource = passwordSource;
        this.params = params;
        this.passwordInUrl = passwordInUrl;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
    }

    /** Resolves with the process environment and the user's home directory. */
    static ConnectionSpec resolve(String jdbcUrl, char[] builderPassword, int connectTimeoutSeconds) {
        return resolve(jdbcUrl, builderPassword, connectTimeoutSeconds, System.getenv(),
                Path.of(System.getProperty("user.home")));
    }

    /** Resolves with an explicit environment and home directory (tests). */
    static ConnectionSpec resolve(String jdbcUrl, char[] builderPassword, int connectTimeoutSeconds,
                                  Map<String, String> env, Path home) {
        if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new InvalidInputException("not a PostgreSQL JDBC URL: '" + redact(String.valueOf(jdbcUrl))
                    + "'; expected jdbc:postgresql://HOST[:PORT]/DATABASE");
        }
        Properties p = org.postgresql.Driver.parseURL(jdbcUrl, null);
        if (p == null) {
            throw new InvalidInputException("cannot parse the JDBC URL '" + redact(jdbcUrl)
                    + "'; expected jdbc:postgresql://HOST[:PORT]/DATABASE[?user=...]");
        }
        List<String> hosts = List.of(p.getProperty("PGHOST", "localhost").split(","));
        List<String> ports = List.of(p.getProperty("PGPORT", "5432").split(","));
        String database = p.getProperty("PGDBNAME", "");
        Map<String, String> params = new LinkedHashMap<>();
        for (String k : p.stringPropertyNames()) {
            if (!k.startsWith("PG")) {
                params.put(k, p.getProperty(k));
            }
        }
        String user = params.get("user");
        if (user == null || user.isEmpty()) {
            user = env.getOrDefault("PGUSER", System.getProperty("user.name"));
        }
        if (database.isEmpty()) {
            database = env.getOrDefault("PGDATABASE", user);
        }
        String urlPassword = params.remove("password");
        boolean inUrl = urlPassword != null;
        char[] password = null;
        String source = "none";
        if (builderPassword != null) {
            password = builderPassword.clone();
            source = "builder";
        } else if (inUrl) {
            password = urlPassword.toCharArray();
            source = "URL";
        } else if (env.get("PGPASSWORD") != null) {
            password = env.get("PGPASSWORD").toCharArray();
            source = "PGPASSWORD";
        } else {
            Path file = env.get("PGPASSFILE") != null ? Path.of(env.get("PGPASSFILE")) : home.resolve(".pgpass");
            String found = fromPassFile(file, hosts.get(0), ports.get(0), database, user);
            if (found != null) {
                password = found.toCharArray();
                source = file.toString();
            }
        }
        ConnectionSpec spec = new ConnectionSpec(jdbcUrl, hosts, ports, database, user, password, source,
                Map.copyOf(params), inUrl, connectTimeoutSeconds);
        if (inUrl) {
            LOG.log(System.Logger.Level.WARNING, "the JDBC URL " + spec.redactedUrl + " contains a password;"
                    + " prefer the builder's password(), PGPASSWORD or ~/.pgpass (it is redacted everywhere)");
        }
        return spec;
    }

    /** libpq's password file: host:port:database:user:password, '*' matches anything, '\' escapes. */
    static String fromPassFile(Path file, String host, String port, String database, String user) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)
                    || perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
                LOG.log(System.Logger.Level.WARNING, "password file " + file + " has group or world access; "
                        + "ignored as libpq does (chmod 0600 " + file + ")");
                return null;
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: no permission rule
        }
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                List<String> f = splitPassLine(line);
                if (f.size() < 5) {
                    continue;
                }
                boolean hostMatch = matches(f.get(0), host)
                        || ("localhost".equals(f.get(0)) && host.startsWith("/"));
                if (hostMatch && matches(f.get(1), port) && matches(f.get(2), database) && matches(f.get(3), user)) {
                    return f.get(4);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read password file " + file + ": " + e.getMessage());
        }
        return null;
    }

    private static boolean matches(String pattern, String value) {
        return "*".equals(pattern) || pattern.equals(value);
    }

    private static List<String> splitPassLine(String line) {
        List<String> out = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == ':' && out.size() < 4) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** The URL without its password parameters (the resolved password travels in the properties). */
    static String stripSecrets(String url) {
        String s = url.replaceAll("(?i)([?&])(?:password|sslpassword)=[^&]*", "$1");
        s = s.replaceAll("&&+", "&").replace("?&", "?");
        return s.endsWith("?") || s.endsWith("&") ? s.substring(0, s.length() - 1) : s;
    }

    /** The URL with every password parameter replaced by {@code ***}. */
    static String redact(String url) {
        Matcher m = SECRET_PARAM.matcher(url);
        return m.replaceAll("$1***");
    }

    String redactedUrl() {
        return redactedUrl;
    }

    boolean passwordInUrl() {
        return passwordInUrl;
    }

    String passwordSource() {
        return passwordSource;
    }

    String database() {
        return database;
    }

    String user() {
        return user;
    }

    String hostPort() {
        return hosts.get(0) + ":" + ports.get(0);
    }

    /** host:port/database as user — for messages. */
    String where() {
        return String.join(",", hosts) + ":" + String.join(",", ports) + "/" + database + " as " + user;
    }

    /**
     * The libpq environment for the binaries: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (environment
     * only, never the command line), PGSSLMODE, PGOPTIONS and the few other URL parameters libpq shares.
     */
    Map<String, String> libpqEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGHOST", String.join(",", hosts));
        env.put("PGPORT", String.join(",", ports));
        env.put("PGDATABASE", database);
        env.put("PGUSER", user);
        if (password != null) {
            env.put("PGPASSWORD", new String(password));
        }
        putIf(env, "PGSSLMODE", params.get("sslmode"));
        putIf(env, "PGOPTIONS", params.get("options"));
        putIf(env, "PGSSLROOTCERT", params.get("sslrootcert"));
        putIf(env, "PGSSLCERT", params.get("sslcert"));
        putIf(env, "PGSSLKEY", params.get("sslkey"));
        putIf(env, "PGAPPNAME", params.getOrDefault("ApplicationName", "sgbackup"));
        env.put("PGCONNECT_TIMEOUT", Integer.toString(Math.max(2, connectTimeoutSeconds)));
        return env;
    }

    private static void putIf(Map<String, String> env, String k, String v) {
        if (v != null && !v.isEmpty()) {
            env.put(k, v);
        }
    }

    /** Opens a connection; failures become one clear message (never with the password). */
    Connection open() {
        Properties props = new Properties();
        props.setProperty("user", user);
        if (password != null) {
            props.setProperty("password", new String(password));
        }
        props.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        props.setProperty("loginTimeout", Integer.toString(connectTimeoutSeconds));
        if (params.get("sslpassword") != null) {
            props.setProperty("sslpassword", params.get("sslpassword"));
        }
        props.setProperty("ApplicationName", params.getOrDefault("ApplicationName", "sgbackup"));
        try {
            Connection c = new org.postgresql.Driver().connect(stripSecrets(url), props);
            if (c == null) {
                throw new InvalidInputException("not a PostgreSQL JDBC URL: " + redactedUrl);
            }
            return c;
        } catch (SQLException e) {
            throw connectError(e);
        } finally {
            props.clear();
        }
    }

    private StoreException connectError(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String msg = redactSecret(String.valueOf(e.getMessage()));
        if (state.equals("28P01") || state.equals("28000")) {
            return new StoreException("PostgreSQL at " + where() + " refused the login (" + msg + "); password from "
                    + passwordSource + ": check the user and password (builder password(), PGPASSWORD, ~/.pgpass)", e);
        }
        if (state.equals("3D000")) {
            return new StoreException("database '" + database + "' does not exist at " + hostPort()
                    + ": create it or fix the database name in the URL", e);
        }
        if (state.startsWith("08")) {
            return new StoreException("cannot reach PostgreSQL at " + hostPort() + " within "
                    + connectTimeoutSeconds + " s (" + msg + "): check the host, port, network and that the server runs", e);
        }
        return new StoreException("cannot connect to PostgreSQL at " + where() + ": " + msg, e);
    }

    /** Removes the password from a text if it occurs verbatim (driver messages, tool stderr). */
    String redactSecret(String text) {
        String out = redact(text);
        if (password != null && password.length >= 3) {
            out = out.replace(new String(password), "***");
        }
        return out;
    }

    void clear() {
        if (password != null) {
            Arrays.fill(password, '\0');
        }
    }

    @Override
    public String toString() {
        return redactedUrl + " (user " + user + ", password from " + passwordSource + ")";
    }
}
