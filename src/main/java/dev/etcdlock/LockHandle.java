package dev.etcdlock;

import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

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
    private final SessionLocks locks;
    private final LockQueue.Held held;
    private final ReadOnlyFuture<Void> lost = new ReadOnlyFuture<>("LockHandle");
    /** HELD until the first of: unlock/close (RELEASED), a loss (LOST), the session's close (ENDED). */
    private final AtomicReference<State> state = new AtomicReference<>(State.HELD);
    private final AtomicBoolean unlockCalled = new AtomicBoolean();
    /** Set before LOST when the loss was the key seen deleted (not the lease): then no unlock can undo it. */
    private volatile boolean keySeenDeleted;
    /** Stops the lease listener and the key watch; null until they are set up. */
    private volatile Runnable stopListeners;

    private enum State { HELD, RELEASED, LOST, ENDED }

    private LockHandle(String name, SessionLocks locks, LockQueue.Held held) {
        this.name = name;
        this.locks = locks;
        this.held = held;
    }

    /** A lock just acquired: from now on it hears of the lease's end and of its key's deletion. */
    static LockHandle acquired(String name, SessionLocks locks, LockQueue.Held held) {
        LockHandle handle = new LockHandle(name, locks, held);
        handle.stopListeners = locks.listenWhileHeld(held, handle::leaseEnded, handle::keyDeleted);
        if (handle.state.get() != State.HELD) { // ended while the listeners were being set up
            handle.stopListening();
        }
        return handle;
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
     * @return true until released through this handle, and while the session's lease is certainly alive and the key
     *     not seen deleted; false once the session or client is closed, the key was deleted, or the lease is lost or
     *     may have expired
     */
    public boolean isHeld() {
        return state.get() == State.HELD && locks.lease().isValid();
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
        return lost;
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
            throw new LockNotHeldException("lock " + key() + " was already released by this handle");
        }
        release();
    }

    /** The first unlock or close: the hold ends by the owner's will, unless it ended before. */
    private boolean claimUnlock() {
        if (!unlockCalled.compareAndSet(false, true)) {
            return false;
        }
        if (state.compareAndSet(State.HELD, State.RELEASED)) {
            stopListening(); // our own delete is not a loss
        }
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
            boolean news = !locks.lease().endedByOwner() && state.get() != State.LOST;
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
        Lease lease = locks.lease();
        boolean deleted;
        try {
            deleted = locks.unlock(held).join();
        } catch (RuntimeException e) {
            settleLost();
            RuntimeException failure = EtcdErrors.toException(e, "unlock of " + key(), true);
            // Our own close ended the lease, or the client's close failed this call after every lease had ended
            // (revoked by it, or lost before): either way nothing is left to release, so say why it is not held.
            if (lease.endedByOwner() || (failure instanceof ClientClosedException && lease.done().isDone())) {
                throw notHeld(lease);
            }
            if (failure instanceof EtcdUnavailableException) {
                throw new EtcdUnavailableException("unlock of " + key() + " got no answer from etcd: "
                        + failure.getMessage() + "; the key is deleted in the background as soon as etcd answers",
                        true, failure);
            }
            throw failure;
        }
        State before = state.get();
        if (deleted && before == State.RELEASED) {
            settleLost();
            return;
        }
        if (deleted && before == State.LOST && !keySeenDeleted) {
            return; // the lease was lost only in this client's view and the key was still there; lost() told so
        }
        settleLost();
        throw notHeld(lease);
    }

    /**
     * After the owner's unlock: lost() completes normally unless a loss or close completed it first, and is done once
     * unlock() returns.
     */
    private void settleLost() {
        if (state.get() != State.LOST && !lost.isDone()) { // a loss fails it: never settle over that
            lost.endOnPoolAndAwait(null);
        }
    }

    private void leaseEnded(Throwable failure) {
        if (failure == null) {
            if (state.compareAndSet(State.HELD, State.ENDED)) {
                stopListening();
                ForkJoinPool.commonPool().execute(() -> lost.settle(null));
            }
            return;
        }
        Throwable cause = EtcdErrors.unwrap(failure);
        lose(cause instanceof LeaseLostException lostLease ? lostLease : new LeaseLostException(locks.lease().id(),
                "lock " + key() + " (fencing token " + fencingToken() + ") was lost with the session's lease: "
                        + cause));
    }

    /**
     * The key's delete event: not held from now on; lost() says why once one more round trip tells whether the lease
     * went too (revoked or expired in etcd, which deletes its keys before a keep-alive could say so) or only the key.
     */
    private void keyDeleted() {
        if (locks.lease().endedByOwner()) { // the close's revoke: its callback may come after this event
            leaseEnded(null);
            return;
        }
        keySeenDeleted = true;
        if (!state.compareAndSet(State.HELD, State.LOST)) {
            return;
        }
        stopListening();
        locks.whyKeyWent("lock " + name + " was lost", key(), fencingToken(), "; someone else may have held it "
                + "since").thenAccept(why -> {
            tell(why);
            locks.lost(held, why); // the listener and JFR hear of it now, not at unlock
        });
    }

    /** Ends the hold as lost, once, and tells at once: any thread, including the client's I/O threads. */
    private boolean lose(EtcdLockException why) {
        if (!state.compareAndSet(State.HELD, State.LOST)) {
            return false;
        }
        stopListening();
        tell(why);
        return true;
    }

    private void tell(EtcdLockException why) {
        LOG.log(System.Logger.Level.WARNING, () -> why.getMessage());
        ForkJoinPool.commonPool().execute(() -> lost.fail(why));
    }

    private void stopListening() {
        Runnable stop = stopListeners;
        if (stop != null) {
            stop.run();
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
        State now = state.get();
        return "LockHandle{" + key() + ", token=" + fencingToken() + (now == State.HELD ? "" : ", "
                + now.name().toLowerCase(java.util.Locale.ROOT)) + "}";
    }
}
