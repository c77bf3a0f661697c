package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.DataStoreContractTest;
import java.util.IdentityHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The store contract for the database-backed {@link SourcegraphConfigStore} on Sourcegraph 5.11's real frontend
 * schema (the server and schema of {@link DatabaseStoreTest}). Users and organizations are not configuration: every
 * database here has the same ones, so settings can be compared by owner. The empty target has no configuration
 * at all; the non-empty one has a site config, a code host connection and user settings of its own, which is not
 * fresh (see {@link TargetCheck}).
 */
class ConfigStoreContractTest extends DataStoreContractTest {
    private final Map<DataStore, String> dbs = new IdentityHashMap<>();
    private String source;

    @BeforeAll
    static void start() throws Exception {
        DatabaseStoreTest.start();
    }

    @AfterAll
    static void stop() throws Exception {
        DatabaseStoreTest.stop();
    }

    private DataStore store(String db) {
        DataStore s = DatabaseStoreTest.store(db).build();
        dbs.put(s, db);
        return s;
    }

    /** A frontend database with users and organizations and no configuration. */
    private static String bare() throws Exception {
        String db = DatabaseStoreTest.fresh("sg511");
        DatabaseStoreTest.exec(db, "INSERT INTO users (id, username) VALUES (1, 'alice'), (2, 'bob')");
        DatabaseStoreTest.exec(db, "INSERT INTO orgs (id, name) VALUES (1, 'platform')");
        return db;
    }

    @Override
    protected DataStore source() throws Exception {
        if (source == null) {
            source = bare();
            DatabaseStoreTest.exec(source, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', ?)",
                    TestData.fixture("site-config.jsonc"));
            DatabaseStoreTest.exec(source, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'GitHub (example-org)', ?)",
                    TestData.fixture("extsvc-github.json"));
            DatabaseStoreTest.exec(source, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITLAB', 'GitLab', ?)",
                    TestData.fixture("extsvc-gitlab.json"));
            DatabaseStoreTest.exec(source, "INSERT INTO settings (contents) VALUES (?)", TestData.fixture("global-settings.json"));
            DatabaseStoreTest.exec(source, "INSERT INTO settings (user_id, contents) VALUES (1, ?)", TestData.fixture("user-settings.jsonc"));
            DatabaseStoreTest.exec(source, "INSERT INTO settings (org_id, contents) VALUES (1, '{\"org\": 1}')");
        }
        return store(source);
    }

    @Override
    protected DataStore emptyTarget() throws Exception {
        return store(bare());
    }

    @Override
    protected DataStore nonEmptyTarget() throws Exception {
        String db = bare();
        DatabaseStoreTest.exec(db, "INSERT INTO critical_and_site_config (type, contents) VALUES ('site', '{\"target\": true}')");
        DatabaseStoreTest.exec(db, "INSERT INTO external_services (kind, display_name, config) VALUES ('GITHUB', 'Target host', '{\"url\": \"https://ghe.target.test\"}')");
        DatabaseStoreTest.exec(db, "INSERT INTO settings (user_id, contents) VALUES (2, '{\"bob\": true}')");
        return store(db);
    }

    /** Every configuration row without ids and times, in insertion order (settings: by owner, then order). */
    @Override
    protected String contentOf(DataStore store) throws Exception {
        String db = dbs.get(store);
        return "site config " + DatabaseStoreTest.rows(db, "SELECT type, contents FROM critical_and_site_config ORDER BY id")
                + "\ncode hosts " + DatabaseStoreTest.rows(db, "SELECT kind, display_name, config, encryption_key_id,"
                        + " deleted_at IS NULL FROM external_services ORDER BY id")
                + "\nsettings " + DatabaseStoreTest.rows(db, "SELECT coalesce(u.username, '-'), coalesce(o.name, '-'), s.contents"
                        + " FROM settings s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN orgs o ON o.id = s.org_id"
                        + " ORDER BY u.username NULLS FIRST, o.name NULLS FIRST, s.id");
    }
}
