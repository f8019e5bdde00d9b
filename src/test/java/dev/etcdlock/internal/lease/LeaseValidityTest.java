package dev.etcdlock.internal.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client must always count a lease dead before etcd can: validity ends a margin before send time + TTL. */
class LeaseValidityTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void validityEndsAMarginBeforeSendTimePlusTtl() {
        long sentAt = 1_000_000 * MS;
        assertEquals(sentAt + 2_000 * MS - 20 * MS, LeaseManager.validUntil(sentAt, 2)); // 1 %
        assertEquals(sentAt + 3_000 * MS - 30 * MS, LeaseManager.validUntil(sentAt, 3));
        assertEquals(sentAt + 60_000 * MS - 500 * MS, LeaseManager.validUntil(sentAt, 60)); // capped
        assertEquals(sentAt + 1_000 * MS - 10 * MS, LeaseManager.validUntil(sentAt, 1)); // at least 10 ms
    }

    @Test
    void validityIsComputedOnAClockThatMayWrap() {
        long sentAt = Long.MAX_VALUE - 500 * MS; // nanoTime may be anywhere, even near overflow
        long until = LeaseManager.validUntil(sentAt, 3);
        assertEquals(2_970 * MS, until - sentAt);
    }
}
