// sgbackup in JShell: build, print a plan, run it, verify and restore, all on an embedded default
// (a local directory sink; no server, no cloud account).
//
//   mvn -B -q -DskipTests package
//   jshell --class-path examples/target/sgbackup.jar examples/src/main/jshell/sgbackup.jsh
//
// Every line works typed by hand too.
import dev.sgbackup.*;
import dev.sgbackup.sink.*;
import dev.sgbackup.store.*;
import dev.sgbackup.plan.*;
import dev.sgbackup.run.*;
import java.nio.file.*;

boolean ok = false;
Path work = Files.createTempDirectory("sgbackup-jshell");
Path repos = Files.createDirectories(work.resolve("gitserver/github.com/acme/api/.git"));
Files.writeString(repos.resolve("HEAD"), "ref: refs/heads/main\n");
Files.writeString(repos.resolve("packed-refs"), "# pack-refs with: peeled fully-peeled sorted\n");

var sg = SgBackup.builder().sink(Sinks.local(work.resolve("backups"))).compression("zstd:3").build();
var plan = sg.planBackup(List.of(Stores.directory("gitserver", work.resolve("gitserver"))));
System.out.println(plan);

// An instance as data, and the plan of one of Sourcegraph's options (Scope): what is kept, what is left out and
// why, with what the checks found. Volumes only, so no server is needed; databases and the configuration API are
// described the same way (.database("frontend", "jdbc:postgresql://..."), .sourcegraph(URI.create("https://...")).
Files.writeString(Files.createDirectories(work.resolve("prometheus")).resolve("queries.active"), "");
var instance = Instance.builder().
        volume("gitserver-0", work.resolve("gitserver")).
        volume("prometheus", work.resolve("prometheus")).
        externalRedis(true).
        build();
var essential = sg.planBackup(instance, Scope.ESSENTIAL);
System.out.println(essential.explain(sg.preview(essential)));
boolean essentialOk = essential.steps().stream().anyMatch(s -> s.store().equals("prometheus") && s.action() == PlanStep.Action.BACKUP) &&
        essential.steps().stream().anyMatch(s -> s.store().equals("gitserver-0") && s.action() == PlanStep.Action.SKIP);

var result = sg.run(plan);
System.out.println(result);
System.out.println(sg.list());
System.out.println(sg.verify(result.backupId()));

var restored = sg.restore(result.backupId(), RestoreOptions.defaults(), Stores.directory("gitserver", work.resolve("restored")));
System.out.println(restored);
ok = essentialOk && result.ok() && restored.ok() && Files.readString(work.resolve("restored/github.com/acme/api/.git/HEAD")).equals("ref: refs/heads/main\n");
System.out.println(ok ? "jshell example ok" : "jshell example FAILED");
/exit (ok ? 0 : 1)
