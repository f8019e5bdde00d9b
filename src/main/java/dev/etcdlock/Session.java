package dev.etcdlock;

import dev.etcdlock.internal.ReadOnlyFuture;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A lease with a TTL, kept alive by the client, that every lock taken through this session is attached to. If the
 * process dies, etcd deletes the session's lock keys when the TTL runs out, and the next waiter gets the lock.
 *
 * <p>{@link #close()} revokes the lease, releasing every lock of the session at once. When the lease is lost
 * (expired while etcd was unreachable, or revoked by someone else), {@link #lost()} completes exceptionally with
 * {@link LeaseLostException}, waits fail at once with it, and the locks held may already belong to someone else
 * (see <a href="package-summary.html#lease-lost">what "lease lost" means</a>). A session does not recover from a
 * loss: open a new one.
 *
 * <p>Thread-safe. A session takes one place per name at a time: its threads asking for the same name take turns
 * (see <a href="package-summary.html#threads">the threading model</a>). The recipe methods below do no I/O; only
 * acquisitions talk to etcd. After {@link #close()} they throw {@link ClientClosedException}; after a loss they
 * still return recipes, whose acquisitions fail with {@link LeaseLostException}.
 */
public final class Session implements AutoCloseable {
    private final Engine engine;
    private final SessionLocks locks;
    private final Lease lease;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ReadOnlyFuture<Void> lost = new ReadOnlyFuture<>("Session");

    Session(Engine engine, SessionLocks locks) {
        this.engine = engine;
        this.locks = locks;
        this.lease = locks.lease();
        // handed to the common pool: user actions on it must never run on, or block, etcd-lock's I/O threads
        lease.done().whenCompleteAsync((v, failure) -> {
            if (failure != null) {
                lost.fail(EtcdErrors.unwrap(failure));
            } else {
                lost.settle(null);
            }
        }, ForkJoinPool.commonPool());
    }

    /**
     * The lock on {@code name} through this session. The name is a key prefix, as in Go's
     * {@code concurrency.NewMutex}: waiter keys are {@code name + "/" + lease id in hex}, so Java and Go (or
     * {@code etcdctl lock}) holders of the same name exclude each other. No I/O.
     *
     * @param name the lock's name, a key prefix such as {@code /my-app/locks/config}
     * @return the mutex; cheap to make, and any number may be made for one name
     * @throws IllegalArgumentException when the name is empty, contains a NUL character or is longer than
     *     {@link Mutex#MAX_NAME_BYTES}
     * @throws NullPointerException when the name is null
     * @throws ClientClosedException when the session is closed
     */
    public Mutex mutex(String name) {
        checkOpen();
        return new Mutex(this, locks, name);
    }

    /**
     * The counting semaphore on {@code name} with {@code permits} permits, through this session. Every client of the
     * name must give the same count: it is stored in etcd with the holders and waiters, and a different one fails
     * their acquisitions with {@link IllegalStateException} (see {@link Semaphore}). No I/O.
     *
     * @param name the semaphore's name, a key prefix
     * @param permits how many holders it admits at once
     * @return the semaphore
     * @throws IllegalArgumentException when the name is empty, contains a NUL character or is longer than
     *     {@link Mutex#MAX_NAME_BYTES}, or permits is below 1
     * @throws NullPointerException when the name is null
     * @throws ClientClosedException when the session is closed
     */
    public Semaphore semaphore(String name, int permits) {
        checkOpen();
        return new Semaphore(this, locks, name, permits);
    }

    /**
     * The read-write lock on {@code name} through this session: its waiter keys are {@code name/read/<lease id in
     * hex>} and {@code name/write/<lease id in hex>} (see {@link ReadWriteLock}). No I/O.
     *
     * @param name the lock's name, a key prefix
     * @return the read-write lock
     * @throws IllegalArgumentException when the name is empty, contains a NUL character or is longer than
     *     {@link Mutex#MAX_NAME_BYTES}
     * @throws NullPointerException when the name is null
     * @throws ClientClosedException when the session is closed
     */
    public ReadWriteLock readWriteLock(String name) {
        checkOpen();
        return new ReadWriteLock(this, locks, name);
    }

    /**
     * The leader election on {@code name} through this session, with the keys and semantics of Go's
     * {@code concurrency.Election} and {@code etcdctl elect}: candidate keys are {@code name + "/" + lease id in
     * hex}, holding the candidate's value; the one with the lowest create revision leads (see {@link Election}).
     * No I/O.
     *
     * @param name the election's name, a key prefix such as {@code /my-app/leader}
     * @return the election
     * @throws IllegalArgumentException when the name is empty, contains a NUL character or is longer than
     *     {@link Election#MAX_NAME_BYTES}
     * @throws NullPointerException when the name is null
     * @throws ClientClosedException when the session is closed
     */
    public Election election(String name) {
        checkOpen();
        return new Election(this, locks, engine, name);
    }

    /**
     * The etcd lease id of this session, as {@code etcdctl lease} shows it (in hex) and as the waiter keys end.
     *
     * @return the lease id; the same after the session is closed or lost
     */
    public long leaseId() {
        return lease.id();
    }

    /**
     * How much longer the lease is certainly valid, counted on the monotonic clock from the send time of the last
     * answered keep-alive; {@link Duration#ZERO} once it may have expired or the session is closed. No I/O.
     *
     * @return the time left, never negative
     */
    public Duration remainingValidity() {
        long left = lease.validUntilNanos() - System.nanoTime();
        return isValid() && left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
    }

    /**
     * The TTL etcd granted (etcd raises TTLs below its minimum, 2 s with default settings). No I/O.
     *
     * @return the granted TTL, in whole seconds
     */
    public Duration ttl() {
        return Duration.ofSeconds(lease.ttlSeconds());
    }

    /**
     * Whether the lease is certainly alive: kept alive, and its last confirmed validity not yet run out. No I/O.
     *
     * @return false once the session or its client is closed, or the lease is lost or may have expired
     */
    public boolean isValid() {
        return !closed.get() && lease.isValid();
    }

    /**
     * Completes normally when the session is closed, exceptionally with {@link LeaseLostException} when its lease
     * is lost (see <a href="package-summary.html#lease-lost">what "lease lost" means</a>). Closing the client
     * closes the session in this sense too. Completes on the common {@link ForkJoinPool}, never on the client's I/O
     * threads, so dependent actions may block; it is done by the time the session's {@code close()} returns. A lease
     * lost before the session was closed keeps the exceptional completion.
     *
     * @return the session's one future, the same on every call; polling {@code isDone()} on it costs nothing. It is
     *     read-only: {@code complete}, {@code completeExceptionally}, {@code obtrude*}, {@code completeAsync},
     *     {@code orTimeout} and {@code completeOnTimeout} throw {@link UnsupportedOperationException} and
     *     {@code cancel} returns false, so no caller can end it for the others; stages chained on it (or
     *     {@code copy()}) are the caller's own
     */
    public CompletableFuture<Void> lost() {
        return lost;
    }

    /**
     * Revokes the lease, which deletes every lock key of this session in etcd: held locks are released, and waits
     * of this session end with {@link ClientClosedException}. One LeaseRevoke request, retried on other members
     * within the request timeout; blocks until answered, not interruptible. When etcd is unreachable, the lease
     * expires after its TTL instead. It does nothing and sends nothing after a lease loss, or after the client was
     * closed (whose close revoked the lease already), so it is safe in a try-with-resources block that outlives the
     * client. A second call does nothing, even when the first one threw.
     *
     * <p>Handles of this session's locks are then released: their {@code unlock()} throws
     * {@link LockNotHeldException} saying so, and their {@code close()} returns quietly.
     *
     * @throws EtcdUnavailableException when etcd could not be told (the locks are then freed by the TTL)
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                engine.leases().revoke(lease).join();
            } catch (RuntimeException e) {
                throw EtcdErrors.toException(e, "revoking the session's lease", true);
            } finally {
                // the lease has ended here by now (revoked, or lost before), and the callback that mirrors it into
                // lost() is on the common pool: a caller looking at lost() after close() must see it done
                if (lease.done().isDone()) {
                    lost.awaitDone();
                }
            }
        }
    }

    void checkOpen() {
        if (closed.get()) {
            throw new ClientClosedException("the session is closed; open a new one with client.newSession()");
        }
    }

    @Override
    public String toString() {
        return "Session{lease=" + Long.toHexString(lease.id()) + ", ttl=" + lease.ttlSeconds() + "s"
                + (closed.get() ? ", closed" : lease.isValid() ? "" : ", lost") + "}";
    }
}
