package dev.etcdlock.internal.lock;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.internal.events.LockEvents;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.events.LossReason;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one session holds, for its {@link LockEvents}: each acquisition is reported, and each hold's end exactly once,
 * as a release (its unlock deleted the key) or a loss (lease lost, session closed, key found deleted), whichever is
 * seen first. Any thread; every method returns at once.
 */
final class SessionHolds {
    private final Lease lease;
    private final LockEvents events;
    private final ConcurrentHashMap<LockQueue.Held, Holding> holdings = new ConcurrentHashMap<>();

    private record Holding(LockLabel label, long sinceNanos) {
    }

    SessionHolds(Lease lease, LockEvents events) {
        this.lease = lease;
        this.events = events;
    }

    /** Call before the caller gets the hold, so that its acquisition is reported before its release. */
    void acquired(LockLabel label, LockQueue.Held held, long startNanos) {
        long now = System.nanoTime();
        // reported before it is recorded: a leaseEnded running meanwhile finds nothing, or reports after this
        events.acquired(label, held.key(), held.createRevision(), lease.id(), now - startNanos);
        holdings.put(held, new Holding(label, now));
        if (lease.done().isDone()) { // ended while this was recorded: leaseEnded may have run before it
            leaseEnded(lease.done().handle((v, t) -> t).join());
        }
    }

    void notAcquired(LockLabel label, long startNanos, Throwable failure) {
        events.notAcquired(label, System.nanoTime() - startNanos, why(failure, label));
    }

    /** The unlock's guarded delete answered: {@code deleted} false when the key was no longer ours. */
    void unlocked(LockQueue.Held held, boolean deleted) {
        Holding holding = holdings.remove(held);
        if (holding == null) {
            return; // its loss was reported already
        }
        long heldNanos = System.nanoTime() - holding.sinceNanos();
        if (deleted) {
            events.released(holding.label(), held.createRevision(), heldNanos);
        } else {
            events.lost(holding.label(), held.createRevision(), heldNanos, LossReason.KEY_DELETED,
                    new LockNotHeldException(describe(holding, held) + " was found deleted at unlock"));
        }
    }

    /**
     * The unlock's delete failed without an answer: the handle counts as released, so the hold ends here, as a loss,
     * since whether the key went is unknown (it goes with the lease at the latest).
     */
    void unlockUnanswered(LockQueue.Held held, Throwable failure) {
        Holding holding = holdings.remove(held);
        if (holding == null) {
            return;
        }
        RuntimeException translated = EtcdErrors.toException(failure, "unlocking " + describe(holding, held), true);
        EtcdLockException why = translated instanceof EtcdLockException e ? e
                : new EtcdLockException(translated.getMessage(), translated);
        events.lost(holding.label(), held.createRevision(), System.nanoTime() - holding.sinceNanos(),
                LossReason.UNLOCK_UNANSWERED, why);
    }

    /** A holder learned of its loss first (an election's leader, through the watch on its key). */
    void lost(LockQueue.Held held, EtcdLockException why) {
        Holding holding = holdings.remove(held);
        if (holding != null) {
            events.lost(holding.label(), held.createRevision(), System.nanoTime() - holding.sinceNanos(),
                    why instanceof LeaseLostException ? LossReason.LEASE_LOST : LossReason.KEY_DELETED, why);
        }
    }

    /** The lease ended ({@code failure} null: revoked by its owner): whatever is still held is gone with it. */
    void leaseEnded(Throwable failure) {
        for (LockQueue.Held held : List.copyOf(holdings.keySet())) {
            Holding holding = holdings.remove(held);
            if (holding == null) {
                continue;
            }
            long heldNanos = System.nanoTime() - holding.sinceNanos();
            if (failure == null) {
                events.lost(holding.label(), held.createRevision(), heldNanos, LossReason.SESSION_CLOSED,
                        new ClientClosedException(describe(holding, held) + " was released by closing its session"));
            } else {
                Throwable cause = EtcdErrors.unwrap(failure);
                events.lost(holding.label(), held.createRevision(), heldNanos, LossReason.LEASE_LOST,
                        cause instanceof LeaseLostException lost ? lost : new LeaseLostException(lease.id(),
                                describe(holding, held) + " was lost with the session's lease: " + cause));
            }
        }
    }

    private static String describe(Holding holding, LockQueue.Held held) {
        return holding.label().name() + " (key " + held.key().toStringUtf8() + ", fencing token "
                + held.createRevision() + ")";
    }

    /** What the listener hears of a failed lock call: our exceptions as they are, etcd's translated as the call's. */
    private static Throwable why(Throwable failure, LockLabel label) {
        Throwable cause = EtcdErrors.unwrap(failure);
        if (cause instanceof EtcdLockException || cause instanceof IllegalStateException
                || cause instanceof CancellationException) {
            return cause;
        }
        return EtcdErrors.toException(cause, "locking " + label.name(), true);
    }
}
