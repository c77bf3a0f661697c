package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.InvalidInputException;
import dev.sgbackup.run.StoreException;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.run.CheckReport;
import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.store.RestoreOptions;
import dev.sgbackup.store.StoreBackup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pg_dump strategy with the machine's pg_dump (same major as the embedded server). */
class PgDumpTest {
    static String src;
    static Map<String, String> content;
    static MemoryStoreIo dump;

    @BeforeAll
    static void dumpFilledFrontend() throws Exception {
        assumeTrue(PgTool.find("pg_dump", null).isPresent(), "pg_dump not installed (apt-get install postgresql-client)");
        src = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        content = DbContent.tables(src);
        dump = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.PG_DUMP).build().backup(dump);
    }

    @Test
    void dumpIsOneCustomFormatArtifactWithTheFacts() throws Exception {
        assertThat(dump.properties.get("strategy")).isEqualTo("pg_dump");
        assertThat(dump.properties).containsKeys("schema.fingerprint", "server.version", "sourcegraph.version");
        assertThat(dump.artifacts).singleElement().satisfies(a -> assertThat(a.name()).isEqualTo("pg_dump"));
        assertThat(new String(dump.bytes("pg_dump"), 0, 5)).isEqualTo("PGDMP");
    }

    @Test
    void restoresIntoAnEmptyDatabaseStreamedAndInParallel() throws Exception {
        String dst = TestPg.emptyDb();
        PostgresStore.builder("frontend", TestPg.url(dst)).build().restore(dump.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.tables(dst)).isEqualTo(content);
        assertThat(DbContent.sequences(dst)).isEqualTo(DbContent.sequences(src));

        String par = TestPg.emptyDb();
        PostgresStore.builder("frontend", TestPg.url(par)).restoreJobs(2).build()
                .restore(dump.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.tables(par)).isEqualTo(content);
    }

    @Test
    void nonEmptyTargetNeedsReplaceWhichRunsInOneTransaction() throws Exception {
        String dst = TestPg.schemaDb("sourcegraph-frontend-5.11.sql");
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).build();
        assertThatThrownBy(() -> store.restore(dump.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("empty database")
                .hasMessageContaining("--replace");
        store.restore(dump.input("frontend", new RestoreOptions(true, false)));
        assertThat(DbContent.tables(dst)).isEqualTo(content);
    }

    @Test
    void toolErrorsFailWithTheToolsMessageAndRollBack() throws Exception {
        String dst = TestPg.emptyDb();
        TestPg.exec(dst, "CREATE TABLE keep (id int)", "INSERT INTO keep VALUES (7)");
        MemoryStoreIo broken = new MemoryStoreIo("postgres", 1);
        broken.properties.putAll(dump.properties);
        var out = broken.artifact("pg_dump", Map.of());
        out.write("PGDMP this is not a dump".getBytes());
        out.close();
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst)).build()
                .restore(broken.input("frontend", new RestoreOptions(true, false))))
                .isInstanceOf(StoreException.class).hasMessageContaining("pg_restore into")
                .hasMessageContaining("pg_restore: error");
        assertThat(DbContent.rows(dst, "keep")).isEqualTo(1);
    }

    @Test
    void olderOrMissingPgDumpIsRefusedAndAutoFallsBackToJdbc(@TempDir Path bin) throws Exception {
        Path fake = bin.resolve("pg_dump");
        Files.writeString(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        String db = TestPg.emptyDb();
        TestPg.exec(db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
        assertThatThrownBy(() -> PostgresStore.builder("db", TestPg.url(db)).mode(PostgresStore.Mode.PG_DUMP).binDir(bin)
                .build().backup(new MemoryStoreIo("postgres", 1)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("pg_dump 9 (" + fake + ") is older than the server (15)")
                .hasMessageContaining("pg_dump 15 or newer");
        MemoryStoreIo auto = new MemoryStoreIo("postgres", 1);
        PostgresStore.builder("db", TestPg.url(db)).binDir(bin).build().backup(auto);
        assertThat(auto.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(auto.warnings).anyMatch(w -> w.contains("older than the server") && w.contains("over JDBC instead"));

        Path empty = Files.createDirectory(bin.resolve("empty"));
        MemoryStoreIo none = new MemoryStoreIo("postgres", 1);
        PostgresStore.builder("db", TestPg.url(db)).binDir(empty).build().backup(none);
        assertThat(none.properties.get("strategy")).isEqualTo("jdbc");
        assertThat(none.warnings).anyMatch(w -> w.contains("pg_dump is not installed"));
    }

    // ---- helpers ----

    static final RestoreOptions REPLACE = new RestoreOptions(true, false);

    /** A copy of a pg_dump backup that a test may damage. */
    static MemoryStoreIo copy(MemoryStoreIo from) throws Exception {
        MemoryStoreIo c = new MemoryStoreIo("postgres", 2);
        c.properties.putAll(from.properties);
        try (var out = c.artifact(PgDump.ARTIFACT, Map.of())) {
            out.write(from.bytes(PgDump.ARTIFACT));
        }
        return c;
    }

    /** Intact bytes, but the backup recorded another SHA-256: pg_restore alone would restore them happily. */
    static RestoreInput wrongHash(MemoryStoreIo io, RestoreOptions options) {
        StoreBackup b = io.storeBackup("frontend");
        List<ArtifactInfo> arts = b.artifacts().stream().map(a -> new ArtifactInfo(a.name(), a.key(), a.size(),
                "0".repeat(64), a.storedSize(), a.storedSha256(), a.transforms(), a.attributes())).toList();
        return io.input(new StoreBackup(b.name(), b.kind(), b.description(), b.properties(), arts, b.warnings()), options);
    }

    /**
     * {@code input} read in pieces of 8 to 16 KiB (as a decompressing stream may deliver them), whose end (where
     * the hashes are checked) comes only once pg_restore has exited or waits for more input: as with a slow sink,
     * pg_restore has all the time it needs to commit whatever it was given.
     */
    static RestoreInput slowEnd(RestoreInput input) {
        return new WrappedInput(input, 1, (a, stream) -> new java.io.FilterInputStream(stream) {
            long read;

            @Override
            public int read(byte[] b, int off, int len) throws java.io.IOException {
                if (read >= a.size()) {
                    awaitPgRestoreReadingStdin();
                }
                long left = a.size() - read; // pieces of 8 KiB or more, the last one too
                int n = super.read(b, off, (int) Math.min(len, left <= len || left - len >= 8192 ? left : left - 8192));
                read += Math.max(n, 0);
                return n;
            }
        });
    }

    /** Until every pg_restore this JVM started has exited or is blocked in read(0, ...) (Linux /proc), twice in a row. */
    static void awaitPgRestoreReadingStdin() throws java.io.IOException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        int quiet = 0;
        while (System.nanoTime() < deadline) {
            boolean busy = false;
            for (ProcessHandle h : ProcessHandle.current().descendants().toList()) {
                if (h.info().command().orElse("").endsWith("pg_restore")) {
                    try {
                        String call = Files.readString(Path.of("/proc/" + h.pid() + "/syscall"));
                        busy |= !call.startsWith("0 0x0 "); // read(2) on fd 0
                    } catch (java.io.IOException gone) {
                        // exited meanwhile
                    }
                }
            }
            quiet = busy ? 0 : quiet + 1;
            if (quiet == 2) {
                return;
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
        }
        throw new java.io.IOException("pg_restore still busy after 120 s");
    }

    /** Tables (and partitioned tables) outside the system schemas. */
    static long tableCount(String db) throws Exception {
        try (Connection c = TestPg.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
                        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static long userObjects(String db) throws Exception {
        try (Connection c = TestPg.connect(db)) {
            return PgRestore.userObjects(c);
        }
    }

    /** Every kind of object a small instance has: schema, extension, tables, FK, index, view, function, enum, sequence. */
    static final String[] SMALL = {
        "CREATE EXTENSION citext",
        "CREATE SCHEMA extra",
        "CREATE TABLE extra.parent (id int PRIMARY KEY, name citext)",
        "CREATE TYPE public.mood AS ENUM ('a', 'b')",
        // the restore fails in its data phase in a database where app.allow = 'no'
        "CREATE TABLE public.t (id serial PRIMARY KEY, p int REFERENCES extra.parent, m public.mood,"
                + " v text CHECK (current_setting('app.allow', true) IS DISTINCT FROM 'no'))",
        "CREATE INDEX t_v ON public.t (v)",
        "CREATE VIEW public.tv AS SELECT * FROM public.t",
        "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "INSERT INTO extra.parent VALUES (1, 'One')",
        "INSERT INTO public.t (p, m, v) SELECT 1, 'a', 'x' || g FROM generate_series(1, 2000) g"};

    static MemoryStoreIo smallDump() throws Exception {
        String db = TestPg.db(SMALL);
        MemoryStoreIo io = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(db)).mode(PostgresStore.Mode.PG_DUMP).build().backup(io);
        return io;
    }

    // ---- damaged artifacts never reach the target ----

    @Test
    void damagedArtifactIntoAnEmptyDatabaseLeavesItEmpty() throws Exception {
        long size = dump.recorded(PgDump.ARTIFACT).size();

        // intact bytes whose recorded hash differs: pg_restore would commit them if it saw the end of its input
        String dst = TestPg.emptyDb();
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst)).build()
                .restore(slowEnd(wrongHash(dump, RestoreOptions.defaults()))))
                .isInstanceOf(IntegrityException.class);
        assertThat(tableCount(dst)).isZero();

        MemoryStoreIo flipped = copy(dump);
        flipped.damage(PgDump.ARTIFACT, size - 3); // in the last data block's end marker
        String dst2 = TestPg.emptyDb();
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst2)).build()
                .restore(flipped.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class);
        assertThat(tableCount(dst2)).isZero();

        MemoryStoreIo cut = copy(dump);
        cut.truncate(PgDump.ARTIFACT, size - 200);
        String dst3 = TestPg.emptyDb();
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(dst3)).build()
                .restore(cut.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class);
        assertThat(tableCount(dst3)).isZero();
    }

    @Test
    void damagedArtifactWithReplaceLeavesTheFilledDatabaseAsItWas() throws Exception {
        String dst = JdbcRoundTripTest.filled("sourcegraph-frontend-5.11.sql");
        TestPg.exec(dst, "SET app.current_tenant = '1'", "INSERT INTO users (username) VALUES ('only-in-target')");
        Map<String, String> before = DbContent.tables(dst);
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).build();

        assertThatThrownBy(() -> store.restore(slowEnd(wrongHash(dump, REPLACE)))).isInstanceOf(IntegrityException.class);
        assertThat(DbContent.tables(dst)).isEqualTo(before);

        MemoryStoreIo flipped = copy(dump);
        flipped.damage(PgDump.ARTIFACT, dump.recorded(PgDump.ARTIFACT).size() - 3);
        assertThatThrownBy(() -> store.restore(flipped.input("frontend", REPLACE))).isInstanceOf(IntegrityException.class);
        assertThat(DbContent.tables(dst)).isEqualTo(before);

        MemoryStoreIo cut = copy(dump);
        cut.truncate(PgDump.ARTIFACT, dump.recorded(PgDump.ARTIFACT).size() - 200);
        assertThatThrownBy(() -> store.restore(cut.input("frontend", REPLACE))).isInstanceOf(IntegrityException.class);
        assertThat(DbContent.tables(dst)).isEqualTo(before);
    }

    @Test
    void parallelRestoreChecksTheStagedFileBeforePgRestoreRuns(@TempDir Path bin) throws Exception {
        Path log = bin.resolve("calls.log");
        Path wrapper = bin.resolve("pg_restore");
        Files.writeString(wrapper, "#!/bin/sh\necho \"$@\" >> '" + log + "'\nexec '"
                + PgTool.find("pg_restore", null).orElseThrow().path() + "' \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        MemoryStoreIo small = smallDump();
        String dst = TestPg.emptyDb();
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).binDir(bin).restoreJobs(2).build();

        assertThatThrownBy(() -> store.restore(wrongHash(small, RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class);
        assertThat(Files.readAllLines(log)).isNotEmpty().noneMatch(l -> l.contains("--jobs")).noneMatch(l -> l.contains(".dump"));
        assertThat(tableCount(dst)).isZero();

        store.restore(small.input("frontend", RestoreOptions.defaults()));
        assertThat(Files.readAllLines(log)).anyMatch(l -> l.contains("--jobs=2"));
        assertThat(DbContent.rows(dst, "t")).isEqualTo(2000);
    }

    @Test
    void failedParallelRestoreDropsWhatItCreated() throws Exception {
        MemoryStoreIo small = smallDump();
        String dst = TestPg.emptyDb();
        TestPg.exec(dst, "ALTER DATABASE " + dst + " SET app.allow = 'no'"); // COPY into public.t fails its CHECK
        assertThat(userObjects(dst)).isZero();
        CheckReport plan = new CheckReport();
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).restoreJobs(2).build();
        store.checkRestore(small.storeBackup("frontend"), RestoreOptions.defaults(), plan);
        assertThat(plan.toString()).contains("pg_restore -j 2").contains("dropped again");

        assertThatThrownBy(() -> store.restore(small.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("pg_restore -j 2 into")
                .hasMessageContaining("violates check constraint \"t_check\"")
                .hasMessageContaining("dropped again, so the database is empty as before");
        assertThat(userObjects(dst)).isZero();
        assertThat(tableCount(dst)).isZero();
    }

    @Test
    void parallelIntoADatabaseWithObjectsOfItsOwnRunsInOneTransaction() throws Exception {
        MemoryStoreIo small = smallDump();
        String dst = TestPg.db("CREATE FUNCTION keep_me() RETURNS int LANGUAGE sql AS 'SELECT 7'");
        PostgresStore store = PostgresStore.builder("frontend", TestPg.url(dst)).restoreJobs(3).build();
        CheckReport plan = new CheckReport();
        store.checkRestore(small.storeBackup("frontend"), RestoreOptions.defaults(), plan);
        assertThat(plan.ok()).as(plan.toString()).isTrue();
        assertThat(plan.toString()).contains("one job, in one transaction").contains("objects of its own");

        MemoryStoreIo cut = copy(small);
        cut.truncate(PgDump.ARTIFACT, small.recorded(PgDump.ARTIFACT).size() - 10);
        assertThatThrownBy(() -> store.restore(cut.input("frontend", RestoreOptions.defaults())))
                .isInstanceOf(IntegrityException.class);
        assertThat(tableCount(dst)).isZero();
        assertThat(cut.warnings).anyMatch(w -> w.contains("pg_restore runs with one job"));

        store.restore(small.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.rows(dst, "t")).isEqualTo(2000);
        TestPg.exec(dst, "SELECT keep_me()");

        CheckReport replace = new CheckReport();
        store.checkRestore(small.storeBackup("frontend"), REPLACE, replace);
        assertThat(replace.toString()).contains("one job, in one transaction").contains("replace");
    }

    // ---- Sourcegraph versions, tool versions, secrets ----

    @Test
    void replaceIntoAnotherSourcegraphVersionIsRefusedLikeJdbc() throws Exception {
        String src = TestPg.schemaDb(VersionCheckTest.SCHEMA);
        VersionCheckTest.version(src, "5.11.6271");
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(src)).mode(PostgresStore.Mode.PG_DUMP).build().backup(out);
        assertThat(out.properties.get("strategy")).isEqualTo("pg_dump");
        assertThat(out.properties.get("sourcegraph.version")).contains("5.11.6271");

        String other = TestPg.schemaDb(VersionCheckTest.SCHEMA);
        VersionCheckTest.version(other, "5.12.0");
        Map<String, String> before = DbContent.tables(other);
        assertThatThrownBy(() -> PostgresStore.builder("frontend", TestPg.url(other)).build()
                .restore(out.input("frontend", REPLACE)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("the backup is from Sourcegraph frontend 5.11.6271")
                .hasMessageContaining("runs frontend 5.12.0")
                .hasMessageContaining("database restores need the same version");
        assertThat(DbContent.tables(other)).isEqualTo(before);

        String same = TestPg.schemaDb(VersionCheckTest.SCHEMA);
        VersionCheckTest.version(same, "5.11.6271");
        PostgresStore.builder("frontend", TestPg.url(same)).build().restore(out.input("frontend", REPLACE));
        assertThat(DbContent.tables(same)).isEqualTo(DbContent.tables(src));

        CheckReport empty = new CheckReport(); // nothing to compare with
        PostgresStore.builder("frontend", TestPg.url(TestPg.emptyDb())).build()
                .checkRestore(out.storeBackup("frontend"), RestoreOptions.defaults(), empty);
        assertThat(empty.findings()).as(empty.toString()).noneMatch(f -> f.message().contains("Sourcegraph"));
    }

    @Test
    void aToolOlderThanANewerServerIsRefusedWithTheFix(@TempDir Path bin) throws Exception {
        Path p15 = Path.of("/usr/lib/postgresql/15/bin/pg_dump");
        String why = PgTool.unusable(Optional.of(new PgTool(p15, 15, "pg_dump (PostgreSQL) 15.18")), 16, "pg_dump");
        assertThat(why).isEqualTo("pg_dump 15 (" + p15 + ") is older than the server (16); it needs pg_dump 16 or newer"
                + " (postgresql-client-16)");
        assertThat(PgTool.unusable(Optional.of(new PgTool(p15, 16, "")), 16, "pg_dump")).isNull();
        assertThat(PgTool.unusable(Optional.of(new PgTool(p15, 17, "")), 16, "pg_restore")).isNull();
        assertThat(PgTool.unusable(Optional.empty(), 16, "pg_restore")).contains("not installed").contains("postgresql-client-16");

        // the version line as Debian's and the upstream binaries print it
        Path fake = bin.resolve("pg_dump");
        Files.writeString(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        assertThat(PgTool.find("pg_dump", bin)).hasValueSatisfying(t -> assertThat(t.major()).isEqualTo(15));
        Files.writeString(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.1'\n");
        assertThat(PgTool.find("pg_dump", bin)).hasValueSatisfying(t -> assertThat(t.major()).isEqualTo(14));

        // at check time, against the real server (15): the same refusal, before anything runs
        CheckReport r = new CheckReport();
        PostgresStore.builder("db", TestPg.url(TestPg.emptyDb())).mode(PostgresStore.Mode.PG_DUMP).binDir(bin).build()
                .checkBackup(r);
        assertThat(r.ok()).isFalse();
        assertThat(r.toString()).contains("pg_dump 14 (" + fake + ") is older than the server (15)")
                .contains("postgresql-client-15").contains("mode JDBC");

        Path fakeRestore = bin.resolve("pg_restore");
        Files.writeString(fakeRestore, "#!/bin/sh\necho 'pg_restore (PostgreSQL) 14.1'\n");
        Files.setPosixFilePermissions(fakeRestore, PosixFilePermissions.fromString("rwx------"));
        CheckReport rr = new CheckReport();
        PostgresStore.builder("db", TestPg.url(TestPg.emptyDb())).binDir(bin).build()
                .checkRestore(dump.storeBackup("frontend"), RestoreOptions.defaults(), rr);
        assertThat(rr.toString()).contains("pg_restore 14 (" + fakeRestore + ") is older than the server (15)");
    }

    @Test
    void passwordsNeverAppearInMessages() throws Exception {
        String password = "pw-Very-Secret-4711";
        TestPg.requirePassword("sgpw", password);
        MemoryStoreIo small = smallDump();
        String dst = TestPg.emptyDb();
        TestPg.exec("postgres", "ALTER DATABASE " + dst + " OWNER TO sgpw");
        String url = "jdbc:postgresql://localhost:" + TestPg.port() + "/" + dst + "?user=sgpw";
        PostgresStore store = PostgresStore.builder("frontend", url).password(password.toCharArray()).build();
        store.restore(small.input("frontend", RestoreOptions.defaults()));
        assertThat(DbContent.rows(dst, "t")).isEqualTo(2000);

        MemoryStoreIo broken = new MemoryStoreIo("postgres", 1);
        broken.properties.putAll(small.properties);
        try (var out = broken.artifact(PgDump.ARTIFACT, Map.of())) {
            out.write(("PGDMP " + password + " not a dump").getBytes());
        }
        assertThatThrownBy(() -> store.restore(broken.input("frontend", REPLACE)))
                .isInstanceOf(StoreException.class).hasMessageContaining("pg_restore into")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(password));
        assertThatThrownBy(() -> PostgresStore.builder("frontend", url).password("wrong-Password-99".toCharArray()).build()
                .restore(small.input("frontend", REPLACE)))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("wrong-Password-99").contains("refused the login"));
    }

    // ---- Sourcegraph schemas round trip with replace ----

    @ParameterizedTest
    @ValueSource(strings = {"sourcegraph-frontend-5.11.sql", "sourcegraph-frontend-3.21.sql"})
    void sourcegraphSchemaReplacesAFreshAndAFilledInstance(String schema) throws Exception {
        String source = JdbcRoundTripTest.filled(schema);
        Map<String, String> want = DbContent.tables(source);
        MemoryStoreIo out = new MemoryStoreIo("postgres", 2);
        PostgresStore.builder("frontend", TestPg.url(source)).mode(PostgresStore.Mode.PG_DUMP).build().backup(out);

        String fresh = TestPg.schemaDb(schema); // seed rows only
        PostgresStore.builder("frontend", TestPg.url(fresh)).build().restore(out.input("frontend", REPLACE));
        assertThat(DbContent.tables(fresh)).isEqualTo(want);
        assertThat(DbContent.sequences(fresh)).isEqualTo(DbContent.sequences(source));

        String extra = TestPg.schemaDb(schema);
        TestPg.exec(extra, "SET app.current_tenant = '1'", "INSERT INTO users (username) VALUES ('extra-user')",
                "INSERT INTO repo (name) VALUES ('github.com/extra/repo')");
        PostgresStore.builder("frontend", TestPg.url(extra)).build().restore(out.input("frontend", REPLACE));
        assertThat(DbContent.tables(extra)).isEqualTo(want);
        assertThat(DbContent.structure(extra)).isEqualTo(DbContent.structure(source));
    }
}
