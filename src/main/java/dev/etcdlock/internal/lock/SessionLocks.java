package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockListener;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.internal.events.LockEvents;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.events.LossReason;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The lock side of one session, where its threads queue: a local {@link Gate} per lock name so they take turns (etcd
 * sees one key per session and name), the {@link Waiter}s on their way to etcd's queue, and what the session holds.
 * Each acquisition is reported to the session's {@link LockEvents}, and each hold's end exactly once, as a release
 * (its unlock deleted the key) or a loss (lease lost, session closed, key found deleted), whichever is seen first.
 * Any thread; every method but {@link #tryLock} returns at once.
 */
public final class SessionLocks {
    private final LockQueue queue;
    private final Lease lease;
    private final LockEvents events;
    /** What the session holds, until the hold's end is reported: removal is the once-only claim to report it. */
    private final ConcurrentHashMap<LockQueue.Held, Holding> holdings = new ConcurrentHashMap<>();
    private final KeyJanitor janitor;
    private final ConcurrentHashMap<ByteString, Gate> gates = new ConcurrentHashMap<>();
    /** Waiters of this session not finished yet, at the gate or in etcd's queue: ended when the lease ends. */
    private final Set<Waiter> waiters = ConcurrentHashMap.newKeySet();
    /** Holders that must hear at once when the lease ends (an election's leader), until they unregister. */
    private final Set<Consumer<Throwable>> leaseListeners = ConcurrentHashMap.newKeySet();

    private record Holding(LockLabel label, long sinceNanos) {
    }

    public SessionLocks(LockQueue queue, Lease lease) {
        this(queue, lease, LockEvents.JFR_ONLY);
    }

    public SessionLocks(LockQueue queue, Lease lease, LockEvents events) {
        this(queue, queue.janitor(lease), lease, events);
    }

    /** With the janitor given: null, with a null queue, for tests of the reporting alone. */
    SessionLocks(LockQueue queue, KeyJanitor janitor, Lease lease, LockEvents events) {
        this.queue = queue;
        this.lease = lease;
        this.events = events;
        this.janitor = janitor;
        // one callback per session, not one per attempt: a long-lived session must not pile them up
        lease.done().whenComplete((v, failure) -> {
            holdsEnded(failure);
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
                        acquired(label, held, start);
                    } else {
                        notAcquired(label, start, failure);
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
                unlocked(held, ok);
            } else {
                if (!lease.done().isDone()) {
                    janitor.removeIfCreatedAt(held.key(), held.createRevision());
                }
                unlockUnanswered(held, failure);
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
        Holding holding = holdings.remove(held);
        if (holding != null) {
            events.lost(holding.label(), held.createRevision(), System.nanoTime() - holding.sinceNanos(),
                    why instanceof LeaseLostException ? LossReason.LEASE_LOST : LossReason.KEY_DELETED, why);
        }
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

    private Gate retainGate(QueuePolicy policy) {
        return gates.compute(policy.queue(), (p, gate) -> {
            Gate g = gate != null ? gate : new Gate(policy.keyPrefix());
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

    /** Call before the caller gets the hold, so that its acquisition is reported before its release. */
    void acquired(LockLabel label, LockQueue.Held held, long startNanos) {
        long now = System.nanoTime();
        // reported before it is recorded: a holdsEnded running meanwhile finds nothing, or reports after this
        events.acquired(label, held.key(), held.createRevision(), lease.id(), now - startNanos);
        holdings.put(held, new Holding(label, now));
        if (lease.done().isDone()) { // ended while this was recorded: holdsEnded may have run before it
            holdsEnded(lease.done().handle((v, t) -> t).join());
        }
    }

    private void notAcquired(LockLabel label, long startNanos, Throwable failure) {
        events.notAcquired(label, System.nanoTime() - startNanos, why(failure, label));
    }

    /** The unlock's guarded delete answered: {@code deleted} false when the key was no longer ours. */
    private void unlocked(LockQueue.Held held, boolean deleted) {
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
    private void unlockUnanswered(LockQueue.Held held, Throwable failure) {
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

    /** The lease ended ({@code failure} null: revoked by its owner): whatever is still held is gone with it. */
    private void holdsEnded(Throwable failure) {
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

    /**
     * FIFO admission of one process's waiters for one lock name on one session. etcd sees one waiter key per session
     * and name, so threads that share a session must take turns here first, or two of them would both "hold" the key
     * (as two goroutines on one Go session do). The monitor guards only the queue, never I/O.
     */
    static final class Gate {
        /** The waiter key prefix every user of this gate asks for: a session takes one place per queue at a time. */
        final ByteString keyPrefix;
        /** Made when a second thread comes: most gates never need it. */
        private ArrayDeque<CompletableFuture<Void>> waiters;
        private boolean taken;
        /** Attempts and holders using this gate; changed only in the owning map's compute, which drops it at 0. */
        int users;

        Gate(ByteString keyPrefix) {
            this.keyPrefix = keyPrefix;
        }

        /** Completes when the caller is admitted; cancel it to stop waiting. */
        CompletableFuture<Void> enter() {
            synchronized (this) {
                if (!taken) {
                    taken = true;
                    return CompletableFuture.completedFuture(null);
                }
                CompletableFuture<Void> turn = new CompletableFuture<>();
                if (waiters == null) {
                    waiters = new ArrayDeque<>(2);
                }
                waiters.addLast(turn);
                return turn;
            }
        }

        /** Admits the caller only if nobody is admitted. */
        synchronized boolean tryEnter() {
            if (taken) {
                return false;
            }
            taken = true;
            return true;
        }

        /** Passes the turn to the next waiter that has not cancelled. */
        void leave() {
            while (true) {
                CompletableFuture<Void> next;
                synchronized (this) {
                    next = waiters == null ? null : waiters.pollFirst();
                    if (next == null) {
                        taken = false;
                        return;
                    }
                }
                if (next.complete(null)) {
                    return;
                }
            }
        }
    }
}
