package dev.etcdlock.internal.transport;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void growsWithJitterUpToTheMaxAndResets() {
        Backoff backoff = new Backoff(100, 1000);
        long[] ceilings = {100, 200, 400, 800, 1000, 1000};
        for (long ceiling : ceilings) {
            long d = backoff.nextDelayNanos();
            assertTrue(d >= ceiling / 2 && d <= ceiling, d + " not in [" + ceiling / 2 + ", " + ceiling + "]");
        }
        backoff.reset();
        assertTrue(backoff.nextDelayNanos() <= 100);
    }

    @Test
    void refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(0, 10));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(10, 5));
    }
}
