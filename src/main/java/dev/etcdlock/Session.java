package dev.etcdlock;

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
 * {@link LeaseLostException}, waits fail at once with it, and the locks held may already belong to someone else.
 */
public final class Session implements AutoCloseable {
    private final Engine engine;
    private final SessionLocks locks;
    private final Lease lease;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> lost = new CompletableFuture<>();

    Session(Engine engine, SessionLocks locks) {
        this.engine = engine;
        this.locks = locks;
        this.lease = locks.lease();
        // handed to the common pool: user actions on it must never run on, or block, etcd-lock's I/O threads
        lease.done().whenCompleteAsync((v, failure) -> {
            if (failure != null) {
                lost.completeExceptionally(EtcdErrors.unwrap(failure));
            } else {
                lost.complete(null);
            }
        }, ForkJoinPool.commonPool());
    }

    /**
     * The lock on {@code name} through this session. The name is a key prefix, as in Go's
     * {@code concurrency.NewMutex}: waiter keys are {@code name + "/" + lease id in hex}, so Java and Go (or
     * {@code etcdctl lock}) holders of the same name exclude each other.
     *
     * @throws IllegalArgumentException when the name is empty or contains a NUL character
     * @throws ClientClosedException when the session is closed
     */
    public Mutex mutex(String name) {
        checkOpen();
        return new Mutex(this, locks, name);
    }

    /**
     * The counting semaphore on {@code name} with {@code permits} permits, through this session. Every client of the
     * name must give the same count: it is stored in etcd with the holders and waiters, and a different one fails
     * their acquisitions with {@link IllegalStateException} (see {@link Semaphore}).
     *
     * @throws IllegalArgumentException when the name is empty or contains a NUL character, or permits is below 1
     * @throws ClientClosedException when the session is closed
     */
    public Semaphore semaphore(String name, int permits) {
        checkOpen();
        return new Semaphore(this, locks, name, permits);
    }

    /**
     * The read-write lock on {@code name} through this session: its waiter keys are {@code name/read/<lease id in
     * hex>} and {@code name/write/<lease id in hex>} (see {@link ReadWriteLock}).
     *
     * @throws IllegalArgumentException when the name is empty or contains a NUL character
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
     *
     * @throws IllegalArgumentException when the name is empty, contains a NUL character or is too long
     * @throws ClientClosedException when the session is closed
     */
    public Election election(String name) {
        checkOpen();
        return new Election(this, locks, engine, name);
    }

    /** The etcd lease id of this session. */
    public long leaseId() {
        return lease.id();
    }

    /**
     * How much longer the lease is certainly valid, counted on the monotonic clock from the send time of the last
     * answered keep-alive; {@link Duration#ZERO} once it may have expired or the session is closed. No I/O.
     */
    public Duration remainingValidity() {
        long left = lease.validUntilNanos() - System.nanoTime();
        return isValid() && left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
    }

    /** The TTL etcd granted (etcd raises TTLs below its minimum, 2 s with default settings). */
    public Duration ttl() {
        return Duration.ofSeconds(lease.ttlSeconds());
    }

    /** True while the lease is certainly alive: kept alive, and its last confirmed validity not yet run out. No I/O. */
    public boolean isValid() {
        return !closed.get() && lease.isValid();
    }

    /**
     * Completes normally when the session is closed, exceptionally with {@link LeaseLostException} when its lease
     * is lost. Completes on the common {@link ForkJoinPool}, so dependent actions may block.
     */
    public CompletableFuture<Void> lost() {
        return lost;
    }

    /**
     * Revokes the lease, which deletes every lock key of this session in etcd: held locks are released and waits
     * end. Idempotent. When etcd is unreachable, the lease expires after its TTL instead.
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
