package dev.sgbackup.examples.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark at smoke size on an embedded server: every step runs and both restores are checked. */
class PostgresBenchmarkSmokeTest {
    @TempDir
    Path work;

    @Test
    void smokeRun() throws Exception {
        boolean tools = Files.isExecutable(Path.of("/usr/bin/pg_dump")) || System.getenv("PATH").contains("postgresql");
        assumeTrue(tools, "pg_dump not installed");
        EmbeddedPostgres pg = dev.sgbackup.examples.EmbeddedPg.server();
        {
            PrintStream old = System.out;
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            try {
                PostgresBenchmark.main(new String[] {"--url", "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?user=postgres",
                        "--rows", "5000", "--work", work.toString()});
            } finally {
                System.setOut(old);
            }
            String out = buf.toString(StandardCharsets.UTF_8);
            System.out.println(out);
            assertThat(out).contains("pg_restore -j 2: content checked").contains("sgbackup JDBC restore: content checked")
                    .contains("JDBC backup / pg_dump -Fc").contains("client peak RSS");
        }
    }
}
