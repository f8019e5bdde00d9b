package dev.etcdlock;

import dev.etcdlock.internal.lock.Hold;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A held lock: of a {@link Mutex}, either side of a {@link ReadWriteLock}, or one permit of a {@link Semaphore}.
 * Ownership belongs to this handle, not to a thread: any thread may unlock it, and it works the same from virtual
 * threads and future chains. Not reentrant: locking the same name again through the same session waits until this
 * handle is released. Thread-safe.
 *
 * <p>The lock lasts until {@link #unlock()}/{@link #close()}, or until the session's lease ends: closing the session or
 * the client releases it, and a lost lease (see <a href="package-summary.html#lease-lost">what "lease lost"
 * means</a>) may hand it to someone else without this handle doing anything. The handle watches its key on the
 * client's one watch stream: when the key is deleted from outside ({@code etcdctl del}, or the lease revoked by an
 * admin) or the lease is lost, {@link #isHeld()} turns false and {@link #lost()} completes exceptionally within one
 * round trip of the event, not at the next keep-alive. Its methods other than {@code unlock()}/{@code close()} do
 * no I/O. To act only while the lock is held, guard the write itself with
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
    private final Hold hold;
    private final AtomicBoolean unlockCalled = new AtomicBoolean();

    private LockHandle(String name, Hold hold) {
        this.name = name;
        this.hold = hold;
    }

    /** A lock just acquired: from now on it hears of the lease's end and of its key's deletion. */
    static LockHandle acquired(String name, SessionLocks locks, LockQueue.Held held) {
        return new LockHandle(name, Hold.won(locks, held, new Hold.Words("lock " + name, "held it"),
                LockHandle.class));
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
        return hold.key();
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
        return hold.fencingToken();
    }

    /**
     * The etcd revision at which this handle was seen to hold the lock: the revision of the acquiring request, or of
     * the delete that freed the lock for it. What {@code etcdctl lock} exports as {@code ETCD_LOCK_REV}.
     *
     * @return an etcd revision, at least {@link #fencingToken()}
     */
    public long acquiredRevision() {
        return hold.held().acquiredRevision();
    }

    /**
     * Whether the lock is still held, as far as the client knows. No I/O; etcd has the last word, so guard writes
     * with {@link Txn#ifHeld(LockHandle)}.
     *
     * @return true until released through this handle, and while the session's lease is certainly alive and the key
     *     not seen deleted; false once the session or client is closed, the key was deleted, or the lease is lost or
     *     may have expired
     */
    public boolean isHeld() {
        return hold.isHeld();
    }

    /**
     * Completes when the hold ends: normally after {@link #unlock()}/{@link #close()} (whether or not etcd could be
     * told), or when the session or client is closed; exceptionally when it is lost, with whichever news came
     * first: {@link LeaseLostException} when the session's lease is lost (etcd answered a keep-alive with "gone", or
     * did not answer before the lease could expire), or when the key's delete event came and one LeaseTimeToLive
     * then found the lease gone in etcd (revoked or expired); {@link LockNotHeldException} when the key was deleted
     * and the lease is still there (somebody deleted the key), or etcd did not answer that question. {@link #isHeld()}
     * turns false at the event itself, one round trip before. Completes on the common {@link ForkJoinPool}, never
     * on the client's I/O threads, so dependent actions may block; it is done by the time the
     * {@code unlock()}/{@code close()} that ends the hold returns. Stop the work the lock protects there; still
     * {@link #close()} the handle to let this session's next caller of the name in.
     *
     * @return the hold's one future, the same on every call; polling {@code isDone()} costs nothing. It is
     *     read-only: {@code complete}, {@code completeExceptionally}, {@code obtrude*}, {@code completeAsync},
     *     {@code orTimeout} and {@code completeOnTimeout} throw {@link UnsupportedOperationException} and
     *     {@code cancel} returns false; stages chained on it (or {@code copy()}) are the caller's own
     */
    public CompletableFuture<Void> lost() {
        return hold.lost();
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
     * @throws EtcdUnavailableException when etcd could not be reached: the session then goes on deleting the key in
     *     the background until etcd answers (or the lease ends), so it does not block the name; the next thread of
     *     this session may lock the name at once. A later call throws {@link LockNotHeldException} as a second call
     * @throws ClientClosedException when the client is being closed at that very moment, with the lease still alive
     *     (the close goes on to revoke it); a later call throws {@link LockNotHeldException} as a second call
     */
    public void unlock() {
        if (!claimUnlock()) {
            throw new LockNotHeldException(LockNotHeldException.Reason.RELEASED, "lock " + key()
                    + " was already released by this handle");
        }
        release();
    }

    /** The first unlock or close: the hold ends by the owner's will, unless it ended before. */
    private boolean claimUnlock() {
        if (!unlockCalled.compareAndSet(false, true)) {
            return false;
        }
        hold.endByOwner(new LockNotHeldException(LockNotHeldException.Reason.RELEASED, "lock " + key()
                + " was released by this handle"));
        return true;
    }

    /**
     * Releases the lock as {@link #unlock()} does, if this handle has not released it yet, and never throws for a
     * lock that is no longer held: a loss is logged as a warning once, when it is seen (someone else may have held
     * it), one released by closing the session or the client only at debug level, as that is no news. A second call
     * does nothing; so it may run after the session's or the client's close, as in a shutdown hook.
     *
     * @throws EtcdUnavailableException as {@link #unlock()}: etcd could not be reached, the key is deleted in the
     *     background
     */
    @Override
    public void close() {
        if (!claimUnlock()) {
            return;
        }
        try {
            release();
        } catch (LockNotHeldException e) {
            // a loss seen before was logged as a warning then
            boolean news = !hold.endedByOwner() && hold.state() != Hold.State.LOST;
            LOG.log(news ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG, e.getMessage());
        } catch (ClientClosedException e) {
            // the client is being closed right now: its close revokes the lease, which releases the lock
            LOG.log(System.Logger.Level.DEBUG, () -> "lock " + key() + " is released by the client's close: " + e);
        }
    }

    /**
     * Deletes the key if it is still ours; throws when it is not, saying whether a close or a loss took it. Sent
     * after a known loss too: when only the client lost the lease (no answers in time) while etcd kept it, this
     * deletes the key, which is what the caller asked for.
     */
    private void release() {
        boolean deleted;
        try {
            deleted = hold.release();
        } catch (RuntimeException e) {
            hold.settle(null);
            RuntimeException failure = EtcdErrors.toException(e, "unlock of " + key(), true);
            // Our own close ended the lease, or the client's close failed this call after every lease had ended
            // (revoked by it, or lost before): either way nothing is left to release, so say why it is not held.
            if (hold.endedByOwner() || (failure instanceof ClientClosedException && hold.sessionEnded())) {
                throw notHeld();
            }
            if (failure instanceof EtcdUnavailableException) {
                throw new EtcdUnavailableException("unlock of " + key() + " got no answer from etcd: "
                        + failure.getMessage() + "; the key is deleted in the background as soon as etcd answers",
                        true, failure);
            }
            throw failure;
        }
        Hold.State before = hold.state();
        if (deleted && before == Hold.State.RELEASED) {
            hold.settle(null);
            return;
        }
        if (deleted && before == Hold.State.LOST && !hold.keySeenDeleted()) {
            return; // the lease was lost only in this client's view and the key was still there; lost() told so
        }
        hold.settle(null);
        throw notHeld();
    }

    private LockNotHeldException notHeld() {
        if (hold.endedByOwner()) {
            return new LockNotHeldException(LockNotHeldException.Reason.CLOSED, "lock " + key() + " (fencing token "
                    + fencingToken() + ") was released when its session or client was closed, before this unlock");
        }
        return new LockNotHeldException("lock " + key() + " (fencing token " + fencingToken() + ") was lost "
                + "before unlock: the session's lease expired or was revoked, or the key was deleted, and someone "
                + "else may have held it");
    }

    LockQueue.Held held() {
        return hold.held();
    }

    @Override
    public String toString() {
        Hold.State now = hold.state();
        return "LockHandle{" + key() + ", token=" + fencingToken() + (now == Hold.State.HELD ? "" : ", "
                + now.name().toLowerCase(java.util.Locale.ROOT)) + "}";
    }
}
