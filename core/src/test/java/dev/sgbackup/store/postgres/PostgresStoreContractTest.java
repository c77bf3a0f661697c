package dev.sgbackup.store.postgres;

import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.DataStoreContractTest;
import java.sql.SQLException;
import java.util.IdentityHashMap;
import java.util.Map;

/** The store contract for {@link PostgresStore} (over JDBC) on the embedded test server. */
class PostgresStoreContractTest extends DataStoreContractTest {
    static final String[] SCHEMA = {
            "CREATE TABLE repo (id bigint PRIMARY KEY, name text NOT NULL UNIQUE, stars int, created_at timestamptz)",
            "CREATE TABLE note (id serial PRIMARY KEY, repo_id bigint REFERENCES repo(id), body text, blob bytea)"};

    private final Map<DataStore, String> dbs = new IdentityHashMap<>();
    private String source;

    private DataStore store(String db) {
        DataStore s = PostgresStore.builder("frontend", TestPg.url(db)).mode(PostgresStore.Mode.JDBC).build();
        dbs.put(s, db);
        return s;
    }

    @Override
    protected DataStore source() throws SQLException {
        if (source == null) {
            source = TestPg.db(SCHEMA);
            TestPg.exec(source,
                    "INSERT INTO repo SELECT g, 'github.com/org/repo-' || g, g % 97, timestamptz '2024-01-01' + g * interval '1 minute'"
                            + " FROM generate_series(1, 3000) g",
                    // incompressible text and bytes, so the artifacts are large enough to break half-way
                    "INSERT INTO note (repo_id, body, blob) SELECT g, md5(g::text) || md5((g * 7)::text),"
                            + " decode(md5((g * 13)::text) || md5((g * 17)::text), 'hex') FROM generate_series(1, 3000) g");
        }
        return store(source);
    }

    @Override
    protected DataStore emptyTarget() throws SQLException {
        return store(TestPg.db(SCHEMA));
    }

    @Override
    protected DataStore nonEmptyTarget() throws SQLException {
        String db = TestPg.db(SCHEMA);
        TestPg.exec(db, "INSERT INTO repo VALUES (1, 'github.com/target/kept', 5, now())",
                "INSERT INTO note (repo_id, body) VALUES (1, 'the target''s own row')");
        return store(db);
    }

    @Override
    protected String contentOf(DataStore store) throws SQLException {
        return DbContent.tables(dbs.get(store)).toString();
    }
}
