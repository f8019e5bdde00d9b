package dev.etcdlock.internal.lease;

import dev.etcdlock.internal.Ticker;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One etcd lease kept alive by the {@link LeaseManager}. Readable from any thread; its keep-alive bookkeeping is
 * touched only in the client's serial context.
 */
public final class Lease {
    enum State { ACTIVE, REVOKED, LOST }

    private final long id;
    private final Ticker ticker;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile long ttlSeconds;
    private volatile long validUntilNanos;
    private volatile State state = State.ACTIVE;

    // serial context only
    final ArrayDeque<Long> unansweredSendTimes = new ArrayDeque<>(4);
    ScheduledFuture<?> keepAliveTimer;
    ScheduledFuture<?> expiryTimer;

    Lease(long id, long ttlSeconds, long validUntilNanos, Ticker ticker) {
        this.id = id;
        this.ttlSeconds = ttlSeconds;
        this.validUntilNanos = validUntilNanos;
        this.ticker = ticker;
    }

    public long id() {
        return id;
    }

    /** The TTL etcd granted (it may raise a requested TTL to its minimum). */
    public long ttlSeconds() {
        return ttlSeconds;
    }

    /**
     * Until when, on the manager's {@link Ticker} ({@link System#nanoTime()} outside tests), the lease is certainly
     * still valid in etcd: the send time of the last answered keep-alive plus the TTL it was answered with. Measured
     * from the send, not the answer, so the bound holds however long the answer took.
     */
    public long validUntilNanos() {
        return validUntilNanos;
    }

    /** True while the manager keeps the lease alive and its validity has not run out. Cheap: no I/O. */
    public boolean isValid() {
        return state == State.ACTIVE && ticker.nanoTime() - validUntilNanos < 0;
    }

    /**
     * True once its owner ended it through the manager (a session's or the client's close), whether or not etcd could
     * be told: its keys are gone, or go when the TTL runs out, by the owner's will rather than by a loss.
     */
    public boolean endedByOwner() {
        return state == State.REVOKED;
    }

    /**
     * Completes normally when the lease was revoked through the manager, exceptionally with a
     * {@link dev.etcdlock.LeaseLostException} when it was lost. Dependent actions run in the serial context, possibly
     * on a Netty thread: they must not block.
     */
    public CompletableFuture<Void> done() {
        return done;
    }

    State state() {
        return state;
    }

    void setState(State state) {
        this.state = state;
    }

    void renewed(long ttlSeconds, long validUntilNanos) {
        this.ttlSeconds = ttlSeconds;
        if (validUntilNanos - this.validUntilNanos > 0) {
            this.validUntilNanos = validUntilNanos;
        }
    }

    long keepAliveIntervalNanos() {
        return Math.max(1, ttlSeconds * 1_000_000_000L / 3);
    }

    @Override
    public String toString() {
        return "Lease{" + Long.toHexString(id) + ", ttl=" + ttlSeconds + "s, " + state + "}";
    }
}
