package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.QueueRule;
import dev.etcdlock.internal.lock.SessionLocks;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A distributed counting semaphore on a name, through a {@link Session}: at most {@link #permits()} holders at a time
 * across every process, the others waiting in the order they came (by etcd create revision). A permit is a
 * {@link LockHandle}: {@code unlock()} or {@code close()} gives it back.
 *
 * <pre>{@code
 * Semaphore downloads = session.semaphore("/my-app/semaphores/downloads", 3);
 * try (LockHandle permit = downloads.acquire(Duration.ofSeconds(30))) {
 *     download(file);
 * }
 * }</pre>
 *
 * <p>Every blocking method ends the same ways: with a permit; with {@link LockTimeoutException} when its timeout
 * passes; with {@link InterruptedException} ({@link #acquireInterruptibly()}) when interrupted; with
 * {@link LeaseLostException} at once when the session's lease is lost; with {@link EtcdUnavailableException} when
 * etcd cannot be reached; with {@link IllegalStateException} when the semaphore's holders and waiters were acquired
 * with another count. In every case but success the waiter key is removed before the method returns. A permit whose
 * session's lease is lost (its process crashed, or was cut off from etcd past the TTL) returns to the semaphore when
 * etcd expires the lease.
 *
 * <p><b>The count is stored in etcd</b> as the value of every holder's and waiter's key ({@code name/<lease id in
 * hex>} holds {@code "3"}), and the enqueue Txn checks that they all carry the count it was given: while anyone holds
 * or waits, a client that asks with another count fails with {@link IllegalStateException} naming both counts, and
 * writes nothing. Nothing else is stored: when the last holder or waiter leaves, no key is left under the name, and
 * the count of the next acquisition becomes the semaphore's.
 *
 * <p><b>One permit per session.</b> A session takes one place in a semaphore's queue at a time: threads sharing a
 * session take turns for its one permit, in the order they asked (as they do for a {@link Mutex}). To hold several
 * permits of one semaphore at once in one process, use one session per permit.
 */
public final class Semaphore {
    private final Session session;
    private final int permits;
    private final Acquirer acquirer;

    Semaphore(Session session, SessionLocks locks, String name, int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("a semaphore needs at least 1 permit, was given " + permits);
        }
        ByteString prefix = Acquirer.prefixOf(name);
        QueuePolicy policy = new QueuePolicy(prefix, prefix, QueueRule.permits(permits),
                ByteString.copyFromUtf8(Integer.toString(permits)), found -> mismatch(name, permits, found));
        this.session = session;
        this.permits = permits;
        this.acquirer = new Acquirer(session, locks, name, LockListener.Kind.SEMAPHORE_PERMIT,
                "permit of semaphore",
                "use tryAcquire() to take a permit only if one is free", policy);
    }

    private static IllegalStateException mismatch(String name, int permits, ByteString found) {
        String theirs = found.toStringUtf8();
        try {
            int stored = Integer.parseInt(theirs);
            return new IllegalStateException("semaphore " + name + " has " + stored + " permits in etcd (the count its "
                    + "holders and waiters acquired with), but this call asked for " + permits + ": every client of "
                    + "a semaphore must give the same count. To change it, stop every client and start them with the "
                    + "new count: the count is stored in the holders' and waiters' keys and goes with the last one");
        } catch (NumberFormatException e) {
            String shown = theirs.length() > 40 ? theirs.substring(0, 40) + "..." : theirs;
            return new IllegalStateException("the keys under " + name + "/ are not a semaphore's (one holds '"
                    + shown + "', not a permit count): is the name used by a Mutex or another recipe? Give the "
                    + "semaphore a name of its own");
        }
    }

    /** The semaphore's name, a key prefix. */
    public String name() {
        return acquirer.name();
    }

    /** How many holders the semaphore admits at once, as given to {@link Session#semaphore(String, int)}. */
    public int permits() {
        return permits;
    }

    /** Waits as long as it takes. Interruption does not end the wait; the interrupt flag is kept. */
    public LockHandle acquire() {
        return acquirer.lock();
    }

    /**
     * Waits at most {@code timeout}.
     *
     * @throws LockTimeoutException when the time passes first; the waiter key is gone by then
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is gone, the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use
     *     {@link #tryAcquire()})
     * @throws IllegalStateException when the holders and waiters in etcd were acquired with another count
     */
    public LockHandle acquire(Duration timeout) {
        return acquirer.lock(timeout);
    }

    /**
     * Waits until acquired or interrupted.
     *
     * @throws InterruptedException when interrupted while waiting; the waiter key is removed first (and a permit
     *     acquired at that very moment is given back)
     */
    public LockHandle acquireInterruptibly() throws InterruptedException {
        return acquirer.lockInterruptibly();
    }

    /**
     * Takes a permit only if one is free (then nobody waits); never waits, and leaves nothing behind when the answer
     * is no. One round trip when a permit is free; when none is, two (the waiter key is put, then deleted), but for
     * a single permit one either way.
     */
    public Optional<LockHandle> tryAcquire() {
        return acquirer.tryLock();
    }

    /**
     * Waits without blocking a thread. Cancelling the future gives up the wait and removes the waiter key. The future
     * completes on the common {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads, so
     * dependent actions may block.
     */
    public CompletableFuture<LockHandle> acquireAsync() {
        return acquirer.lockAsync();
    }

    @Override
    public String toString() {
        return "Semaphore{" + name() + ", " + permits + " permits, " + session + "}";
    }
}
