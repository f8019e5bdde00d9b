package dev.etcdlock;

import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A held lock: of a {@link Mutex}, either side of a {@link ReadWriteLock}, or one permit of a {@link Semaphore}.
 * Ownership belongs to this handle, not to a thread: any thread may unlock it, and it works the same from virtual
 * threads and future chains. Not reentrant: locking the same name again through the same session waits until this
 * handle is released. Thread-safe.
 *
 * <p>The lock lasts until {@link #unlock()}/{@link #close()}, or until the session's lease ends: closing the session or
 * the client releases it, and a lost lease (see <a href="package-summary.html#lease-lost">what "lease lost"
 * means</a>) may hand it to someone else without this handle doing anything. Its methods other than
 * {@code unlock()}/{@code close()} do no I/O. To act only while the lock is held, guard the write itself with
 * {@link Txn#ifHeld(LockHandle)} or the fencing token: {@link #isHeld()} can only tell what the client knew.
 *
 * <pre>{@code
 * try (LockHandle lock = mutex.lock(Duration.ofSeconds(10))) {
 *     write(config, lock.fencingToken());
 * }
 * }</pre>
 */
public final class LockHandle implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LockHandle.class.getName());

    private final String name;
    private final SessionLocks locks;
    private final LockQueue.Held held;
    private final AtomicBoolean released = new AtomicBoolean();

    LockHandle(String name, SessionLocks locks, LockQueue.Held held) {
        this.name = name;
        this.locks = locks;
        this.held = held;
    }

    /**
     * The lock's name, as given to the session.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The waiter key in etcd: {@code name/<lease id in hex>} (a read-write lock's {@code name/read/...} or
     * {@code name/write/...}).
     *
     * @return the key, as UTF-8 text
     */
    public String key() {
        return held.key().toStringUtf8();
    }

    /**
     * The fencing token: the create revision of the lock key. Every later holder of the same name has a larger one,
     * so a resource that remembers the largest token it has seen can refuse writes from a holder that lost the lock
     * without knowing it. (Holders that share a name at the same time, readers or a semaphore's permits, have
     * distinct tokens in the order they came.)
     *
     * @return the create revision of the lock key
     */
    public long fencingToken() {
        return held.createRevision();
    }

    /**
     * The etcd revision at which this handle was seen to hold the lock: the revision of the acquiring request, or of
     * the delete that freed the lock for it. What {@code etcdctl lock} exports as {@code ETCD_LOCK_REV}.
     *
     * @return an etcd revision, at least {@link #fencingToken()}
     */
    public long acquiredRevision() {
        return held.acquiredRevision();
    }

    /**
     * Whether the lock is still held, as far as the client knows. No I/O; etcd has the last word, so guard writes
     * with {@link Txn#ifHeld(LockHandle)}.
     *
     * @return true until released through this handle, and while the session's lease is certainly alive; false once
     *     the session or client is closed or the lease is lost or may have expired
     */
    public boolean isHeld() {
        return !released.get() && locks.lease().isValid();
    }

    /**
     * Releases the lock: deletes the key only if it is still the one this handle created (one round trip, retried
     * on other members within the request timeout, since a repeat is harmless), never someone else's. The next
     * thread of this session waiting for the name is let in afterwards, whether the delete succeeded or not. Blocks
     * until answered; not interruptible. After the lease was lost only in the client's view (the keep-alives went
     * unanswered) while etcd still has the key, this still deletes it and returns normally.
     *
     * <p>After the session or the client was closed, the lock was released by that close (its lease revoked, or left
     * to expire when etcd could not be told): this throws {@link LockNotHeldException} saying so, and sends nothing
     * once the client is closed.
     *
     * @throws LockNotHeldException when called a second time; when the session or the client was closed before;
     *     or when the key is gone: the lease expired or was revoked by someone else, or the key was deleted, so
     *     someone else may hold the lock now (the message tells which)
     * @throws EtcdUnavailableException when etcd could not be reached; the key then goes with the session's lease,
     *     and a later call throws {@link LockNotHeldException} as a second call
     * @throws ClientClosedException when the client is being closed at that very moment, with the lease still alive
     *     (the close goes on to revoke it); a later call throws {@link LockNotHeldException} as a second call
     */
    public void unlock() {
        if (!released.compareAndSet(false, true)) {
            throw new LockNotHeldException("lock " + key() + " was already released by this handle");
        }
        release();
    }

    /**
     * Releases the lock as {@link #unlock()} does, if this handle has not released it yet, and never throws for a
     * lock that is no longer held: one lost before is logged as a warning (someone else may have held it), one
     * released by closing the session or the client only at debug level, as that is no news. A second call does
     * nothing; so it may run after the session's or the client's close, as in a shutdown hook.
     *
     * @throws EtcdUnavailableException as {@link #unlock()}: etcd could not be reached, the key goes with the lease
     */
    @Override
    public void close() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        try {
            release();
        } catch (LockNotHeldException e) {
            LOG.log(locks.lease().endedByOwner() ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                    e.getMessage());
        } catch (ClientClosedException e) {
            // the client is being closed right now: its close revokes the lease, which releases the lock
            LOG.log(System.Logger.Level.DEBUG, () -> "lock " + key() + " is released by the client's close: " + e);
        }
    }

    /** Deletes the key if it is still ours; throws when it is not, saying whether a close or a loss took it. */
    private void release() {
        Lease lease = locks.lease();
        boolean deleted;
        try {
            deleted = locks.unlock(held).join();
        } catch (RuntimeException e) {
            RuntimeException failure = EtcdErrors.toException(e, "unlock of " + key(), true);
            // Our own close ended the lease, or the client's close failed this call after every lease had ended
            // (revoked by it, or lost before): either way nothing is left to release, so say why it is not held.
            if (lease.endedByOwner() || (failure instanceof ClientClosedException && lease.done().isDone())) {
                throw notHeld(lease);
            }
            throw failure;
        }
        if (!deleted) {
            throw notHeld(lease);
        }
    }

    private LockNotHeldException notHeld(Lease lease) {
        if (lease.endedByOwner()) {
            return new LockNotHeldException("lock " + key() + " (fencing token " + fencingToken() + ") was "
                    + "released when its session or client was closed, before this unlock");
        }
        return new LockNotHeldException("lock " + key() + " (fencing token " + fencingToken() + ") was lost "
                + "before unlock: the session's lease expired or was revoked, or the key was deleted, and someone "
                + "else may have held it");
    }

    LockQueue.Held held() {
        return held;
    }

    @Override
    public String toString() {
        return "LockHandle{" + key() + ", token=" + fencingToken() + (released.get() ? ", released" : "") + "}";
    }
}
