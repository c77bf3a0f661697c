package dev.sgbackup.store.sourcegraph;

import dev.sgbackup.run.CheckReport;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/** What each flavour of {@link SourcegraphConfigStore} provides: reading and writing one instance's configuration. */
interface Backend {
    String describe();

    /** {@code api} or {@code database}. */
    String source();

    /** True when a failed restore leaves the target as it was (one database transaction). */
    boolean transactional();

    String version();

    void checkSource(CheckReport report);

    /** Reads every document, in order: site config, code host connections, global, org and user settings. */
    void read(DocumentConsumer consumer) throws IOException;

    /** Target-side checks before a restore (subjects that exist, keys, rights); nothing is written. */
    void checkTarget(List<ConfigDocument> documents, CheckReport report);

    Writer writer(Consumer<String> warn) throws IOException;

    /** Writes documents into the target; only {@link #commit()} makes them final where the flavour can. */
    interface Writer extends AutoCloseable {
        void write(ConfigDocument document) throws IOException;

        /**
         * For a restore with replace, after every document was written: removes the target's code host
         * connections and settings that this restore did not write, so its configuration is the backup's.
         */
        void removeOthers() throws IOException;

        void commit() throws IOException;

        @Override
        void close() throws IOException;
    }

    /** Receives the documents {@link #read} finds. */
    interface DocumentConsumer {
        void accept(ConfigDocument document) throws IOException;
    }
}
