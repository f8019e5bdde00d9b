package dev.etcdlock;

import java.time.Duration;
import java.util.concurrent.CancellationException;

/**
 * Hears of a client's lock acquisitions, releases and losses, to feed an application's own metrics or logs.
 * Register one with {@link EtcdLockClient.Builder#listener(LockListener)}; every method has an empty default, so
 * implement only those you need.
 *
 * <pre>{@code
 * EtcdLockClient client = EtcdLockClient.builder()
 *         .endpoints("http://127.0.0.1:2379")
 *         .listener(new LockListener() {
 *             public void acquired(Kind kind, String name, long fencingToken, Duration waited) {
 *                 waitTimer.record(waited);
 *             }
 *             public void lost(Kind kind, String name, long fencingToken, Duration held, EtcdLockException why) {
 *                 lostCounter.increment();
 *             }
 *         })
 *         .build();
 * }</pre>
 *
 * <p>What is reported: every {@link Mutex} lock, both sides of a {@link ReadWriteLock}, every {@link Semaphore}
 * permit and every {@link Leadership} term won through {@link Election}, by every way of locking (blocking, timed,
 * interruptible, {@code tryLock}, asynchronous, the {@link java.util.concurrent.locks.Lock} view). A
 * {@code tryLock} that finds the lock taken reports nothing: it did not wait and left nothing behind.
 *
 * <p><b>Threads and ordering.</b> Calls never run on the caller's thread nor on the client's I/O threads: the client
 * queues them and a thread named {@code etcd-lock-listener}, from a pool shared by all clients, runs them one at a
 * time, in the order the client saw the events (an acquisition is always reported before its release or loss).
 * A listener may therefore block without slowing any lock operation, but while it blocks its client's later calls
 * wait; after 10,000 waiting calls further ones are dropped (logged at WARNING). Keep calls short.
 *
 * <p><b>Exceptions</b> thrown by a listener are caught and logged at WARNING (at most once a minute per client);
 * they never affect a lock operation, and the next event is delivered as usual.
 *
 * <p>Events that happen while the client closes (the leases it revokes) are still delivered after
 * {@link EtcdLockClient#close()} returns.
 */
public interface LockListener {

    /** Which recipe an event is about. */
    enum Kind {
        /** A {@link Mutex}. */
        MUTEX,
        /** The read side of a {@link ReadWriteLock}. */
        READ_LOCK,
        /** The write side of a {@link ReadWriteLock}. */
        WRITE_LOCK,
        /** One permit of a {@link Semaphore}. */
        SEMAPHORE_PERMIT,
        /** A {@link Leadership} term won in an {@link Election}. */
        LEADERSHIP
    }

    /**
     * The lock was acquired.
     *
     * @param kind         which recipe
     * @param name         the lock's name, as given to the session
     * @param fencingToken the holder's fencing token ({@link LockHandle#fencingToken()})
     * @param waited       from the lock call to the acquisition, etcd round trips included
     */
    default void acquired(Kind kind, String name, long fencingToken, Duration waited) {
    }

    /**
     * A lock call ended without the lock. Not called for a {@code tryLock} that found the lock taken.
     *
     * @param kind   which recipe
     * @param name   the lock's name, as given to the session
     * @param waited how long the call waited
     * @param why    a {@link CancellationException} when the caller gave up (its timeout ran out, it was
     *               interrupted, or it cancelled the future), else what failed the call: {@link LeaseLostException},
     *               {@link ClientClosedException}, an {@link IllegalStateException} for a semaphore's count
     *               mismatch or a session asking for two places in one queue, {@link EtcdUnavailableException} or
     *               {@link EtcdRequestException}: what the lock call throws, or would have thrown
     */
    default void notAcquired(Kind kind, String name, Duration waited, Throwable why) {
    }

    /**
     * The lock was released by its holder ({@link LockHandle#unlock()}, {@link LockHandle#close()},
     * {@link Leadership#resign()}): its key was deleted while still the holder's.
     *
     * @param kind         which recipe
     * @param name         the lock's name, as given to the session
     * @param fencingToken the released holder's fencing token
     * @param held         from the acquisition to the release
     */
    default void released(Kind kind, String name, long fencingToken, Duration held) {
    }

    /**
     * The lock ended without a release by its holder; someone else may hold it now.
     *
     * @param kind         which recipe
     * @param name         the lock's name, as given to the session
     * @param fencingToken the lost holder's fencing token: a resource that saw a larger one refuses its writes
     * @param held         how long it was held until the loss was noticed
     * @param why          {@link LeaseLostException} when the session's lease was lost (expired, or revoked by someone
     *                     else); {@link LockNotHeldException} when the key was found deleted (by someone else, or
     *                     gone at unlock); {@link ClientClosedException} when the session or client was closed while
     *                     holding, which released it; {@link EtcdUnavailableException} when the unlock's delete got
     *                     no answer (the handle is released; the key went if etcd applied the delete, else it goes
     *                     with the session's lease)
     */
    default void lost(Kind kind, String name, long fencingToken, Duration held, EtcdLockException why) {
    }
}
