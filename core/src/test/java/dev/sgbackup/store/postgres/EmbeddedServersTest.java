package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The test servers are the versions they claim, and Sourcegraph's schemas load into each. */
class EmbeddedServersTest {

    static java.util.List<Integer> majors() {
        return TestPg.MAJORS;
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("majors")
    void serverRunsItsMajorVersionAndLoadsSourcegraphSchemas(int major) throws Exception {
        TestPg.Server pg = TestPg.on(major);
        String db = pg.schemaDb("sourcegraph-frontend-5.11.sql");
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SHOW server_version_num")) {
                rs.next();
                assertThat(Integer.parseInt(rs.getString(1)) / 10000).isEqualTo(major);
            }
            st.execute("SET app.current_tenant = '1'");
            try (ResultSet rs = st.executeQuery("SELECT name FROM roles ORDER BY id")) {
                java.util.List<String> roles = new java.util.ArrayList<>();
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
                assertThat(roles).as("the seed rows of a migrated 5.11 instance").contains("USER", "SITE_ADMINISTRATOR");
            }
        }
        String old = pg.schemaDb("sourcegraph-frontend-3.21.sql");
        try (Connection c = pg.connect(old); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'repo'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }
}
