package dev.etcdlock.internal.events;

import com.google.protobuf.ByteString;

/**
 * Commits etcd-lock's JFR events. Each method first asks whether its event is enabled, so with no recording (or
 * the event disabled) it costs a few nanoseconds and builds no string; the event object itself does not escape
 * and is scalar-replaced by the JIT.
 */
public final class JfrEvents {
    private JfrEvents() {
    }

    public static void lockAcquired(LockLabel label, ByteString key, long fencingToken, long leaseId,
            long waitNanos) {
        LockAcquiredEvent event = new LockAcquiredEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.kind = label.kind().name();
        event.name = label.name();
        event.key = key.toStringUtf8();
        event.fencingToken = fencingToken;
        event.leaseId = leaseId;
        event.waitTime = waitNanos;
        event.commit();
    }

    public static void lockReleased(LockLabel label, long fencingToken, long holdNanos) {
        LockReleasedEvent event = new LockReleasedEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.kind = label.kind().name();
        event.name = label.name();
        event.fencingToken = fencingToken;
        event.holdTime = holdNanos;
        event.commit();
    }

    public static void lockLost(LockLabel label, long fencingToken, LossReason reason, long holdNanos) {
        LockLostEvent event = new LockLostEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.kind = label.kind().name();
        event.name = label.name();
        event.fencingToken = fencingToken;
        event.reason = reason.name();
        event.holdTime = holdNanos;
        event.commit();
    }

    /** {@code confirmedGone}: etcd said the lease is gone, rather than the client giving up on an unanswered one. */
    public static void leaseLost(long leaseId, long ttlSeconds, boolean confirmedGone) {
        LeaseLostEvent event = new LeaseLostEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.leaseId = leaseId;
        event.ttl = ttlSeconds;
        event.reason = confirmedGone ? "EXPIRED_OR_REVOKED" : "UNCONFIRMED";
        event.commit();
    }

    public static void keepAlive(long leaseId, long ttlSeconds, long roundTripNanos, int leaseCount) {
        KeepAliveEvent event = new KeepAliveEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.leaseId = leaseId;
        event.ttl = ttlSeconds;
        event.roundTrip = roundTripNanos;
        event.leaseCount = leaseCount;
        event.commit();
    }

    /** True when a watch reconnect would be recorded: lets the caller skip computing the event's fields. */
    public static boolean watchReconnectEnabled() {
        return new WatchReconnectEvent().isEnabled();
    }

    public static void watchReconnect(String reason, long streamLifetimeNanos, int watches, long resumeRevision) {
        WatchReconnectEvent event = new WatchReconnectEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.reason = reason;
        event.streamLifetime = streamLifetimeNanos;
        event.watches = watches;
        event.resumeRevision = resumeRevision;
        event.commit();
    }
}
