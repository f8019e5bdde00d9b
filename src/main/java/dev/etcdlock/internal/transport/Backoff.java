package dev.etcdlock.internal.transport;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter, so that many clients reconnecting after the same failure spread out
 * instead of hitting the surviving members in lockstep. Not thread-safe: one per retry loop or stream.
 */
public final class Backoff {
    private final long initialNanos;
    private final long maxNanos;
    private long nextCeilingNanos;

    public Backoff(long initialNanos, long maxNanos) {
        if (initialNanos <= 0 || maxNanos < initialNanos) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max");
        }
        this.initialNanos = initialNanos;
        this.maxNanos = maxNanos;
        this.nextCeilingNanos = initialNanos;
    }

    /** The delay before the next attempt: uniform in [ceiling/2, ceiling], the ceiling doubling up to the max. */
    public long nextDelayNanos() {
        long ceiling = nextCeilingNanos;
        nextCeilingNanos = Math.min(maxNanos, ceiling * 2);
        return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    }

    /** Called after a success, so the next failure starts from the initial delay again. */
    public void reset() {
        nextCeilingNanos = initialNanos;
    }
}
