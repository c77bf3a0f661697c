package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sgbackup.store.MemoryStoreIo;
import dev.sgbackup.store.RestoreOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Tables copied by different connections at different times still come from one snapshot. */
class ConsistencyTest {
    static final String SCHEMA = "CREATE TABLE acc_a (id int PRIMARY KEY, amount bigint NOT NULL, pad text);"
            + "CREATE TABLE acc_b (id int PRIMARY KEY, amount bigint NOT NULL, pad text);"
            + "CREATE TABLE ledger (id bigint PRIMARY KEY, note text);"
            + "CREATE TABLE filler (id serial PRIMARY KEY, t text);"
            + "INSERT INTO acc_a SELECT g, 1000, repeat('x', 200) FROM generate_series(1, 60000) g;"
            + "INSERT INTO acc_b SELECT g, 1000, repeat('y', 200) FROM generate_series(1, 60000) g;"
            + "INSERT INTO filler (t) SELECT repeat('z', 300) FROM generate_series(1, 60000);";

    @Test
    void concurrentTransfersKeepTheSumAndIdsAreGapFree() throws Exception {
        run(JdbcBackup.SPLIT_BYTES);
    }

    @Test
    void tablesSplitInBlockRangesAcrossConnectionsStayConsistent() throws Exception {
        MemoryStoreIo out = run(2L << 20);
        assertThat(out.artifacts).anySatisfy(a -> assertThat(a.name()).isEqualTo("public.acc_a#3"));
        assertThat(out.artifacts.stream().filter(a -> "public.acc_a".equals(a.attributes().get("table"))).count()).isEqualTo(3);
    }

    MemoryStoreIo run(long splitBytes) throws Exception {
        String src = TestPg.emptyDb();
        TestPg.exec(src, SCHEMA);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong transfers = new AtomicLong();
        AtomicLong nextId = new AtomicLong(1);
        List<Thread> writers = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int w = 0; w < 2; w++) {
            Thread t = new Thread(() -> {
                try (Connection c = TestPg.connect(src)) {
                    c.setAutoCommit(false);
                    PreparedStatement a = c.prepareStatement("UPDATE acc_a SET amount = amount - ? WHERE id = ?");
                    PreparedStatement b = c.prepareStatement("UPDATE acc_b SET amount = amount + ? WHERE id = ?");
                    while (!stop.get()) {
                        ThreadLocalRandom r = ThreadLocalRandom.current();
                        int amt = r.nextInt(1, 50);
                        a.setInt(1, amt);
                        a.setInt(2, r.nextInt(1, 60001));
                        a.executeUpdate();
                        b.setInt(1, amt);
                        b.setInt(2, r.nextInt(1, 60001));
                        b.executeUpdate();
                        c.commit();
                        transfers.incrementAndGet();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            writers.add(t);
        }
        Thread ids = new Thread(() -> { // one writer, ids in order, each its own transaction
            try (Connection c = TestPg.connect(src); PreparedStatement ps = c.prepareStatement("INSERT INTO ledger VALUES (?, 'n')")) {
                while (!stop.get()) {
                    ps.setLong(1, nextId.getAndIncrement());
                    ps.executeUpdate();
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        });
        writers.add(ids);
        writers.forEach(Thread::start);
        Thread.sleep(300);
        MemoryStoreIo out = new MemoryStoreIo("postgres", 3);
        long before = transfers.get();
        PostgresStore.builder("db", TestPg.url(src)).mode(PostgresStore.Mode.JDBC).splitBytes(splitBytes).build().backup(out);
        long during = transfers.get() - before;
        stop.set(true);
        for (Thread t : writers) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(during).as("transfers committed while the backup ran").isPositive();

        String dst = TestPg.emptyDb();
        TestPg.exec(dst, SCHEMA.substring(0, SCHEMA.indexOf("INSERT")));
        PostgresStore.builder("db", TestPg.url(dst)).build().restore(out.input("db", RestoreOptions.defaults()));
        try (Connection c = TestPg.connect(dst); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT (SELECT sum(amount) FROM acc_a) + (SELECT sum(amount) FROM acc_b)")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(120_000_000L);
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*), coalesce(min(id), 1), coalesce(max(id), 0) FROM ledger")) {
                rs.next();
                assertThat(rs.getLong(2)).isEqualTo(1);
                assertThat(rs.getLong(3)).as("ids form a gap-free prefix").isEqualTo(rs.getLong(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM acc_a")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(60000);
            }
        }
        return out;
    }
}
