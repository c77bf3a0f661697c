package dev.sgbackup.store.volume;

import dev.sgbackup.run.InvalidInputException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;

/**
 * Exclude globs, as in rsync and tar: a glob without '/' matches an entry's name at any depth
 * ({@code *.tmp}, {@code cache}); a glob with '/' matches the path relative to the volume root
 * ({@code objects/pack/tmp_*}, {@code /lost+found}; a leading '/' only anchors). An excluded directory is
 * skipped with everything in it.
 */
final class Excludes {
    private final List<String> globs;
    private final List<PathMatcher> byName = new ArrayList<>();
    private final List<PathMatcher> byPath = new ArrayList<>();

    Excludes(List<String> globs) {
        this.globs = List.copyOf(globs);
        for (String glob : this.globs) {
            if (glob.isBlank()) {
                throw new InvalidInputException("exclude glob is empty; give a pattern such as '*.tmp'");
            }
            String g = glob;
            while (g.startsWith("/")) {
                g = g.substring(1);
            }
            while (g.endsWith("/") && g.length() > 1) {
                g = g.substring(0, g.length() - 1);
            }
            try {
                PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + g);
                if (glob.contains("/")) {
                    byPath.add(m);
                    if (g.endsWith("/**") && g.length() > 3) { // "cache/**" leaves out the directory itself too
                        byPath.add(FileSystems.getDefault().getPathMatcher("glob:" + g.substring(0, g.length() - 3)));
                    }
                } else {
                    byName.add(m);
                }
            } catch (RuntimeException e) {
                throw new InvalidInputException("exclude glob '" + glob + "' is not a valid glob: " + e.getMessage()
                        + "; use *, ?, ** and [abc] as in shell globs");
            }
        }
    }

    List<String> globs() {
        return globs;
    }

    boolean isEmpty() {
        return globs.isEmpty();
    }

    /** @param relative path relative to the volume root, '/'-separated; @param name its last element */
    boolean excluded(String relative, String name) {
        if (!byName.isEmpty()) {
            Path n = Path.of(name);
            for (PathMatcher m : byName) {
                if (m.matches(n)) {
                    return true;
                }
            }
        }
        if (!byPath.isEmpty()) {
            Path r = Path.of(relative);
            for (PathMatcher m : byPath) {
                if (m.matches(r)) {
                    return true;
                }
            }
        }
        return false;
    }
}
