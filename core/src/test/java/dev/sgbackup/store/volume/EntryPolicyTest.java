package dev.sgbackup.store.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.store.volume.EntryPolicy.Action;
import dev.sgbackup.store.volume.EntryPolicy.Existing;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The path-safety policy alone, against an in-memory stage: each hostile entry (after the earlier entries of its
 * row) is refused with its exact message; benign entries are accepted and placed where they belong.
 */
class EntryPolicyTest {
    private static final String TAIL = "; the archive was not written by sgbackup or was altered, so nothing of it"
            + " was restored and the target was left as it was";

    /** A stage that is a map of relative names; what the policy makes is recorded. */
    private static final class MapStage implements EntryPolicy.Stage {
        final Map<String, Existing> names = new LinkedHashMap<>();
        final List<String> made = new ArrayList<>();

        @Override
        public Existing at(String rel) {
            return names.getOrDefault(rel, Existing.MISSING);
        }

        @Override
        public void makeDirectory(String rel) {
            names.put(rel, Existing.DIRECTORY);
            made.add(rel);
        }
    }

    private final MapStage stage = new MapStage();
    private final EntryPolicy policy = new EntryPolicy("data", stage);

    static TarArchiveEntry file(String name) {
        return new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
    }

    static TarArchiveEntry dir(String name) {
        return new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true);
    }

    static TarArchiveEntry symlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        return e;
    }

    static TarArchiveEntry hardLink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
        e.setLinkName(target);
        return e;
    }

    static TarArchiveEntry typed(String name, byte flag) {
        return new TarArchiveEntry(name, flag, true);
    }

    /** Asks the policy what the writer asks it, and records what the writer would create. */
    private EntryPolicy.Decision admit(TarArchiveEntry e) throws IOException {
        EntryPolicy.Decision d = policy.decide(e);
        switch (d.action()) {
            case ROOT, SKIP -> {
                return d;
            }
            case HARD_LINK -> policy.hardLinkSource(e, d.linkRel());
            default -> {
            }
        }
        policy.parentsOf(d.rel(), e.getName());
        switch (d.action()) {
            case DIRECTORY -> {
                if (stage.at(d.rel()) != Existing.MISSING) {
                    policy.directoryExists(d.rel(), e.getName());
                }
                stage.names.put(d.rel(), Existing.DIRECTORY);
                policy.directoryMade(d.rel());
            }
            case SYMLINK -> stage.names.put(d.rel(), Existing.SYMLINK);
            default -> stage.names.put(d.rel(), Existing.OTHER);
        }
        return d;
    }

    static Stream<Arguments> hostile() {
        return Stream.of(
                // the name alone
                row("empty name", List.of(), file(""), "has an empty name"),
                row("NUL in the name", List.of(), file("a\0b"), "contains a NUL character"),
                row("absolute path", List.of(), file("/etc/passwd"), "is an absolute path, which would land outside the target"),
                row("absolute directory", List.of(), dir("/tmp/x"), "is an absolute path, which would land outside the target"),
                row("leading ..", List.of(), file("../escape"), "contains '..', which could land outside the target"),
                row(".. in the middle", List.of(), file("a/../../escape"), "contains '..', which could land outside the target"),
                row("trailing ..", List.of(), dir("a/.."), "contains '..', which could land outside the target"),
                row("only ..", List.of(), file(".."), "contains '..', which could land outside the target"),
                // symbolic links
                row("symlink without a target", List.of(), symlink("link", ""), "is a symbolic link with an empty or invalid target"),
                row("symlink target with NUL", List.of(), symlink("link", "a\0b"), "is a symbolic link with an empty or invalid target"),
                row("write through a planted symlink", List.of(symlink("evil", "/etc")), file("evil/passwd"),
                        "would be written through the symbolic link 'evil' (an earlier entry)"),
                row("write deep through a planted symlink", List.of(dir("a"), symlink("a/b", "../../..")), file("a/b/c/d"),
                        "would be written through the symbolic link 'a/b' (an earlier entry)"),
                row("directory over a planted symlink", List.of(symlink("evil", "/etc")), dir("evil"),
                        "would be written through the symbolic link 'evil' (an earlier entry)"),
                // hard links
                row("hard link to an absolute path", List.of(), hardLink("h", "/etc/shadow"),
                        "is a hard link to '/etc/shadow' and is an absolute path, which would land outside the target"),
                row("hard link with ..", List.of(), hardLink("h", "../outside"),
                        "is a hard link to '../outside' and contains '..', which could land outside the target"),
                row("hard link with an empty link name", List.of(), hardLink("h", ""),
                        "is a hard link to '' and has an empty name"),
                row("hard link to the target itself", List.of(), hardLink("h", "./"),
                        "is a hard link to './' and links to the target directory itself"),
                row("hard link to nothing", List.of(), hardLink("h", "missing"),
                        "is a hard link to 'missing' and no earlier entry has that name"),
                row("hard link to a directory", List.of(dir("d")), hardLink("h", "d"),
                        "is a hard link to 'd' and that is a directory"),
                row("hard link through a planted symlink", List.of(symlink("evil", "/etc")), hardLink("h", "evil/shadow"),
                        "is a hard link to 'evil/shadow' and would be written through the symbolic link 'evil' (an earlier entry)"),
                row("hard link below a file", List.of(file("f")), hardLink("h", "f/x"),
                        "is a hard link to 'f/x' and needs 'f' to be a directory, but an earlier entry made it a file"),
                row("hard link into a directory no entry made", List.of(), hardLink("h", "nodir/x"),
                        "is a hard link to 'nodir/x' and refers to 'nodir', which no earlier entry created"),
                // earlier entries
                row("file below a file", List.of(file("f")), file("f/x"),
                        "needs 'f' to be a directory, but an earlier entry made it a file"),
                row("directory over a file", List.of(file("f")), dir("f"),
                        "is a directory, but an earlier entry made 'f' a file"));
    }

    private static Arguments row(String title, List<TarArchiveEntry> earlier, TarArchiveEntry entry, String why) {
        return Arguments.of(title, earlier, entry, why);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostileEntryIsRefusedWithItsReason(String title, List<TarArchiveEntry> earlier, TarArchiveEntry entry,
                                            String why) throws IOException {
        for (TarArchiveEntry e : earlier) {
            admit(e);
        }
        assertThatThrownBy(() -> admit(entry))
                .isInstanceOf(IntegrityException.class)
                .hasMessage("refused tar entry '" + entry.getName() + "' of volume store 'data': it " + why + TAIL);
    }

    @Test
    void aSecondEntryOfTheSameNameIsRefused() {
        assertThat(policy.duplicate("a/b")).hasMessage("refused tar entry 'a/b' of volume store 'data': it appears"
                + " a second time (refusing to overwrite the earlier entry)" + TAIL);
        assertThat(policy.invalidLinkTarget("l")).hasMessage("refused tar entry 'l' of volume store 'data': it is a"
                + " symbolic link with an invalid target" + TAIL);
    }

    static Stream<Arguments> skipped() {
        return Stream.of(
                Arguments.of(typed("dev/tty", TarConstants.LF_CHR), "skipped tar entry dev/tty: devices and FIFOs are not restored"),
                Arguments.of(typed("dev/sda", TarConstants.LF_BLK), "skipped tar entry dev/sda: devices and FIFOs are not restored"),
                Arguments.of(typed("run/fifo", TarConstants.LF_FIFO), "skipped tar entry run/fifo: devices and FIFOs are not restored"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("skipped")
    void devicesAndFifosAreSkippedWithAWarning(TarArchiveEntry entry, String warning) throws IOException {
        EntryPolicy.Decision d = admit(entry);
        assertThat(d.action()).isEqualTo(Action.SKIP);
        assertThat(d.warning()).isEqualTo(warning);
        assertThat(stage.names).isEmpty();
    }

    @Test
    void benignEntriesAreAcceptedWhereTheyBelong() throws IOException {
        assertThat(admit(dir("./")).action()).isEqualTo(Action.ROOT);
        assertThat(admit(dir(".")).action()).isEqualTo(Action.ROOT);
        assertThat(admit(dir("a"))).isEqualTo(new EntryPolicy.Decision(Action.DIRECTORY, "a", null, null));
        assertThat(admit(file("./a//b.txt")).rel()).isEqualTo("a/b.txt");
        assertThat(admit(file("deep/er/c")).rel()).isEqualTo("deep/er/c");
        assertThat(stage.made).as("missing parents are made").containsExactly("deep", "deep/er");
        // links may point anywhere: they are created, never followed
        assertThat(admit(symlink("abs", "/etc/passwd")).action()).isEqualTo(Action.SYMLINK);
        assertThat(admit(symlink("up", "../../x")).action()).isEqualTo(Action.SYMLINK);
        assertThat(admit(hardLink("a/same", "./a/b.txt"))).isEqualTo(
                new EntryPolicy.Decision(Action.HARD_LINK, "a/same", "a/b.txt", null));
        // a hard link to a symlink is a link to the link itself
        assertThat(admit(hardLink("up2", "up")).action()).isEqualTo(Action.HARD_LINK);
        // a directory given again after its contents, or after a parent was made for it
        assertThat(admit(dir("a")).action()).isEqualTo(Action.DIRECTORY);
        assertThat(admit(dir("deep/er")).action()).isEqualTo(Action.DIRECTORY);
        assertThat(admit(file("dots..in..name")).rel()).isEqualTo("dots..in..name");
        assertThat(admit(file("...")).rel()).isEqualTo("...");
        // Commons Compress takes an unknown type under a plain name for a file (and under a name ending in '/'
        // for a directory), so the "unsupported type" warning is left for what it classes as neither
        assertThat(admit(typed("odd", (byte) 'Z')).action()).isEqualTo(Action.FILE);
    }

    @Test
    void aRestoreNameCheckNeedsNoStage() {
        assertThat(EntryPolicy.relative("data", "a/./b/", "a/./b/", "")).isEqualTo("a/b");
        assertThat(EntryPolicy.relative("data", "./", "./", "")).isEmpty();
        assertThatThrownBy(() -> EntryPolicy.relative("data", "/x", "h", "is a hard link to '/x', "))
                .hasMessage("refused tar entry 'h' of volume store 'data': it is a hard link to '/x', is an absolute"
                        + " path, which would land outside the target" + TAIL);
    }
}
