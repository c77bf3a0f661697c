package dev.sgbackup.examples.cli;

import dev.sgbackup.run.Operation;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sgbackup.plan.MigrationPlan;
import dev.sgbackup.plan.PlanStep;
import dev.sgbackup.run.RunResult;
import dev.sgbackup.run.StepResult;
import dev.sgbackup.run.CheckReport;
import java.util.List;
import java.util.Locale;

/**
 * The JSON the CLI prints for {@code plan --json}, {@code backup --json} and {@code restore [--dry-run] --json}
 * (documented in docs/plans.md), and writes with {@code --report FILE}. No secrets: endpoints are redacted, the
 * token is named by where it came from only.
 */
final class RunJson {
    /** Where an endpoint of the run came from: {@code flag} (and which) or {@code environment} (and which variable). */
    record Endpoint(String store, String kind, String endpoint, String from, String source, String tokenFrom) {
    }

    private RunJson() {
    }

    /**
     * @param plan      the plan (null if it could not be made)
     * @param result    the run's result (null when refused or not run)
     * @param checks    what the checks found (null if they did not run)
     * @param endpoints where each endpoint came from; the sink is the one with store null
     * @param error     the failure or refusal, or null
     */
    static ObjectNode run(ObjectMapper json, String command, MigrationPlan plan, RunResult result, CheckReport checks,
                          List<Endpoint> endpoints, String error, boolean refused) {
        ObjectNode o = json.createObjectNode();
        o.put("operation", plan != null ? plan.operation().name().toLowerCase(Locale.ROOT) : command);
        String id = result != null ? result.backupId() : plan != null ? plan.backupId() : null;
        o.put("backupId", id);
        o.put("dryRun", plan != null && plan.operation() == Operation.RESTORE && plan.options().dryRun());
        o.put("ok", error == null);
        o.put("refused", refused);
        if (result != null) {
            o.put("committed", result.committed());
        } else {
            o.putNull("committed");
        }
        o.put("error", error);
        if (plan != null) {
            o.put("scope", plan.scope().id());
        }
        ObjectNode sink = o.putObject("sink");
        sink.put("uri", plan == null ? null : plan.sink());
        endpoints.stream().filter(e -> e.store() == null).findFirst().ifPresent(e -> {
            sink.put("from", e.from());
            sink.put("source", e.source());
        });
        ArrayNode stores = o.putArray("stores");
        if (plan != null) {
            for (PlanStep s : plan.steps()) {
                ObjectNode st = stores.addObject();
                st.put("store", s.store());
                st.put("kind", s.kind());
                st.put("action", s.action().id());
                st.put("holds", s.holds());
                st.put("estimatedSize", s.estimatedSize());
                st.put("note", s.note());
                endpoints.stream().filter(e -> s.store().equals(e.store())).findFirst().ifPresent(e -> {
                    st.put("endpoint", e.endpoint());
                    st.put("from", e.from());
                    st.put("source", e.source());
                    if (e.tokenFrom() != null) {
                        st.put("tokenFrom", e.tokenFrom());
                    }
                });
                ArrayNode tables = st.putArray("tables");
                if (checks != null) {
                    checks.changes().stream().filter(c -> c.subject().equals(s.store()) && c.action() != CheckReport.Change.Action.CLEAR)
                            .forEach(c -> tables.add(c.item()));
                }
            }
        }
        ArrayNode empties = o.putArray("empties");
        ArrayNode refusals = o.putArray("refusals");
        ArrayNode findings = o.putArray("findings");
        if (checks != null) {
            for (CheckReport.Change c : checks.changes()) {
                if (c.action() != CheckReport.Change.Action.WRITE) {
                    change(empties.addObject(), c);
                }
            }
            for (CheckReport.Finding f : checks.findings()) {
                finding(f.error() ? refusals.addObject() : findings.addObject(), f);
            }
        }
        ArrayNode steps = o.putArray("steps");
        if (result != null) {
            for (StepResult s : result.steps()) {
                ObjectNode st = steps.addObject();
                st.put("store", s.step());
                st.put("kind", s.kind());
                st.put("status", s.status().name().toLowerCase(Locale.ROOT));
                st.put("artifacts", s.artifacts());
                st.put("bytes", s.bytes());
                st.put("storedBytes", s.storedBytes());
                st.put("durationMs", s.duration().toMillis());
                st.put("message", s.message());
                ArrayNode w = st.putArray("warnings");
                s.warnings().forEach(w::add);
            }
            o.put("durationMs", result.duration().toMillis());
        }
        ArrayNode notes = o.putArray("notes");
        if (plan != null) {
            plan.notes().forEach(notes::add);
        }
        return o;
    }

    /** Every finding and change of a check: what {@code --report FILE} writes. */
    static ObjectNode report(ObjectMapper json, CheckReport checks) {
        ObjectNode o = json.createObjectNode();
        o.put("ok", checks.ok());
        o.put("errors", checks.errors().size());
        ArrayNode findings = o.putArray("findings");
        checks.findings().forEach(f -> finding(findings.addObject(), f));
        ArrayNode changes = o.putArray("changes");
        checks.changes().forEach(c -> change(changes.addObject(), c));
        return o;
    }

    private static void finding(ObjectNode o, CheckReport.Finding f) {
        o.put("store", f.subject());
        o.put("level", f.level().name().toLowerCase(Locale.ROOT));
        o.put("brief", f.brief());
        o.put("message", f.message());
    }

    private static void change(ObjectNode o, CheckReport.Change c) {
        o.put("store", c.subject());
        o.put("table", c.item());
        o.put("action", c.action().name().toLowerCase(Locale.ROOT));
        o.put("category", c.category());
        o.put("rows", c.rows());
        o.put("because", c.because());
    }

    /** The endpoints as text lines for a plan: {@code endpoints} then one line each. */
    static String text(List<Endpoint> endpoints) {
        if (endpoints.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("endpoints:\n");
        for (Endpoint e : endpoints) {
            sb.append(String.format("  %-16s %s  (%s %s%s)%n", e.store() == null ? "sink" : e.store(), e.endpoint(), e.from(), e.source(),
                    e.tokenFrom() == null ? "" : "; token from " + e.tokenFrom()));
        }
        return sb.toString();
    }

}
