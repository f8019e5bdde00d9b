package dev.etcdlock.internal.lock;

import dev.etcdlock.EtcdLockException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.internal.ReadOnlyFuture;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One won place in a queue, from the win until it ends, behind every handle the API gives out (a lock's, an
 * election's term). It hears of the session's lease ending and of its key's deletion, and ends exactly once:
 * RELEASED by its owner, ENDED with its session's close, or LOST (the lease, or the key); {@link #lost()} tells the
 * application at once, on the common pool. Thread-safe; only {@link #release()} does I/O.
 */
public final class Hold {
    /** How a hold ended; HELD while it lasts. */
    public enum State { HELD, RELEASED, LOST, ENDED }

    /**
     * The handle's words in messages.
     *
     * @param what what is held, opening messages: "lock /a", "leadership of /a"
     * @param since how a successor is named: "held it", "led"
     */
    public record Words(String what, String since) {
    }

    private record End(State state, RuntimeException why) {
    }

    private final SessionLocks locks;
    private final LockQueue.Held held;
    private final Words words;
    private final ReadOnlyFuture<Void> lost;
    /** The owner's logger, so that users configure what a lock or a term logs under the class they know. */
    private final System.Logger log;
    /** Null while held; set once, by whatever ended the hold first. */
    private final AtomicReference<End> end = new AtomicReference<>();
    /** Whether the guarded delete that gives the place up (and the session's turn at the name) was sent. */
    private final AtomicBoolean released = new AtomicBoolean();
    /** Set before LOST when the loss was the key seen deleted (not the lease): then no unlock can undo it. */
    private volatile boolean keySeenDeleted;
    /** Stops the lease listener and the key watch; null until they are set up. */
    private volatile Runnable stopListeners;

    private Hold(SessionLocks locks, LockQueue.Held held, Words words, Class<?> owner) {
        this.locks = locks;
        this.held = held;
        this.words = words;
        this.lost = new ReadOnlyFuture<>(owner.getSimpleName());
        this.log = System.getLogger(owner.getName());
    }

    /**
     * A place just won: from now on it hears of the lease's end and of its key's deletion.
     *
     * @param owner the public handle class: its logger tells of losses, its name is in refusals of {@code lost()}
     */
    public static Hold won(SessionLocks locks, LockQueue.Held held, Words words, Class<?> owner) {
        Hold hold = new Hold(locks, held, words, owner);
        hold.stopListeners = locks.listenWhileHeld(held, hold::leaseEnded, hold::keyDeleted);
        if (hold.end.get() != null) { // ended while the listeners were being set up
            hold.stopListening();
        }
        return hold;
    }

    public LockQueue.Held held() {
        return held;
    }

    public String key() {
        return held.key().toStringUtf8();
    }

    public long fencingToken() {
        return held.createRevision();
    }

    public long leaseId() {
        return locks.lease().id();
    }

    /** Not ended, and the lease certainly valid: what the client knows, without I/O. */
    public boolean isHeld() {
        return end.get() == null && locks.lease().isValid();
    }

    public State state() {
        End e = end.get();
        return e == null ? State.HELD : e.state();
    }

    /** What ended the hold, as far as known when it ended; null while held. */
    public RuntimeException endedBy() {
        End e = end.get();
        return e == null ? null : e.why();
    }

    /** True when the loss was the key's delete event: an unlock cannot find the key any more. */
    public boolean keySeenDeleted() {
        return keySeenDeleted;
    }

    /** The owner closed the session or client that held it: then a failed unlock is no news. */
    public boolean endedByOwner() {
        return locks.lease().endedByOwner();
    }

    /** The session's lease has ended, however: closed by its owner or lost. */
    public boolean sessionEnded() {
        return locks.lease().done().isDone();
    }

    /** Ended normally after the owner's release, exceptionally when lost; read-only for the application. */
    public CompletableFuture<Void> lost() {
        return lost;
    }

    /**
     * The owner gives the place up: true when this ended the hold (our own delete is then not a loss), false when
     * it had ended before.
     */
    public boolean endByOwner(RuntimeException why) {
        if (!end.compareAndSet(null, new End(State.RELEASED, why))) {
            return false;
        }
        stopListening();
        return true;
    }

    /**
     * Deletes the key if it is still this hold's (see {@link SessionLocks#unlock}) and lets the session's next
     * thread in; only the first call sends it, later ones return false. Blocks until etcd answers.
     *
     * @return true when the key was deleted, false when it was gone before (or released by an earlier call)
     */
    public boolean release() {
        return released.compareAndSet(false, true) && locks.unlock(held).join();
    }

    /** As {@link #release()}, for a hold whose end was told already: a failure is only logged. */
    public void releaseQuietly() {
        try {
            release();
        } catch (RuntimeException e) {
            log.log(System.Logger.Level.DEBUG, () -> "releasing " + key() + " after its hold ended: " + e);
        }
    }

    /**
     * After the owner's release: ends {@link #lost()} normally ({@code failure} null) or with {@code failure},
     * unless a loss ended it first, and returns once it is done, so that the owner's call returns with it done.
     */
    public void settle(Throwable failure) {
        if (state() != State.LOST && !lost.isDone()) { // a loss fails it: never settle over that
            lost.endOnPoolAndAwait(failure);
        }
    }

    /**
     * A request of the owner found the key gone (a proclaim's guarded put): the hold is lost, and the listener hears
     * of it. False when it had ended before.
     */
    public boolean keyFoundGone(EtcdLockException why) {
        if (!lose(why)) {
            return false;
        }
        locks.lost(held, why);
        return true;
    }

    private void leaseEnded(Throwable failure) {
        if (failure == null) {
            if (end.compareAndSet(null, new End(State.ENDED, new LockNotHeldException(
                    LockNotHeldException.Reason.CLOSED, words.what() + " (key " + key() + ") ended when its session "
                    + "was closed")))) {
                stopListening();
                ForkJoinPool.commonPool().execute(() -> lost.settle(null));
            }
            return;
        }
        Throwable cause = EtcdErrors.unwrap(failure);
        lose(new LeaseLostException(leaseId(), words.what() + " (key " + key() + ", fencing token " + fencingToken()
                + ") was lost with its session's lease: " + (cause instanceof LeaseLostException ? cause.getMessage()
                        : cause.toString())));
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
        if (!end.compareAndSet(null, new End(State.LOST, new LockNotHeldException(words.what() + ": its key "
                + key() + " (fencing token " + fencingToken() + ") was deleted")))) {
            return;
        }
        stopListening();
        locks.whyKeyWent(words.what() + " was lost", key(), fencingToken(), "; someone else may have " + words.since()
                + " since").thenAccept(why -> {
                    tell(why);
                    locks.lost(held, why); // the listener and JFR hear of it now, not at unlock
                });
    }

    /** Ends the hold as lost, once, and tells at once: any thread, including the client's I/O threads. */
    private boolean lose(RuntimeException why) {
        if (!end.compareAndSet(null, new End(State.LOST, why))) {
            return false;
        }
        stopListening();
        tell(why);
        return true;
    }

    private void tell(RuntimeException why) {
        log.log(System.Logger.Level.WARNING, () -> why.getMessage());
        ForkJoinPool.commonPool().execute(() -> lost.fail(why));
    }

    private void stopListening() {
        Runnable stop = stopListeners;
        if (stop != null) {
            stop.run();
        }
    }
}
