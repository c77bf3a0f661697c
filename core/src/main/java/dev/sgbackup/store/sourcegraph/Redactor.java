package dev.sgbackup.store.sourcegraph;

import java.util.ArrayList;
import java.util.List;

/** Removes known secret values from text bound for messages and logs. Immutable. */
final class Redactor {
    private final List<String> secrets;

    private Redactor(List<String> secrets) {
        this.secrets = secrets;
    }

    static Redactor none() {
        return new Redactor(List.of());
    }

    Redactor and(String secret) {
        if (secret == null || secret.length() < 4) {
            return this;
        }
        List<String> s = new ArrayList<>(secrets);
        s.add(secret);
        return new Redactor(List.copyOf(s));
    }

    Redactor and(List<String> more) {
        Redactor r = this;
        for (String s : more) {
            r = r.and(s);
        }
        return r;
    }

    String scrub(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String s : secrets) {
            out = out.replace(s, "***");
        }
        return out;
    }
}
