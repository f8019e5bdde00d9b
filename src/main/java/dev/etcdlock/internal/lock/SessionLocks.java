package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.LockListener;
import dev.etcdlock.internal.events.LockEvents;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.lease.Lease;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The lock side of one session: its lease, a local gate per lock name so its threads take turns, and what it holds
 * ({@link SessionHolds}, which reports acquisitions, releases and losses).
 */
public final class SessionLocks {
    private final LockQueue queue;
    private final Lease lease;
    private final SessionHolds holds;
    private final KeyJanitor janitor;
    private final ConcurrentHashMap<ByteString, LocalGate> gates = new ConcurrentHashMap<>();
    /** Waiters of this session not finished yet, at the gate or in etcd's queue: ended when the lease ends. */
    private final Set<Waiter> waiters = ConcurrentHashMap.newKeySet();
    /** Holders that must hear at once when the lease ends (an election's leader), until they unregister. */
    private final Set<Consumer<Throwable>> leaseListeners = ConcurrentHashMap.newKeySet();

    public SessionLocks(LockQueue queue, Lease lease) {
        this(queue, lease, LockEvents.JFR_ONLY);
    }

    public SessionLocks(LockQueue queue, Lease lease, LockEvents events) {
        this.queue = queue;
        this.lease = lease;
        this.holds = new SessionHolds(lease, events);
        this.janitor = queue.janitor(lease);
        // one callback per session, not one per attempt: a long-lived session must not pile them up
        lease.done().whenComplete((v, failure) -> {
            holds.leaseEnded(failure);
            for (Waiter waiter : List.copyOf(waiters)) {
                waiter.leaseEnded(failure);
            }
            for (Consumer<Throwable> listener : List.copyOf(leaseListeners)) {
                listener.accept(failure);
            }
        });
    }

    public Lease lease() {
        return lease;
    }

    /**
     * Calls {@code listener} once when the lease ends: with null when its owner closed it, else with why it was lost
     * (at once if it has ended already). In the serial context, possibly on a Netty thread: it must not block. The
     * returned action unregisters it, so that a long-lived session does not pile up one callback per holder.
     */
    public Runnable whenLeaseEnds(Consumer<Throwable> listener) {
        AtomicBoolean called = new AtomicBoolean();
        Consumer<Throwable> once = failure -> {
            if (called.compareAndSet(false, true)) {
                listener.accept(failure);
            }
        };
        leaseListeners.add(once);
        if (lease.done().isDone()) { // ended before it was registered: the callback above may have missed it
            once.accept(lease.done().handle((v, t) -> t).join());
        }
        return () -> leaseListeners.remove(once);
    }

    /**
     * Starts a waiter, which first waits for its turn among this session's waiters on the same queue.
     *
     * @throws IllegalStateException when this session holds or waits for another key of the same queue (a read
     *     lock asking for the write lock of the same name): it would wait behind itself
     */
    public Waiter lock(QueuePolicy policy) {
        return lock(policy, labelOf(policy));
    }

    /** As {@link #lock(QueuePolicy)}, reported under {@code label}. */
    public Waiter lock(QueuePolicy policy, LockLabel label) {
        return start(policy, label, false);
    }

    /**
     * Takes the place only if it is free at once: completes with null when it is taken, by another session or another
     * thread of this one, leaving nothing behind.
     *
     * @throws IllegalStateException as {@link #lock(QueuePolicy)}
     */
    public CompletableFuture<LockQueue.Held> tryLock(QueuePolicy policy) {
        return tryLock(policy, labelOf(policy));
    }

    /** As {@link #tryLock(QueuePolicy)}, reported under {@code label}. */
    public CompletableFuture<LockQueue.Held> tryLock(QueuePolicy policy, LockLabel label) {
        return start(policy, label, true).result();
    }

    private Waiter start(QueuePolicy policy, LockLabel label, boolean noWait) {
        ByteString prefix = policy.queue();
        long start = System.nanoTime();
        Waiter waiter = new Waiter(queue, janitor, retainGate(policy), () -> releaseGate(prefix), policy, lease, noWait,
                (held, failure) -> {
                    if (held != null) {
                        holds.acquired(label, held, start);
                    } else {
                        holds.notAcquired(label, start, failure);
                    }
                });
        waiters.add(waiter);
        waiter.result().whenComplete((held, failure) -> waiters.remove(waiter));
        waiter.start();
        if (lease.done().isDone()) { // ended before it was registered: the callback above may have missed it
            waiter.leaseEnded(lease.done().handle((v, t) -> t).join());
        }
        return waiter;
    }

