package dev.etcdlock;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;

/**
 * A lock taken through a {@link Session}: a {@link Mutex}, or the read or write side of a {@link ReadWriteLock}.
 * Waiters are served in the order they arrived (by etcd create revision).
 *
 * <p>Every blocking method ends the same ways: with a {@link LockHandle}; with {@link LockTimeoutException} when its
 * timeout passes; with {@link InterruptedException} ({@link #lockInterruptibly()}) when interrupted; with
 * {@link LeaseLostException} at once when the session's lease is lost; with {@link EtcdUnavailableException} when
 * etcd cannot be reached. In every case but success the waiter key is removed before the method returns. A session
 * takes one place per name at a time: its threads asking for the same lock take turns, and asking for the other
 * side of a read-write lock it holds or waits for fails at once with {@link IllegalStateException}.
 */
public interface DistributedLock {

    /** The name given to the session, a key prefix. */
    String name();

    /** Waits as long as it takes. Interruption does not end the wait; the interrupt flag is kept. */
    LockHandle lock();

    /**
     * Waits at most {@code timeout}.
     *
     * @throws LockTimeoutException when the time passes first; the waiter key is gone by then
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is gone, the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use {@link #tryLock()})
     */
    LockHandle lock(Duration timeout);

    /**
     * Waits until acquired or interrupted.
     *
     * @throws InterruptedException when interrupted while waiting; the waiter key is removed first (and a lock
     *     acquired at that very moment is released)
     */
    LockHandle lockInterruptibly() throws InterruptedException;

    /**
     * Takes the lock only if it can be held at once; never waits, and leaves nothing behind when the answer is no.
     * An exclusive lock (a mutex, a write lock) is then one round trip that takes it only if nobody holds or waits
     * for it; a read lock is taken when no writer holds or waits before it (two round trips when the answer is no:
     * its key is put, then deleted).
     */
    Optional<LockHandle> tryLock();

    /**
     * Waits without blocking a thread. Cancelling the future gives up the wait and removes the waiter key. The
     * future completes on the common {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads, so
     * dependent actions may block.
     */
    CompletableFuture<LockHandle> lockAsync();

    /**
     * Adapts this lock to {@link Lock} for code written against that interface. Ownership stays with the lock,
     * not a thread: any thread may {@code unlock()} what another locked. {@link Lock#newCondition()} is not
     * supported. The held {@link LockHandle} (for its fencing token) is not exposed through this view.
     */
    Lock asLock();
}
