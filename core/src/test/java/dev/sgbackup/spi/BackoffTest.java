package dev.sgbackup.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void eachRetryWaitsBetweenHalfAndAllOfTheDoubledCappedDelay() {
        Backoff b = Backoff.of(Duration.ofMillis(100), Duration.ofMillis(300));
        for (int i = 0; i < 200; i++) {
            assertThat(b.delay(1)).isBetween(Duration.ofMillis(50), Duration.ofMillis(100));
            assertThat(b.delay(2)).isBetween(Duration.ofMillis(100), Duration.ofMillis(200));
            assertThat(b.delay(3)).isBetween(Duration.ofMillis(150), Duration.ofMillis(300)); // capped, not 400
            assertThat(b.delay(40)).isBetween(Duration.ofMillis(150), Duration.ofMillis(300)); // no overflow
        }
        assertThat(Backoff.of(Duration.ZERO, Duration.ZERO).delay(5)).isZero();
    }

    @Test
    void theDelaysAreJittered() {
        Backoff b = Backoff.of(Duration.ofSeconds(1), Duration.ofSeconds(32));
        assertThat(java.util.stream.IntStream.range(0, 20).mapToObj(i -> b.delay(4)).distinct().count()).isGreaterThan(1);
    }

    @Test
    void anInitialDelayAboveTheMaximumOrNegativeIsRefused() {
        assertThatThrownBy(() -> Backoff.of(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 <= initial <= max");
        assertThatThrownBy(() -> Backoff.of(Duration.ofSeconds(-1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