    /**
     * Deletes the key if still ours, then lets the next local thread in. Completes with true when it is released
     * (see {@link LockQueue#release}), false when it was gone before; when etcd gave no answer, fails, and the
     * session's janitor goes on deleting the key until etcd answers or the lease ends. The version is never held
     * again by this session, whatever the outcome: a later attempt that finds it deletes it and gets a new token.
     */
    public CompletableFuture<Boolean> unlock(LockQueue.Held held) {
        return queue.release(held).whenComplete((ok, failure) -> {
            // after the delete, not before: a replay guard must not take the key for nobody's while it is held;
            // before the gate lets the next attempt in, which must not take this version over
            janitor.retire(held.key(), held.createRevision());
            gates.get(held.prefix()).leave(); // present: the holder still uses it
            releaseGate(held.prefix());
            if (failure == null) {
                holds.unlocked(held, ok);
            } else {
                if (!lease.done().isDone()) {
                    janitor.removeIfCreatedAt(held.key(), held.createRevision());
                }
                holds.unlockUnanswered(held, failure);
            }
        });
    }

    /**
     * Tells {@code onGone} once when {@code held}'s key is deleted (the lease expired or was revoked, or somebody
     * deleted it), until the returned action is run: on the client's one watch stream, which the queue's waiters
     * share. Any thread; {@code onGone} runs in the serial context and must not block.
     */
    public Runnable watchHeld(LockQueue.Held held, Runnable onGone) {
        return queue.watchHeld(held, onGone);
    }

    /**
     * Why a holder's key went, once its delete event came: one LeaseTimeToLive tells a lease revoked or expired in
     * etcd ({@link LeaseLostException}) from a key deleted by somebody else ({@link LockNotHeldException}, also when
     * etcd does not answer, saying it may be either). {@code what} opens the message ("lock /a was lost"),
     * {@code since} closes it. Never fails. Any thread.
     */
    public CompletableFuture<EtcdLockException> whyKeyWent(String what, String key, long token, String since) {
        return queue.leaseExists(lease.id()).handle((exists, failure) -> Boolean.FALSE.equals(exists)
                ? new LeaseLostException(lease.id(), what + ": its session's lease " + Long.toHexString(lease.id())
                        + " was revoked or expired in etcd, which deleted its key " + key + " (fencing token " + token
                        + ")" + since)
                : new LockNotHeldException(what + ": its key " + key + " (fencing token " + token + ") was deleted"
                        + (exists == null ? ", by the expiry or revocation of the session's lease or by somebody else"
                                : " by somebody else") + since));
    }

    /**
     * What every holder listens to: {@code leaseEnded} once when the session's lease ends (as
     * {@link #whenLeaseEnds}), {@code keyGone} once when the held key is deleted (as {@link #watchHeld}). The
     * returned action stops both. Any thread.
     */
    public Runnable listenWhileHeld(LockQueue.Held held, Consumer<Throwable> leaseEnded, Runnable keyGone) {
        Runnable stopLease = whenLeaseEnds(leaseEnded);
        Runnable stopWatch = watchHeld(held, keyGone);
        return () -> {
            stopLease.run();
            stopWatch.run();
        };
    }

    /** Keys whose delete is being retried, for tests. */
    int cleanupsPending() {
        return janitor.pending();
    }

    /**
     * A holder saw its key deleted (an election's leader, through its watch): reports the loss unless its release
     * or another loss was reported first. Any thread.
     */
    public void lost(LockQueue.Held held, EtcdLockException why) {
        holds.lost(held, why);
    }

    /** For callers that give no label (tests of the engine): a mutex named after the queue. */
    private static LockLabel labelOf(QueuePolicy policy) {
        String queue = policy.queue().toStringUtf8();
        return new LockLabel(LockListener.Kind.MUTEX, queue.substring(0, queue.length() - 1));
    }

    /** Number of lock names with a gate in use, for tests: gates go when nobody holds or waits. */
    int gatesInUse() {
        return gates.size();
    }

    private LocalGate retainGate(QueuePolicy policy) {
        return gates.compute(policy.queue(), (p, gate) -> {
            LocalGate g = gate != null ? gate : new LocalGate(policy.keyPrefix());
            if (!g.keyPrefix.equals(policy.keyPrefix())) {
                String id = Long.toHexString(lease.id());
                throw new IllegalStateException("this session (lease " + id + ") holds or waits for "
                        + g.keyPrefix.toStringUtf8() + id + " in the queue " + p.toStringUtf8() + ", so asking for "
                        + policy.keyPrefix().toStringUtf8() + id + " would wait behind itself: a session takes one "
                        + "place per queue at a time (a read lock cannot be upgraded to the write lock, nor the "
                        + "write lock downgraded). Release the first, or use another session");
            }
            g.users++;
            return g;
        });
    }

    private void releaseGate(ByteString prefix) {
        gates.computeIfPresent(prefix, (p, gate) -> --gate.users == 0 ? null : gate);
    }
}
