package dev.sgbackup.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The key-range width of a deduplicated backup's parts: about splitBytes of heap each, stable as a table grows. */
class JdbcBackupKeyWidthTest {
    private static final long SPLIT = 256L << 20;

    @Test
    void aPowerOfTwoNearSplitBytesOfHeap() {
        // 3,000,000 event_logs rows in 1.4 GB of heap: 575,218 keys per 256 MiB, rounded up to 2^20
        assertThat(JdbcBackup.keyWidth(1, 3_000_000, 1_400_000_000L, SPLIT)).isEqualTo(1L << 20);
        assertThat(JdbcBackup.keyWidth(1, 1000, 1L << 40, SPLIT)).isEqualTo(1);
        assertThat(JdbcBackup.keyWidth(0, 0, 1L << 40, SPLIT)).isEqualTo(1);
    }

    @Test
    void theSameWidthAfterAppendsAndRetention() {
        long w = JdbcBackup.keyWidth(1, 3_000_000, 1_400_000_000L, SPLIT);
        // 1% appended: span and heap grow together
        assertThat(JdbcBackup.keyWidth(1, 3_030_000, 1_414_000_000L, SPLIT)).isEqualTo(w);
        // the oldest 2% deleted, VACUUM: the heap keeps its size, the span shrinks by 2%
        assertThat(JdbcBackup.keyWidth(60_001, 3_030_000, 1_414_000_000L, SPLIT)).isEqualTo(w);
        // the density doubled: twice the width, so every other boundary stays
        assertThat(JdbcBackup.keyWidth(1, 6_000_000, 1_400_000_000L, SPLIT)).isEqualTo(2 * w);
    }

    @Test
    void extremeSpansDoNotOverflow() {
        assertThat(JdbcBackup.keyWidth(Long.MIN_VALUE, Long.MAX_VALUE, 1L << 30, SPLIT)).isEqualTo(1L << 62);
        assertThat(Math.floorDiv(Long.MIN_VALUE, 1L << 62)).isEqualTo(-2);
        assertThat(Math.floorDiv(Long.MAX_VALUE, 1L << 62)).isEqualTo(1);
    }
}
