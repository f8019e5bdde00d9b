package dev.etcdlock.internal.events;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LockListener;
import java.time.Duration;

/**
 * A client's lock events: each is committed to JFR (when recording) and handed to the application's
 * {@link LockListener} (when it set one) through a {@link ListenerQueue}, so the engine never waits for the
 * listener. Called from the engine's threads; every method returns at once.
 */
public final class LockEvents {
    /** For a client without a listener, and for tests of the engine: JFR only. */
    public static final LockEvents JFR_ONLY = new LockEvents(null, "");

    private final LockListener listener;
    private final ListenerQueue calls;

    private LockEvents(LockListener listener, String owner) {
        this.listener = listener;
        this.calls = listener == null ? null : new ListenerQueue(owner);
    }

    /** Events of the client {@code owner} (for messages about its listener); {@code listener} may be null. */
    public static LockEvents of(LockListener listener, String owner) {
        return listener == null ? JFR_ONLY : new LockEvents(listener, owner);
    }

    public void acquired(LockLabel label, ByteString key, long fencingToken, long leaseId, long waitNanos) {
        JfrEvents.lockAcquired(label, key, fencingToken, leaseId, waitNanos);
        if (listener != null) {
            calls.execute(() -> listener.acquired(label.kind(), label.name(), fencingToken,
                    Duration.ofNanos(waitNanos)));
        }
    }

    /** A lock call that ended without the lock: gave up (timeout, interrupt, cancel) or failed. */
    public void notAcquired(LockLabel label, long waitNanos, Throwable why) {
        if (listener != null) {
            calls.execute(() -> listener.notAcquired(label.kind(), label.name(), Duration.ofNanos(waitNanos), why));
        }
    }

    public void released(LockLabel label, long fencingToken, long holdNanos) {
        JfrEvents.lockReleased(label, fencingToken, holdNanos);
        if (listener != null) {
            calls.execute(() -> listener.released(label.kind(), label.name(), fencingToken,
                    Duration.ofNanos(holdNanos)));
        }
    }

    public void lost(LockLabel label, long fencingToken, long holdNanos, LossReason reason, EtcdLockException why) {
        JfrEvents.lockLost(label, fencingToken, reason, holdNanos);
        if (listener != null) {
            calls.executeAlways(() -> listener.lost(label.kind(), label.name(), fencingToken,
                    Duration.ofNanos(holdNanos), why));
        }
    }

    /** Listener calls dropped because the listener fell too far behind, for tests and diagnostics. */
    public long droppedCalls() {
        return calls == null ? 0 : calls.dropped();
    }
}
