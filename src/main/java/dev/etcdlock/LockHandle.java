package dev.etcdlock;

import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A held lock: of a {@link Mutex}, either side of a {@link ReadWriteLock}, or one permit of a {@link Semaphore}.
 * Ownership belongs to this handle, not to a thread: any thread may unlock it, and it works the same from virtual
 * threads and future chains. Not reentrant: locking the same name again through the same session waits until this
 * handle is released.
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

    /** The lock's name. */
    public String name() {
        return name;
    }

    /**
     * The waiter key in etcd: {@code name/<lease id in hex>} (a read-write lock's {@code name/read/...} or
     * {@code name/write/...}).
     */
    public String key() {
        return held.key().toStringUtf8();
    }

    /**
     * The fencing token: the create revision of the lock key. Every later holder of the same name has a larger one,
     * so a resource that remembers the largest token it has seen can refuse writes from a holder that lost the lock
     * without knowing it. (Holders that share a name at the same time, readers or a semaphore's permits, have
     * distinct tokens in the order they came.)
     */
    public long fencingToken() {
        return held.createRevision();
    }

    /**
     * The etcd revision at which this handle was seen to hold the lock: the revision of the acquiring request, or of
     * the delete that freed the lock for it. What {@code etcdctl lock} exports as {@code ETCD_LOCK_REV}.
     */
    public long acquiredRevision() {
        return held.acquiredRevision();
    }

    /** True until released, and while the session's lease is certainly alive. No I/O. */
    public boolean isHeld() {
        return !released.get() && locks.lease().isValid();
    }

    /**
     * Releases the lock: deletes the key only if it is still the one this handle created (one round trip), never
     * someone else's.
     *
     * @throws LockNotHeldException when called twice, or when the lock was lost before (its lease expired or was
     *     revoked, so someone else may hold it now)
     * @throws EtcdUnavailableException when etcd could not be reached; the key then goes with the session's lease
     */
    public void unlock() {
        if (!released.compareAndSet(false, true)) {
            throw new LockNotHeldException("lock " + key() + " was already released by this handle");
        }
        boolean deleted;
        try {
            deleted = locks.unlock(held).join();
        } catch (RuntimeException e) {
            throw EtcdErrors.toException(e, "unlock of " + key(), true);
        }
        if (!deleted) {
            throw new LockNotHeldException("lock " + key() + " (fencing token " + fencingToken() + ") was lost "
                    + "before unlock: the session's lease expired or was revoked, and someone else may have held it");
        }
    }

    /** Releases the lock if this handle still holds it; a lock lost before is logged, not thrown. Idempotent. */
    @Override
    public void close() {
        if (released.get()) {
            return;
        }
        try {
            unlock();
        } catch (LockNotHeldException e) {
            LOG.log(System.Logger.Level.WARNING, e.getMessage());
        }
    }

    LockQueue.Held held() {
        return held;
    }

    @Override
    public String toString() {
        return "LockHandle{" + key() + ", token=" + fencingToken() + (released.get() ? ", released" : "") + "}";
    }
}
