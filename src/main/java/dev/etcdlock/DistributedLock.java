package dev.etcdlock;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;

/**
 * A lock taken through a {@link Session}: a {@link Mutex}, or the read or write side of a {@link ReadWriteLock}.
 * Waiters are served in the order they arrived (by etcd create revision). Thread-safe.
 *
 * <p>Every blocking method ends the same ways (detailed in <a href="package-summary.html#waits">how a wait
 * ends</a>): with a {@link LockHandle}; with {@link LockTimeoutException} when its timeout passes; with
 * {@link InterruptedException} ({@link #lockInterruptibly()}) or {@link LockInterruptedException}
 * ({@link #lock(Duration)}) when interrupted; with {@link LeaseLostException} at once when the session's lease is
 * lost; with {@link EtcdUnavailableException} when etcd cannot be reached to enqueue; with
 * {@link ClientClosedException} when the session or client is closed. The waiter key is removed on every failure:
 * before the method throws on timeout and interruption, in the background on lease loss and etcd failures. A session
 * takes one place per name at a time: its threads asking for the same lock take turns, and asking for the other side
 * of a read-write lock it holds or waits for fails at once with {@link IllegalStateException}. Not reentrant: a
 * thread asking again for a lock its session holds waits until that handle is released.
 */
public interface DistributedLock {

    /**
     * The name given to the session, a key prefix. No I/O.
     *
     * @return the name
     */
    String name();

    /**
     * Waits as long as it takes. Interruption does not end the wait: the interrupt flag is set again when the method
     * returns or throws. Outages are waited out while the session's lease is provably alive.
     *
     * @return the handle of the held lock; release it with {@link LockHandle#close()}
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     * @throws IllegalStateException when the session holds or waits for the other side of the same read-write lock
     *     (at once), or its waiter key keeps reappearing (its lease is used by another client too)
     */
    LockHandle lock();

    /**
     * Waits at most {@code timeout}. Returns the handle if the lock is granted as the time runs out.
     *
     * @param timeout how long to wait; the call may return about one round trip later, once the waiter key is gone
     * @return the handle of the held lock; release it with {@link LockHandle#close()}
     * @throws LockTimeoutException when the time passes first; the waiter key is deleted by then (if etcd cannot be
     *     reached for that, the session deletes it in the background as soon as etcd answers, and the message says so)
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is deleted as on a timeout,
     *     the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use {@link #tryLock()})
     * @throws NullPointerException when the timeout is null
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     * @throws IllegalStateException as {@link #lock()}
     */
    LockHandle lock(Duration timeout);

    /**
     * Waits until acquired or interrupted.
     *
     * @return the handle of the held lock; release it with {@link LockHandle#close()}
     * @throws InterruptedException when interrupted while waiting (or already interrupted when called); the waiter
     *     key is removed first (and a lock acquired at that very moment is released), and the interrupt flag is
     *     cleared, as usual with this exception
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     * @throws IllegalStateException as {@link #lock()}
     */
    LockHandle lockInterruptibly() throws InterruptedException;

    /**
     * Takes the lock only if it can be held at once; never waits, and leaves nothing behind when the answer is no.
     * An exclusive lock (a mutex, a write lock) is then one round trip that takes it only if nobody holds or waits
     * for it; a read lock is taken when no writer holds or waits before it (two round trips when the answer is no:
     * its key is put, then deleted). Blocks for those round trips (retried on other members within the request
     * timeout); not interruptible.
     *
     * @return the handle when the lock was taken; empty when it is held or waited for by others, including another
     *     thread of this session
     * @throws LeaseLostException when the session's lease is lost or no longer certainly valid
     * @throws EtcdUnavailableException when etcd could not be reached within the request timeout; a key the request
     *     may have put is deleted (or, if etcd stays unreachable, goes with the session's lease)
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed
     * @throws IllegalStateException when the session holds or waits for the other side of the same read-write lock
     */
    Optional<LockHandle> tryLock();

    /**
     * Waits without blocking a thread. The future completes with the handle, or exceptionally as {@link #lock()}
     * fails (it has no timeout of its own: use {@link CompletableFuture#orTimeout}). Cancelling the future, or its
     * {@code orTimeout}, gives up the wait and removes the waiter key in the background; a lock granted at that
     * very moment is released again. The future completes on the common
     * {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads, so dependent actions may block.
     *
     * @return a future of the handle
     * @throws ClientClosedException at once when the session is closed
     * @throws IllegalStateException at once when the session holds or waits for the other side of the same
     *     read-write lock
     */
    CompletableFuture<LockHandle> lockAsync();

    /**
     * Adapts this lock to {@link Lock} for code written against that interface. Ownership stays with the lock,
     * not a thread: any thread may {@code unlock()} what another locked. {@link Lock#newCondition()} is not
     * supported. The held {@link LockHandle} (for its fencing token) is not exposed through this view.
     *
     * <p>The view's methods behave as this lock's: {@code lock()} as {@link #lock()},
     * {@code lockInterruptibly()} as {@link #lockInterruptibly()}, {@code tryLock()} as {@link #tryLock()}, and
     * {@code tryLock(time, unit)} waits at most that long and returns false when the time passes (the waiter key
     * removed), throwing {@link InterruptedException} when interrupted. They throw the same unchecked exceptions.
     * {@code unlock()} throws {@link IllegalMonitorStateException} when the lock is not held through this view, and
     * otherwise as {@link LockHandle#unlock()}.
     *
     * @return a new view; each view tracks the handle it acquired
     */
    Lock asLock();
}
