package dev.sgbackup.dedup;

import dev.sgbackup.sink.BackupSink;

/** An open deduplicated repository: the sink, where in it ({@link Layout}), and its keys ({@link KeyObject}). */
record Repo(BackupSink sink, Layout layout, RepoKeys keys) {
}
