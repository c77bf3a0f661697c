package dev.sgbackup.examples.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Parsed command line: a command, flags with values ({@code --x v} or {@code --x=v}) and boolean switches. */
final class Args {
    /** A usage error: exit code 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    private Args(String command) {
        this.command = command;
    }

    /**
     * @param switches flags that take no value (e.g. {@code --json}, {@code --replace})
     */
    static Args parse(String[] argv, Set<String> withValue, Set<String> switches) {
        return parse(argv, withValue, switches, Set.of());
    }

    /**
     * @param optionalValue flags among {@code withValue} whose value may be left out (last, or followed by another
     *                      flag): they then hold the empty string
     */
    static Args parse(String[] argv, Set<String> withValue, Set<String> switches, Set<String> optionalValue) {
        if (argv.length == 0) {
            throw new UsageException("no command given");
        }
        Args a = new Args(argv[0]);
        for (int i = 1; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (switches.contains(name)) {
                if (value != null) {
                    throw new UsageException(name + " takes no value");
                }
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (withValue.contains(name)) {
                if (value == null && optionalValue.contains(name) && (i + 1 >= argv.length || argv[i + 1].startsWith("--"))) {
                    value = "";
                }
                if (value == null) {
                    if (i + 1 >= argv.length) {
                        throw new UsageException(name + " needs a value");
                    }
                    value = argv[++i];
                }
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                throw new UsageException("unknown option " + name + " for '" + a.command + "'");
            }
        }
        return a;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    String one(String name) {
        List<String> v = all(name);
        if (v.size() > 1) {
            throw new UsageException(name + " given more than once");
        }
        return v.isEmpty() ? null : v.get(0);
    }

    String required(String name) {
        String v = one(name);
        if (v == null || v.isEmpty()) {
            throw new UsageException("'" + command + "' needs " + name);
        }
        return v;
    }

    /** Parses {@code NAME=VALUE} pairs of a repeatable flag, keeping their order; names must be unique. */
    Map<String, String> pairs(String name) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String v : all(name)) {
            int eq = v.indexOf('=');
            if (eq <= 0 || eq == v.length() - 1) {
                throw new UsageException(name + " takes NAME=VALUE, got '" + v + "'");
            }
            if (m.put(v.substring(0, eq), v.substring(eq + 1)) != null) {
                throw new UsageException(name + " names '" + v.substring(0, eq) + "' twice");
            }
        }
        return m;
    }
}
