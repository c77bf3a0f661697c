package dev.sgbackup.examples.cli;

import dev.sgbackup.store.StoreKind;
import static dev.sgbackup.examples.cli.CliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sgbackup.SgBackup;
import dev.sgbackup.sink.Sinks;
import dev.sgbackup.store.ArtifactInfo;
import dev.sgbackup.store.BackupOutput;
import dev.sgbackup.store.DataStore;
import dev.sgbackup.store.RestoreInput;
import dev.sgbackup.Stores;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migration journey through the CLI: the plan says everything before it runs, refusals are one line and exit 3,
 * failed runs keep their steps, JSON answers, only the stores named by flags are written.
 */
class CliJourneyTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> VOLUMES = List.of("gitserver-0", "gitserver-1", "zoekt", "prometheus", "blobstore");

    @TempDir
    Path tmp;
    String sink;

    @BeforeEach
    void volumes() throws Exception {
        for (String v : VOLUMES) {
            Files.createDirectories(tmp.resolve("src/" + v + "/a"));
            Files.writeString(tmp.resolve("src/" + v + "/a/data"), v.repeat(100));
        }
        sink = tmp.resolve("sink").toUri().toString();
    }

    List<String> volumeFlags(String dir) {
        List<String> flags = new ArrayList<>();
        for (String v : VOLUMES) {
            flags.add("--volume");
            flags.add(v + "=" + tmp.resolve(dir + "/" + v));
        }
        return flags;
    }

    String backupAll() {
        List<String> args = new ArrayList<>(List.of("backup", "--to", sink));
        args.addAll(volumeFlags("src"));
        CliTest.Run b = cli(args.toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isZero();
        return b.last();
    }

    CliTest.Run restore(String id, String dir, String... more) {
        List<String> args = new ArrayList<>(List.of("restore", "--from", sink, "--backup", id));
        args.addAll(volumeFlags(dir));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    @Test
    void thePlanShowsItsChecksAndWhereEachEndpointCameFromAndWritesNothing() {
        CliTest.Run p = cli("plan", "--volume", "zoekt=" + tmp.resolve("src/zoekt"), "--to", sink);
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.out()).contains("backup  scope=custom").containsPattern("backup +zoekt").contains("checks: passed")
                .contains("endpoints:").containsPattern("sink +" + java.util.regex.Pattern.quote(sink) + " +\\(flag --to\\)")
                .containsPattern("zoekt +" + java.util.regex.Pattern.quote(tmp.resolve("src/zoekt").toString()) + " +\\(flag --volume\\)");
        assertThat(tmp.resolve("sink")).doesNotExist(); // not even the probe a backup's check writes
        assertThat(p.err()).isEmpty();
    }

    @Test
    void aRefusedRestoreIsOneLineExitsThreeAndTheReportHasEveryFinding() throws Exception {
        String id = backupAll();
        for (String v : VOLUMES) {
            Files.createDirectories(tmp.resolve("dst/" + v));
            Files.writeString(tmp.resolve("dst/" + v + "/old"), "keep me");
        }
        CliTest.Run r = restore(id, "dst");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).isEmpty();
        List<String> refused = r.err().lines().filter(l -> l.startsWith("refused: ")).toList();
        assertThat(refused).singleElement().asString().startsWith("refused: 5 findings (gitserver-0 not empty, gitserver-1 not empty, zoekt not empty, …)")
                .endsWith("; all of them: --report FILE").hasSizeLessThan(400);
        assertThat(r.err()).doesNotContain("error: ");

        Path report = tmp.resolve("report.json");
        CliTest.Run withReport = restore(id, "dst", "--report", report.toString());
        assertThat(withReport.code()).isEqualTo(3);
        assertThat(withReport.err()).contains("; all of them: " + report);
        JsonNode json = JSON.readTree(report.toFile());
        assertThat(json.get("ok").asBoolean()).isFalse();
        assertThat(json.get("errors").asInt()).isEqualTo(5);
        assertThat(json.get("findings")).hasSize(5);
        List<String> stores = new ArrayList<>();
        json.get("findings").forEach(f -> {
            assertThat(f.get("level").asText()).isEqualTo("error");
            assertThat(f.get("message").asText()).contains("--replace");
            stores.add(f.get("store").asText());
        });
        assertThat(stores).containsExactlyInAnyOrderElementsOf(VOLUMES);
        for (String v : VOLUMES) {
            assertThat(Files.readString(tmp.resolve("dst/" + v + "/old"))).isEqualTo("keep me"); // nothing changed
        }
    }

    @Test
    void dryRunJsonSaysWhatTheRestoreWouldDo() throws Exception {
        String id = backupAll();
        CliTest.Run r = restore(id, "new", "--dry-run", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("operation").asText()).isEqualTo("restore");
        assertThat(j.get("backupId").asText()).isEqualTo(id);
        assertThat(j.get("dryRun").asBoolean()).isTrue();
        assertThat(j.get("ok").asBoolean()).isTrue();
        assertThat(j.get("refused").asBoolean()).isFalse();
        assertThat(j.get("sink").get("uri").asText()).startsWith(sink);
        assertThat(j.get("sink").get("from").asText()).isEqualTo("flag");
        assertThat(j.get("stores")).hasSize(5);
        j.get("stores").forEach(s -> {
            assertThat(s.get("action").asText()).isEqualTo("restore");
            assertThat(s.get("from").asText()).isEqualTo("flag");
            assertThat(s.get("source").asText()).isEqualTo("--volume");
            assertThat(s.get("endpoint").asText()).isEqualTo(tmp.resolve("new/" + s.get("store").asText()).toString());
        });
        assertThat(j.get("refusals")).isEmpty();
        assertThat(j.get("empties")).isEmpty();
        assertThat(j.get("steps")).hasSize(5);
        j.get("steps").forEach(s -> {
            assertThat(s.get("status").asText()).isEqualTo("skipped");
            assertThat(s.get("message").asText()).contains("dry run");
        });
        assertThat(tmp.resolve("new")).doesNotExist();
        assertThat(r.err()).doesNotContain("refused");

        // refused: still JSON on stdout, with the refusals
        Files.createDirectories(tmp.resolve("new/zoekt"));
        Files.writeString(tmp.resolve("new/zoekt/x"), "x");
        CliTest.Run refused = restore(id, "new", "--dry-run", "--json");
        assertThat(refused.code()).isEqualTo(3);
        JsonNode rj = JSON.readTree(refused.out());
        assertThat(rj.get("ok").asBoolean()).isFalse();
        assertThat(rj.get("refused").asBoolean()).isTrue();
        assertThat(rj.get("refusals")).singleElement().satisfies(f -> {
            assertThat(f.get("store").asText()).isEqualTo("zoekt");
            assertThat(f.get("message").asText()).contains("--replace");
        });
        assertThat(rj.get("steps")).isEmpty();
        assertThat(refused.err()).contains("refused: zoekt: ");
    }

    @Test
    void dryRunTextShowsThePlanWithItsChecks() throws Exception {
        String id = backupAll();
        CliTest.Run r = restore(id, "new", "--dry-run");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("restore backup " + id).contains("dry-run").contains("checks: passed").contains("endpoints:")
                .contains("zoekt volume skipped 0 artifacts 0 bytes (dry run: checks passed, nothing written)");
        assertThat(tmp.resolve("new")).doesNotExist();
    }

    @Test
    void checkWarningsShowInTheDryRunPlanAndOnStderrOfTheRun() throws Exception {
        String id = backupAll();
        Path leftover = tmp.resolve("new/zoekt/.sgbackup-restore-123");
        Files.createDirectories(leftover);
        CliTest.Run dry = restore(id, "new", "--dry-run", "--replace");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(dry.out()).contains("checks: passed, 1 warning").contains("WARN  zoekt: " + leftover + " is left over");
        CliTest.Run run = restore(id, "new", "--replace");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.err()).contains("warning: zoekt: " + leftover + " is left over");
        assertThat(run.out()).doesNotContain("left over");
    }

    @Test
    void aFailedRunPrintsEveryStepOnStderrAndAsJson() throws Exception {
        String id = backupAll();
        Path data = tmp.resolve("sink/data/" + id + "/zoekt");
        CliTest.damageFirstArtifact(data);

        CliTest.Run r = restore(id, "dst", "--json");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("error: restore of store 'zoekt' failed").contains("restore " + id + " FAILED")
                .containsPattern("zoekt +volume +failed").containsPattern("prometheus +volume +(completed|skipped)");
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("ok").asBoolean()).isFalse();
        assertThat(j.get("refused").asBoolean()).isFalse();
        assertThat(j.get("error").asText()).contains("zoekt");
        assertThat(j.get("steps")).hasSize(5);
        List<String> statuses = new ArrayList<>();
        j.get("steps").forEach(s -> {
            statuses.add(s.get("store").asText() + "=" + s.get("status").asText());
            assertThat(s.has("durationMs")).isTrue();
            assertThat(s.has("bytes")).isTrue();
        });
        assertThat(statuses).contains("zoekt=failed");

        CliTest.Run text = restore(id, "dst2");
        assertThat(text.code()).isEqualTo(1);
        assertThat(text.out()).isEmpty();
        assertThat(text.err()).contains("restore " + id + " FAILED").containsPattern("zoekt +volume +failed");
    }

    @Test
    void aFailedBackupPrintsEveryStepOnStderr() throws Exception {
        Files.createDirectories(tmp.resolve("sink"));
        Files.writeString(tmp.resolve("sink/data"), "not a directory"); // the probe passes, the artifacts cannot be written
        List<String> args = new ArrayList<>(List.of("backup", "--to", sink, "--json"));
        args.addAll(volumeFlags("src"));
        CliTest.Run b = cli(args.toArray(String[]::new));
        assertThat(b.code()).as(b.err()).isEqualTo(1);
        assertThat(b.err()).contains("nothing was committed").containsPattern("backup \\S+ FAILED")
                .containsPattern("(gitserver-0|gitserver-1|zoekt|prometheus|blobstore) +volume +failed");
        JsonNode j = JSON.readTree(b.out());
        assertThat(j.get("operation").asText()).isEqualTo("backup");
        assertThat(j.get("ok").asBoolean()).isFalse();
        assertThat(j.get("committed").asBoolean()).isFalse();
        assertThat(j.get("steps")).hasSize(5);
    }

    @Test
    void backupJsonIsTheRunResult() throws Exception {
        CliTest.Run b = cli("backup", "--volume", "zoekt=" + tmp.resolve("src/zoekt"), "--to", sink, "--json");
        assertThat(b.code()).as(b.err()).isZero();
        JsonNode j = JSON.readTree(b.out());
        assertThat(j.get("operation").asText()).isEqualTo("backup");
        assertThat(j.get("committed").asBoolean()).isTrue();
        assertThat(j.get("backupId").asText()).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(j.get("steps")).singleElement().satisfies(s -> {
            assertThat(s.get("store").asText()).isEqualTo("zoekt");
            assertThat(s.get("status").asText()).isEqualTo("completed");
            assertThat(s.get("bytes").asLong()).isPositive();
        });
    }

    // ------------------------------------------------------------------ only what the user asked for

    /** A stand-in for the configuration store in a backup (the CLI restores it with a real one). */
    static final class FakeConfig implements DataStore {
        @Override
        public String name() {
            return "config";
        }

        @Override
        public StoreKind kind() {
            return StoreKind.SOURCEGRAPH_CONFIG;
        }

        @Override
        public String describe() {
            return "site config";
        }

        @Override
        public void backup(BackupOutput out) throws IOException {
            try (OutputStream o = out.artifact("site-config")) {
                o.write("{}".getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        public void restore(RestoreInput in) throws IOException {
            for (ArtifactInfo a : in.artifacts()) {
                try (InputStream s = in.open(a)) {
                    s.readAllBytes();
                }
            }
        }
    }

    String backupWithConfig() {
        SgBackup sg = SgBackup.to(Sinks.local(tmp.resolve("sink")));
        return sg.backup(new FakeConfig(), Stores.directory("zoekt", tmp.resolve("src/zoekt"))).backupId();
    }

    static CliTest.Run cliEnv(Map<String, String> env, String... args) {
        return CliEncryptionTest.cli(env, args);
    }

    @Test
    void sourcegraphWithoutUrlTakesSrcEndpointAndThePlanSaysSo() throws Exception {
        String id = backupWithConfig();
        Map<String, String> env = Map.of("SRC_ENDPOINT", "http://127.0.0.1:9", "SRC_ACCESS_TOKEN", "sgp_secret-token-value");
        CliTest.Run r = cliEnv(env, "restore", "--from", sink, "--backup", id, "--volume", "zoekt=" + tmp.resolve("z"), "--sourcegraph",
                "--dry-run", "--json");
        // the configuration check cannot reach 127.0.0.1:9: refused, still JSON
        assertThat(r.code()).as(r.err()).isEqualTo(3);
        assertThat(r.err().lines().filter(l -> l.startsWith("refused: "))).singleElement().asString().contains("Sourcegraph at http://127.0.0.1:9");
        assertThat(r.out()).doesNotContain("sgp_secret-token-value");
        assertThat(r.err()).doesNotContain("sgp_secret-token-value");
        JsonNode j = JSON.readTree(r.out());
        JsonNode config = null;
        for (JsonNode s : j.get("stores")) {
            if (s.get("store").asText().equals("config")) {
                config = s;
            }
        }
        assertThat(config).isNotNull();
        assertThat(config.get("action").asText()).isEqualTo("restore");
        assertThat(config.get("endpoint").asText()).isEqualTo("http://127.0.0.1:9");
        assertThat(config.get("from").asText()).isEqualTo("environment");
        assertThat(config.get("source").asText()).isEqualTo("SRC_ENDPOINT");
        assertThat(config.get("tokenFrom").asText()).isEqualTo("environment SRC_ACCESS_TOKEN");
        assertThat(j.get("notes").toString()).contains("config: endpoint http://127.0.0.1:9 from SRC_ENDPOINT (environment)");

        CliTest.Run missing = cliEnv(Map.of(), "restore", "--from", sink, "--backup", id, "--sourcegraph", "--dry-run");
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("--sourcegraph without a URL takes it from SRC_ENDPOINT, which is not set");
    }

    /** The CLI's main class in a child JVM with exactly {@code env} as its environment. */
    static CliTest.Run subprocess(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(env);
        Path out = Files.createTempFile("cli-out", ".txt");
        Path err = Files.createTempFile("cli-err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        CliTest.Run r = new CliTest.Run(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    @Test
    void theEnvironmentNeverAddsARestoreTarget() throws Exception {
        String id = backupWithConfig();
        // SRC_ENDPOINT set, but only --volume named: the configuration is skipped, whatever the environment says
        CliTest.Run r = subprocess(Map.of("PATH", System.getenv("PATH"), "LANG", "C.UTF-8", "SRC_ENDPOINT", "http://127.0.0.1:9",
                "SRC_ACCESS_TOKEN", "sgp_x"), "restore", "--from", sink, "--backup", id, "--volume", "zoekt=" + tmp.resolve("z"),
                "--dry-run", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        List<String> actions = new ArrayList<>();
        j.get("stores").forEach(s -> actions.add(s.get("store").asText() + "=" + s.get("action").asText()));
        assertThat(actions).containsExactlyInAnyOrder("zoekt=restore", "config=skip");
        assertThat(r.err()).contains("skipped: store config");
    }

    @Test
    void underThePosixLocaleOnlyVolumeCommandsAreRefused() throws Exception {
        Map<String, String> posix = Map.of("PATH", System.getenv("PATH"));
        CliTest.Run help = subprocess(posix, "--help");
        assertThat(help.code()).as(help.err()).isZero();
        assertThat(help.out()).contains("usage: sgbackup");
        String id = backupAll();
        CliTest.Run list = subprocess(posix, "list", "--from", sink);
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).startsWith(id);
        CliTest.Run show = subprocess(posix, "show", "--from", sink, "--backup", id);
        assertThat(show.code()).as(show.err()).isZero();
        // a database-only plan gets past the encoding check to its own checks (the server is unreachable: refused)
        CliTest.Run db = subprocess(posix, "plan", "--postgres", "frontend=jdbc:postgresql://127.0.0.1:1/sg?user=sg", "--to", sink);
        assertThat(db.err()).doesNotContain("encoding").contains("127.0.0.1:1");
        assertThat(db.code()).isEqualTo(3);
        CliTest.Run volume = subprocess(posix, "plan", "--volume", "zoekt=" + tmp.resolve("src/zoekt"), "--to", sink);
        assertThat(volume.code()).isEqualTo(1);
        assertThat(volume.err()).contains("not UTF-8").contains("LANG=C.UTF-8");
    }

    // ------------------------------------------------------------------ what the library offers, the CLI reaches

    @Test
    void helpListsTheFlagsAndExitCodes() {
        CliTest.Run r = CliTest.cli("--help");
        assertThat(r.out()).contains("--sourcegraph-db JDBC_URL").contains("--external-postgres").contains("--external-redis")
                .contains("--pg-restore-jobs N").contains("--report FILE").contains("--json")
                .contains("3 refused by a check (nothing changed)");
    }

    @Test
    void externalDatabasesAndRedisAreNothingToMove() {
        CliTest.Run p = CliTest.cli("plan", "--scope", "essential", "--volume", "prometheus=" + tmp.resolve("src/prometheus"),
                "--external-postgres", "--external-redis", "--to", sink);
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.out()).containsPattern("skip +postgres").contains("external database").contains("nothing to move")
                .contains("external Redis: the new instance reuses it in place");
        assertThat(CliTest.cli("plan", "--volume", "prometheus=" + tmp.resolve("src/prometheus"), "--external-redis", "--to", sink)
                .code()).isEqualTo(2);
    }

    @Test
    void configFromTheDatabaseAndRestoreJobsAreReachable() {
        CliTest.Run p = CliTest.cli("plan", "--sourcegraph-db", "jdbc:postgresql://127.0.0.1:1/sg?user=sg&password=pw-s3cret", "--to", sink);
        assertThat(p.out() + p.err()).doesNotContain("pw-s3cret");
        assertThat(p.code()).isEqualTo(3); // unreachable: refused by its check, with the plan printed
        assertThat(p.out()).containsPattern("backup +config +sourcegraph-config").contains("(flag --sourcegraph-db)");
        assertThat(CliTest.cli("plan", "--sourcegraph-db", "jdbc:postgresql://h/sg", "--sourcegraph", "http://x", "--to", sink).code())
                .isEqualTo(2);

        String id = backupAll();
        CliTest.Run jobs = CliTest.cli("restore", "--from", sink, "--backup", id, "--volume", "zoekt=" + tmp.resolve("z"),
                "--pg-restore-jobs", "4");
        assertThat(jobs.code()).isEqualTo(2);
        assertThat(jobs.err()).contains("--pg-restore-jobs is for PostgreSQL targets");
        assertThat(CliTest.cli("restore", "--from", sink, "--backup", id, "--postgres", "x=jdbc:postgresql://h/sg",
                "--pg-restore-jobs", "0").code()).isEqualTo(2);
    }

    // ------------------------------------------------------------------ the progress bar

    @Test
    void stderrOnATerminalIsRecognised() {
        assertThat(Terminal.isTerminalDevice("/dev/pts/3")).isTrue();
        assertThat(Terminal.isTerminalDevice("/dev/tty1")).isTrue();
        assertThat(Terminal.isTerminalDevice("/dev/tty")).isTrue();
        assertThat(Terminal.isTerminalDevice("pipe:[12345]")).isFalse();
        assertThat(Terminal.isTerminalDevice("/dev/null")).isFalse();
        assertThat(Terminal.isTerminalDevice("/tmp/sgbackup.log")).isFalse();
        assertThat(Terminal.isTerminalDevice("socket:[99]")).isFalse();
    }

    @Test
    void theBarShowsWhenOnlyStdoutIsRedirected() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux script gives the child a terminal");
        Path idFile = tmp.resolve("id.txt");
        Path errFile = tmp.resolve("err.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String base = "'" + java + "' -Xmx128m -XX:TieredStopAtLevel=1 -cp '" + System.getProperty("java.class.path") + "' "
                + Main.class.getName() + " backup --volume zoekt='" + tmp.resolve("src/zoekt") + "' --to '" + sink + "'";
        // like ID=$(sgbackup backup ...): stdout is a file, stderr the terminal
        Process p = new ProcessBuilder("/usr/bin/script", "-qec", base + " > '" + idFile + "'", "/dev/null")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        String terminal = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(terminal).isZero();
        assertThat(Files.readString(idFile).strip().lines().reduce((a, b) -> b).orElseThrow()).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(terminal).contains("\r[").contains("100%");

        // stderr to a file: plain lines, no bar
        Process q = new ProcessBuilder("/usr/bin/script", "-qec", base + " > /dev/null 2> '" + errFile + "'", "/dev/null")
                .redirectErrorStream(true).start();
        q.getOutputStream().close();
        q.getInputStream().readAllBytes();
        assertThat(q.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(errFile)).contains("zoekt: started").doesNotContain("\r");
    }

    @Test
    void mainUsesItsOwnStreams() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false,
                true).run(new String[] {"backup", "--volume", "zoekt=" + tmp.resolve("src/zoekt"), "--to", sink});
        assertThat(code).isZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("\r[");
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("\r");
    }
}
