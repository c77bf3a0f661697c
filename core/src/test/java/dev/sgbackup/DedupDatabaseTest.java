package dev.sgbackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.manifest.Manifest;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.postgres.PgFixtures;
import dev.sgbackup.store.postgres.PostgresStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deduplicated database backups copy tables in primary-key order, a large table in parts of fixed key ranges (see
 * docs/dedup.md, "Databases"): they restore like any backup, and rows appended between two backups cost the last
 * part's chunks only.
 */
class DedupDatabaseTest {
    private static final String FRONTEND = "sourcegraph-frontend-5.11.sql";
    /** Small enough that event_logs with {@link #ROWS} rows (about 20 MB of heap) is split into several parts. */
    private static final long SPLIT = 4L << 20;
    private static final int ROWS = 60_000;

    @TempDir
    Path tmp;

    private static void exec(String db, String... sql) throws Exception {
        try (Connection c = DriverManager.getConnection(PgFixtures.url(db)); Statement st = c.createStatement()) {
            st.execute("SET app.current_tenant = '1'");
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    private static long scalar(String db, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(PgFixtures.url(db)); Statement st = c.createStatement()) {
            st.execute("SET app.current_tenant = '1'");
            try (ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** event_logs rows with ids {@code from..to}, about 300 bytes each in COPY text. */
    private static String events(long from, long to) {
        return "INSERT INTO event_logs (id, name, url, user_id, anonymous_user_id, source, argument, version, \"timestamp\")"
                + " SELECT g, 'ViewBlob', 'https://sourcegraph.example.com/github.com/org/repo' || (g % 997) || '/-/blob/f' || g || '.go',"
                + " 0, 'anon-' || md5(g::text), 'WEB', jsonb_build_object('query', 'lang:go func' || (g % 5000), 'n', g),"
                + " '5.11.0', timestamptz '2024-01-01' + (g || ' seconds')::interval FROM generate_series(" + from + ", " + to + ") g";
    }

    private static PostgresStore store(String db) {
        return PostgresStore.builder("frontend", PgFixtures.url(db)).mode(PostgresStore.Mode.JDBC).splitBytes(SPLIT).build();
    }

    private static List<ArtifactInfo> eventParts(Manifest m) {
        return m.artifacts().stream().filter(a -> a.name().startsWith("public.event_logs#")).toList();
    }

    @Test
    void keyOrderedPartsRoundTripAndAnAppendCostsOnlyTheLastPart() throws Exception {
        String db = PgFixtures.filled(FRONTEND);
        long start = scalar(db, "SELECT coalesce(max(id), 0) FROM event_logs") + 1;
        exec(db, events(start, start + ROWS - 1), "VACUUM ANALYZE event_logs");
        Map<String, String> before = PgFixtures.tables(db);
        SgBackup sg = SgBackup.builder().sink(Sinks.local(tmp.resolve("sink"))).dedup(true).parallelism(2).build();

        RunResult first = sg.backup(store(db));
        assertThat(first.ok()).as(first.toString()).isTrue();
        Manifest m1 = sg.show(first.backupId());
        List<ArtifactInfo> parts1 = eventParts(m1);
        // parts of fixed key ranges, in key order, described by their attributes; the first is open below, the last above
        assertThat(parts1.size()).isGreaterThan(2);
        assertThat(parts1).allSatisfy(a -> {
            assertThat(a.attributes()).containsEntry("order", "key").containsEntry("table", "public.event_logs")
                    .containsEntry("parts", Integer.toString(parts1.size()));
        });
        ArtifactInfo firstPart = parts1.stream().filter(a -> a.attributes().get("part").equals("1")).findFirst().orElseThrow();
        assertThat(firstPart.attributes()).doesNotContainKey("keyFrom").containsKey("keyTo");
        ArtifactInfo lastPart = parts1.stream().filter(a -> a.attributes().get("part").equals(Integer.toString(parts1.size())))
                .findFirst().orElseThrow();
        assertThat(lastPart.attributes()).containsKey("keyFrom").doesNotContainKey("keyTo");
        // a table with a key that is not split is still copied in key order
        assertThat(m1.artifacts()).filteredOn(a -> a.name().equals("public.users"))
                .singleElement().satisfies(a -> assertThat(a.attributes()).containsEntry("order", "key"));
        // a table without a primary key is copied in physical order, as in a full backup
        assertThat(m1.artifacts()).filteredOn(a -> a.name().equals("public.user_emails"))
                .singleElement().satisfies(a -> assertThat(a.attributes()).doesNotContainKey("order"));

        // restore into a freshly migrated instance, in the restore's transaction: the content is the source's
        String target = PgFixtures.migrated(FRONTEND);
        RunResult r1 = sg.restore(first.backupId(), new RestoreOptions(true, false), store(target));
        assertThat(r1.ok()).as(r1.toString()).isTrue();
        assertThat(PgFixtures.tables(target)).isEqualTo(before);

        // 1% more rows: only the part holding the new keys (and a new part, if they cross a boundary) has new bytes
        long next = start + ROWS;
        exec(db, events(next, next + ROWS / 100 - 1), "VACUUM ANALYZE event_logs");
        Map<String, String> after = PgFixtures.tables(db);
        RunResult second = sg.backup(store(db));
        assertThat(second.ok()).as(second.toString()).isTrue();
        Manifest m2 = sg.show(second.backupId());
        List<ArtifactInfo> parts2 = eventParts(m2);
        assertThat(parts2.size()).isBetween(parts1.size(), parts1.size() + 1);
        long eventBytes = parts2.stream().mapToLong(ArtifactInfo::size).sum();
        long eventNew = parts2.stream().mapToLong(a -> a.chunks().newBytes()).sum();
        assertThat(parts2).filteredOn(a -> a.chunks().newBytes() > 0).hasSizeLessThanOrEqualTo(2)
                .allSatisfy(a -> assertThat(a.attributes()).containsKey("keyFrom"));
        long allNew = m2.artifacts().stream().mapToLong(a -> a.chunks().newBytes()).sum();
        System.out.printf("event_logs: %d parts, %,d bytes; second backup: %,d new bytes in event_logs, %,d in all%n",
                parts2.size(), eventBytes, eventNew, allNew);
        // the appended rows are about 1% of event_logs; their part's chunks (at most 4 MiB each) are new
        assertThat(allNew).isLessThan(eventBytes / 4);
        assertThat(allNew - eventNew).as("new bytes outside event_logs").isLessThan(64 << 10);

        // the second restore stages event_logs (its parts load in parallel into a private copy that is swapped in)
        String target2 = PgFixtures.migrated(FRONTEND);
        long oid = scalar(target2, "SELECT 'public.event_logs'::regclass::oid");
        RunResult r2 = sg.restore(second.backupId(), new RestoreOptions(true, false),
                PostgresStore.builder("frontend", PgFixtures.url(target2)).mode(PostgresStore.Mode.JDBC)
                        .stageFromBytes(1 << 20).build());
        assertThat(r2.ok()).as(r2.toString()).isTrue();
        assertThat(scalar(target2, "SELECT 'public.event_logs'::regclass::oid")).as("event_logs was staged").isNotEqualTo(oid);
        assertThat(PgFixtures.tables(target2)).isEqualTo(after);
    }

    @Test
    void fullBackupsAndDedupKeyOrderOffKeepPhysicalOrder() throws Exception {
        String db = PgFixtures.filled(FRONTEND);
        long start = scalar(db, "SELECT coalesce(max(id), 0) FROM event_logs") + 1;
        exec(db, events(start, start + ROWS - 1), "VACUUM ANALYZE event_logs");
        Map<String, String> before = PgFixtures.tables(db);
        SgBackup full = SgBackup.builder().sink(Sinks.local(tmp.resolve("full"))).parallelism(2).build();
        RunResult f = full.backup(store(db));
        assertThat(full.show(f.backupId()).artifacts()).allSatisfy(a -> assertThat(a.attributes()).doesNotContainKey("order"));
        SgBackup dedup = SgBackup.builder().sink(Sinks.local(tmp.resolve("dedup"))).dedup(true).parallelism(2).build();
        RunResult d = dedup.backup(PostgresStore.builder("frontend", PgFixtures.url(db)).mode(PostgresStore.Mode.JDBC)
                .splitBytes(SPLIT).dedupKeyOrder(false).build());
        Manifest m = dedup.show(d.backupId());
        assertThat(m.artifacts()).allSatisfy(a -> assertThat(a.attributes()).doesNotContainKey("order"));
        // physical order: block-range parts, as many as the parallelism
        assertThat(eventParts(m)).hasSize(2);
        String target = PgFixtures.migrated(FRONTEND);
        RunResult r = dedup.restore(d.backupId(), new RestoreOptions(true, false), store(target));
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(PgFixtures.tables(target)).isEqualTo(before);
    }
}
