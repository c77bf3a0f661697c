package dev.sgbackup.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sgbackup.run.IntegrityException;
import dev.sgbackup.run.StoreException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a JDBC restore verifies inside its transaction once the rows are in, before it commits: each table got the
 * rows its backup recorded, every parent row has its regenerated trigger-derived row, and no foreign key touching a
 * restored table is violated. Its single job is failing the restore (so that it rolls back) when the loaded data is
 * not what the backup promised.
 */
final class LoadVerification {
    private LoadVerification() {
    }

    /** Fails when a table got other than the rows its backup recorded (no record: nothing to compare). */
    static void checkRows(String table, JsonNode rowCounts, long rows) {
        if (rowCounts.has(table) && rowCounts.get(table).asLong() != rows) {
            throw new IntegrityException("table " + table + ": the backup recorded " + rowCounts.get(table).asText()
                    + " rows but " + rows + " were read");
        }
    }

    /** After regeneration every parent row has its derived row: otherwise the new instance never clones or indexes it. */
    static void checkDerived(Connection c, PgSchema target, List<DerivedRows.Rule> rules) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (DerivedRows.Rule r : rules) {
                if (r.statistics()) {
                    continue;
                }
                String sql = r.sql();
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + target.tables.get(r.parent()).sql() + " p WHERE"
                        + sql.substring(sql.indexOf(" NOT EXISTS ")))) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        throw new IntegrityException(rs.getLong(1) + " rows of " + r.parent() + " have no " + r.derived()
                                + " row after regenerating them as trigger " + r.trigger() + " would");
                    }
                }
            }
        }
    }

    /** One anti-join per foreign key touching a restored table; any orphan fails the restore. */
    static void checkForeignKeys(Connection c, PgSchema target, Set<String> restored) throws SQLException {
        List<String> orphans = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            for (PgSchema.ForeignKey fk : target.foreignKeys) {
                if (!restored.contains(fk.table()) && !restored.contains(fk.refTable())) {
                    continue;
                }
                StringBuilder notNull = new StringBuilder();
                StringBuilder join = new StringBuilder();
                for (int i = 0; i < fk.columns().size(); i++) {
                    if (i > 0) {
                        notNull.append(" AND ");
                        join.append(" AND ");
                    }
                    notNull.append("c.").append(PgSchema.quote(fk.columns().get(i))).append(" IS NOT NULL");
                    join.append("p.").append(PgSchema.quote(fk.refColumns().get(i))).append(" = c.")
                            .append(PgSchema.quote(fk.columns().get(i)));
                }
                String sql = "SELECT count(*) FROM " + target.tables.get(fk.table()).sql() + " c WHERE " + notNull
                        + " AND NOT EXISTS (SELECT 1 FROM " + target.tables.get(fk.refTable()).sql() + " p WHERE " + join + ")";
                try (ResultSet rs = st.executeQuery(sql)) {
                    rs.next();
                    long n = rs.getLong(1);
                    if (n > 0) {
                        orphans.add(n + " rows of " + fk.table() + " (" + fk.name() + " -> " + fk.refTable() + ")");
                    }
                }
            }
        }
        if (!orphans.isEmpty()) {
            throw new StoreException("foreign keys would be violated after the load: " + String.join(", ", orphans)
                    + " have no referenced row; restore the referenced tables too (a wider selection)");
        }
    }
}
