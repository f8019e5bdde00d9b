package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.QueuePolicy;
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
 * <p>Every blocking method ends the same ways as a lock's (see <a href="package-summary.html#waits">how a wait
 * ends</a>): with a permit; with {@link LockTimeoutException} when its timeout passes; with
 * {@link InterruptedException} ({@link #acquireInterruptibly()}) or {@link LockInterruptedException}
 * ({@link #acquire(Duration)}) when interrupted; with {@link LeaseLostException} at once when the session's lease is
 * lost; with {@link EtcdUnavailableException} when etcd cannot be reached to enqueue; with
 * {@link ClientClosedException} when the session or client is closed; with {@link IllegalStateException} when the
 * semaphore's holders and waiters were acquired with another count. The waiter key is removed on every failure:
 * before the method throws on timeout and interruption, in the background on lease loss and etcd failures, retried
 * until etcd answers. A permit whose session's lease is lost (its process crashed, or was cut off from etcd past the
 * TTL) returns to the semaphore when etcd expires the lease.
 *
 * <p><b>The count is stored in etcd</b> as the value of every holder's and waiter's key ({@code name/<lease id in
 * hex>} holds {@code "3"}), and the enqueue Txn checks that they all carry the count it was given: while anyone holds
 * or waits, a client that asks with another count fails with {@link IllegalStateException} naming both counts, and
 * writes nothing. Nothing else is stored: when the last holder or waiter leaves, no key is left under the name, and
 * the count of the next acquisition becomes the semaphore's.
 *
 * <p><b>One permit per session.</b> A session takes one place in a semaphore's queue at a time: threads sharing a
 * session take turns for its one permit, in the order they asked (as they do for a {@link Mutex}). To hold several
 * permits of one semaphore at once in one process, use one session per permit. Thread-safe.
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
        QueuePolicy policy = new QueuePolicy(prefix, prefix, QueuePolicy.Rule.permits(permits),
                new QueuePolicy.Value.Agreed(ByteString.copyFromUtf8(Integer.toString(permits)),
                        found -> mismatch(name, permits, found)));
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

    /**
     * The semaphore's name, a key prefix. No I/O.
     *
     * @return the name
     */
    public String name() {
        return acquirer.name();
    }

    /**
     * How many holders the semaphore admits at once, as given to {@link Session#semaphore(String, int)}. No I/O.
     *
     * @return the permit count
     */
    public int permits() {
        return permits;
    }

    /**
     * Waits as long as it takes for a permit, as {@link DistributedLock#lock()}. Interruption does not end the wait:
     * the interrupt flag is set again when the method returns or throws.
     *
     * @return the permit; give it back with {@link LockHandle#close()}
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     * @throws IllegalStateException when the holders and waiters in etcd were acquired with another count, or the
     *     keys under the name are not a semaphore's; nothing is written then
     */
    public LockHandle acquire() {
        return acquirer.lock();
    }

    /**
     * Waits at most {@code timeout} for a permit, as {@link DistributedLock#lock(Duration)}. Returns the permit if
     * it is granted as the time runs out.
     *
     * @param timeout how long to wait; the call may return about one round trip later, once the waiter key is gone
     * @return the permit; give it back with {@link LockHandle#close()}
     * @throws LockTimeoutException when the time passes first; the waiter key is deleted by then (if etcd cannot be
     *     reached for that, the session deletes it in the background as soon as etcd answers, and the message says so)
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is deleted as on a timeout,
     *     the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use
     *     {@link #tryAcquire()})
     * @throws NullPointerException when the timeout is null
     * @throws IllegalStateException when the holders and waiters in etcd were acquired with another count
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     */
    public LockHandle acquire(Duration timeout) {
        return acquirer.lock(timeout);
    }

    /**
     * Waits for a permit until acquired or interrupted, as {@link DistributedLock#lockInterruptibly()}.
     *
     * @return the permit; give it back with {@link LockHandle#close()}
     * @throws InterruptedException when interrupted while waiting (or already interrupted when called); the waiter
     *     key is removed first (and a permit acquired at that very moment is given back), and the interrupt flag is
     *     cleared, as usual with this exception
     * @throws IllegalStateException when the holders and waiters in etcd were acquired with another count
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws EtcdUnavailableException when no member could enqueue the waiter within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed, before or while waiting
     */
    public LockHandle acquireInterruptibly() throws InterruptedException {
        return acquirer.lockInterruptibly();
    }

    /**
     * Takes a permit only if one is free (then nobody waits); never waits, and leaves nothing behind when the answer
     * is no. One round trip when a permit is free; when none is, two (the waiter key is put, then deleted), but for
     * a single permit one either way. Blocks for those round trips (retried on other members within the request
     * timeout); not interruptible.
     *
     * @return the permit when one was taken; empty when none is free, or when another thread of this session holds
     *     or waits for this session's permit
     * @throws IllegalStateException when the holders and waiters in etcd were acquired with another count
     * @throws LeaseLostException when the session's lease is lost or no longer certainly valid
     * @throws EtcdUnavailableException when etcd could not be reached within the request timeout; a key the request
     *     may have put is deleted (or, if etcd stays unreachable, goes with the session's lease)
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws ClientClosedException when the session or the client is closed
     */
    public Optional<LockHandle> tryAcquire() {
        return acquirer.tryLock();
    }

    /**
     * Waits for a permit without blocking a thread, as {@link DistributedLock#lockAsync()}: the future completes
     * with the permit, or exceptionally as {@link #acquire()} fails. Cancelling the future (or its
     * {@code orTimeout}) gives up the wait and removes the waiter key in the background; a permit granted at that
     * very moment is given back. The future completes on the common {@link java.util.concurrent.ForkJoinPool},
     * never on etcd-lock's I/O threads, so dependent actions may block.
     *
     * @return a future of the permit
     * @throws ClientClosedException at once when the session is closed
     */
    public CompletableFuture<LockHandle> acquireAsync() {
        return acquirer.lockAsync();
    }

    @Override
    public String toString() {
        return "Semaphore{" + name() + ", " + permits + " permits, " + session + "}";
    }
}
