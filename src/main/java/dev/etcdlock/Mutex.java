package dev.etcdlock;

import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;

/**
 * A distributed mutex on a name, through a {@link Session}: at most one holder at a time across every process and
 * thread, in the order the waiters arrived (by etcd create revision).
 *
 * <p>Every blocking method ends the same ways: with a {@link LockHandle}; with {@link LockTimeoutException} when its
 * timeout passes; with {@link InterruptedException} ({@link #lockInterruptibly()}) when interrupted; with
 * {@link LeaseLostException} at once when the session's lease is lost; with {@link EtcdUnavailableException} when
 * etcd cannot be reached. In every case but success the waiter key is removed before the method returns.
 */
public final class Mutex implements DistributedLock {
    /** Longest lock name accepted, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 64 * 1024;

    private final Session session;
    private final Acquirer acquirer;

    Mutex(Session session, SessionLocks locks, String name) {
        this.session = session;
        this.acquirer = new Acquirer(session, locks, name, LockListener.Kind.MUTEX, "lock",
                "use tryLock() to take the lock only if it is free", QueuePolicy.mutex(Acquirer.prefixOf(name)));
    }

    @Override
    public String name() {
        return acquirer.name();
    }

    /** Waits as long as it takes. Interruption does not end the wait; the interrupt flag is kept. */
    @Override
    public LockHandle lock() {
        return acquirer.lock();
    }

    /**
     * Waits at most {@code timeout}.
     *
     * @throws LockTimeoutException when the time passes first; the waiter key is gone by then
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is gone, the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use {@link #tryLock()})
     */
    @Override
    public LockHandle lock(Duration timeout) {
        return acquirer.lock(timeout);
    }

    /**
     * Waits until acquired or interrupted.
     *
     * @throws InterruptedException when interrupted while waiting; the waiter key is removed first (and a lock
     *     acquired at that very moment is released)
     */
    @Override
    public LockHandle lockInterruptibly() throws InterruptedException {
        return acquirer.lockInterruptibly();
    }

    /**
     * Adapts this mutex to {@link Lock} for code written against that interface. Ownership stays with the lock,
     * not a thread: any thread may {@code unlock()} what another locked. {@link Lock#newCondition()} is not
     * supported. The held {@link LockHandle} (for its fencing token) is not exposed through this view.
     */
    @Override
    public Lock asLock() {
        return acquirer.asLock();
    }

    /**
     * Takes the lock only if nobody holds or waits for it; never waits (one round trip, nothing left behind when
     * the answer is no).
     */
    @Override
    public Optional<LockHandle> tryLock() {
        return acquirer.tryLock();
    }

    /**
     * Waits without blocking a thread. Cancelling the future gives up the wait and removes the waiter key. The future
     * completes on the common {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads, so
     * dependent actions may block.
     */
    @Override
    public CompletableFuture<LockHandle> lockAsync() {
        return acquirer.lockAsync();
    }

    @Override
    public String toString() {
        return "Mutex{" + name() + ", " + session + "}";
    }
}
