package dev.etcdlock;

import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;

/**
 * A distributed mutex on a name, through a {@link Session}: at most one holder at a time across every process and
 * thread, in the order the waiters arrived (by etcd create revision).
 *
 * <pre>{@code
 * Mutex mutex = session.mutex("/my-app/locks/config");
 * try (LockHandle lock = mutex.lock(Duration.ofSeconds(10))) {
 *     write(config, lock.fencingToken());
 * }
 * }</pre>
 *
 * <p>Its methods are those of {@link DistributedLock}, which says how each ends on timeout, interruption, lease loss
 * and etcd failure (see also <a href="package-summary.html#waits">how a wait ends</a>). The waiter key is
 * {@code name/<lease id in hex>}, as Go's {@code concurrency.Mutex} and {@code etcdctl lock} write it, with a value
 * of its own per attempt; {@link #tryLock()} is one round trip. Thread-safe, and cheap: make one per use or keep it.
 */
public final class Mutex implements DistributedLock {
    /** Longest lock name accepted, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 64 * 1024;

    private final Session session;
    private final Acquirer acquirer;

    Mutex(Session session, SessionLocks locks, String name) {
        this.session = session;
        this.acquirer = new Acquirer(session, locks, name, LockListener.Kind.MUTEX, "lock",
                "use tryLock() to take the lock only if it is free", QueuePolicy.mutex(Acquirer.prefixOf(name)));
    }

    @Override
    public String name() {
        return acquirer.name();
    }

    /**
     * {@inheritDoc}
     *
     * @return {@inheritDoc}
     * @throws LeaseLostException {@inheritDoc}
     * @throws EtcdUnavailableException {@inheritDoc}
     * @throws EtcdRequestException {@inheritDoc}
     * @throws ClientClosedException {@inheritDoc}
     * @throws IllegalStateException {@inheritDoc}
     */
    @Override
    public LockHandle lock() {
        return acquirer.lock();
    }

    /**
     * {@inheritDoc}
     *
     * @param timeout {@inheritDoc}
     * @return {@inheritDoc}
     * @throws LockTimeoutException {@inheritDoc}
     * @throws LockInterruptedException {@inheritDoc}
     * @throws IllegalArgumentException {@inheritDoc}
     * @throws NullPointerException {@inheritDoc}
     * @throws LeaseLostException {@inheritDoc}
     * @throws EtcdUnavailableException {@inheritDoc}
     * @throws EtcdRequestException {@inheritDoc}
     * @throws ClientClosedException {@inheritDoc}
     * @throws IllegalStateException {@inheritDoc}
     */
    @Override
    public LockHandle lock(Duration timeout) {
        return acquirer.lock(timeout);
    }

    /**
     * {@inheritDoc}
     *
     * @return {@inheritDoc}
     * @throws InterruptedException {@inheritDoc}
     * @throws LeaseLostException {@inheritDoc}
     * @throws EtcdUnavailableException {@inheritDoc}
     * @throws EtcdRequestException {@inheritDoc}
     * @throws ClientClosedException {@inheritDoc}
     * @throws IllegalStateException {@inheritDoc}
     */
    @Override
    public LockHandle lockInterruptibly() throws InterruptedException {
        return acquirer.lockInterruptibly();
    }

    @Override
    public Lock asLock() {
        return acquirer.asLock();
    }

    /**
     * {@inheritDoc}
     *
     * @return {@inheritDoc}
     * @throws LeaseLostException {@inheritDoc}
     * @throws EtcdUnavailableException {@inheritDoc}
     * @throws EtcdRequestException {@inheritDoc}
     * @throws ClientClosedException {@inheritDoc}
     * @throws IllegalStateException {@inheritDoc}
     */
    @Override
    public Optional<LockHandle> tryLock() {
        return acquirer.tryLock();
    }

    /**
     * {@inheritDoc}
     *
     * @return {@inheritDoc}
     * @throws ClientClosedException {@inheritDoc}
     * @throws IllegalStateException {@inheritDoc}
     */
    @Override
    public CompletableFuture<LockHandle> lockAsync() {
        return acquirer.lockAsync();
    }

    @Override
    public String toString() {
        return "Mutex{" + name() + ", " + session + "}";
    }
}
