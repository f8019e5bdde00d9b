package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.LockAttempt;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;

/**
 * A distributed mutex on a name, through a {@link Session}: at most one holder at a time across every process and
 * thread, in the order the waiters arrived (by etcd create revision).
 *
 * <p>Every blocking method ends the same ways: with a {@link LockHandle}; with {@link LockTimeoutException} when its
 * timeout passes; with {@link InterruptedException} ({@link #lockInterruptibly()}) when interrupted; with
 * {@link LeaseLostException} at once when the session's lease is lost; with {@link EtcdUnavailableException} when
 * etcd cannot be reached. In every case but success the waiter key is removed before the method returns.
 */
public final class Mutex {
    /** Longest lock name accepted, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 64 * 1024;

    private final Session session;
    private final SessionLocks locks;
    private final String name;
    private final QueuePolicy policy;

    Mutex(Session session, SessionLocks locks, String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("lock name must not be empty; use a key prefix like /my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("lock name must not contain NUL characters: " + name.replace('\0', '?'));
        }
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("lock name is " + bytes + " bytes; the limit is " + MAX_NAME_BYTES
                    + " (every lock request carries the name several times, and etcd refuses requests over 1.5 MiB"
                    + " by default): use a short key prefix like /my-app/locks/x");
        }
        this.session = session;
        this.locks = locks;
        this.name = name;
        this.policy = QueuePolicy.mutex(ByteString.copyFromUtf8(name + "/"));
    }

    public String name() {
        return name;
    }

    /** Waits as long as it takes. Interruption does not end the wait; the interrupt flag is kept. */
    public LockHandle lock() {
        LockAttempt attempt = start();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return await(attempt, -1);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (TimeoutException e) {
                    throw new AssertionError(e); // no timeout given
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits at most {@code timeout}.
     *
     * @throws LockTimeoutException when the time passes first; the waiter key is gone by then
     * @throws LockInterruptedException when the thread is interrupted; the waiter key is gone, the flag set again
     * @throws IllegalArgumentException when the timeout is not positive (to not wait at all, use {@link #tryLock()})
     */
    public LockHandle lock(Duration timeout) {
        long nanos = positive(timeout).toNanos();
        LockAttempt attempt = start();
        try {
            return await(attempt, nanos);
        } catch (TimeoutException e) {
            return giveUp(attempt, () -> new LockTimeoutException("lock " + name + " not acquired within "
                    + timeout.toMillis() + " ms; nothing was left in etcd"));
        } catch (InterruptedException e) {
            try {
                return giveUp(attempt, () -> new LockInterruptedException("interrupted while waiting for lock "
                        + name + "; nothing was left in etcd", e));
            } finally {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits until acquired or interrupted.
     *
     * @throws InterruptedException when interrupted while waiting; the waiter key is removed first (and a lock
     *     acquired at that very moment is released)
     */
    public LockHandle lockInterruptibly() throws InterruptedException {
        LockAttempt attempt = start();
        try {
            return await(attempt, -1);
        } catch (TimeoutException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            releaseIfAcquired(attempt);
            throw e;
        }
    }

    /**
     * Adapts this mutex to {@link Lock} for code written against that interface. Ownership stays with the lock,
     * not a thread: any thread may {@code unlock()} what another locked. {@link Lock#newCondition()} is not
     * supported. The held {@link LockHandle} (for its fencing token) is not exposed through this view.
     */
    public Lock asLock() {
        return new MutexLock();
    }

    /**
     * Takes the lock only if nobody holds or waits for it; never waits (one round trip, nothing left behind when
     * the answer is no).
     */
    public Optional<LockHandle> tryLock() {
        session.checkOpen();
        try {
            LockQueue.Held held = locks.tryLock(policy).join();
            return held == null ? Optional.empty() : Optional.of(handle(held));
        } catch (RuntimeException e) {
            throw failure(EtcdErrors.unwrap(e));
        }
    }

    /**
     * Waits without blocking a thread. Cancelling the future gives up the wait and removes the waiter key. The future
     * completes on the common {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads, so
     * dependent actions may block.
     */
    public CompletableFuture<LockHandle> lockAsync() {
        LockAttempt attempt = start();
        CompletableFuture<LockHandle> out = new CompletableFuture<>();
        attempt.result().whenCompleteAsync((held, t) -> {
            if (t != null) {
                out.completeExceptionally(t instanceof CancellationException ? t : failure(t));
            } else if (!out.complete(handle(held))) {
                handle(held).close(); // the caller cancelled while it was being acquired
            }
        }, ForkJoinPool.commonPool());
        out.whenComplete((h, t) -> {
            if (t != null) {
                attempt.abort(); // cancelled, timed out (orTimeout) or failed: leave nothing behind
            }
        });
        return out;
    }

    /** Waits for the attempt; {@code nanos < 0} means without limit. On an exception the attempt still runs. */
    private LockHandle await(LockAttempt attempt, long nanos) throws InterruptedException, TimeoutException {
        try {
            LockQueue.Held held = nanos < 0 ? attempt.result().get()
                    : attempt.result().get(nanos, TimeUnit.NANOSECONDS);
            return handle(held);
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    /** Aborts the attempt; throws the error when undone, returns the lock when it was acquired meanwhile. */
    private LockHandle giveUp(LockAttempt attempt, Supplier<RuntimeException> error) {
        if (attempt.abort().join()) {
            Throwable cause = attempt.result().handle((held, failure) -> failure).join();
            cause = EtcdErrors.unwrap(cause);
            // a failure that came first (lease lost, etcd down) says more than the timeout or interrupt
            throw cause instanceof CancellationException || cause == null ? error.get() : failure(cause);
        }
        return handle(attempt.result().join());
    }

    private void releaseIfAcquired(LockAttempt attempt) {
        if (!attempt.abort().join()) {
            handle(attempt.result().join()).close();
        }
    }

    private static Duration positive(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout
                    + "; use tryLock() to take the lock only if it is free");
        }
        return timeout;
    }

    private LockAttempt start() {
        session.checkOpen();
        return locks.lock(policy);
    }

    private LockHandle handle(LockQueue.Held held) {
        return new LockHandle(this, locks, held);
    }

    private RuntimeException failure(Throwable t) {
        Throwable cause = EtcdErrors.unwrap(t);
        if (cause instanceof EtcdLockException e) {
            return e;
        }
        return EtcdErrors.toException(cause, "lock " + name, true);
    }

    @Override
    public String toString() {
        return "Mutex{" + name + ", " + session + "}";
    }

    /** The {@link Lock} view: one handle at a time, as the mutex admits one holder per session anyway. */
    private final class MutexLock implements Lock {
        private final AtomicReference<LockHandle> held = new AtomicReference<>();

        @Override
        public void lock() {
            held.set(Mutex.this.lock());
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            held.set(Mutex.this.lockInterruptibly());
        }

        @Override
        public boolean tryLock() {
            Optional<LockHandle> handle = Mutex.this.tryLock();
            handle.ifPresent(held::set);
            return handle.isPresent();
        }

        @Override
        public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            if (time <= 0) {
                return tryLock(); // Lock's contract: no wait at all
            }
            LockAttempt attempt = start();
            try {
                held.set(await(attempt, Math.max(0, unit.toNanos(time))));
                return true;
            } catch (TimeoutException e) {
                if (attempt.abort().join()) {
                    return false;
                }
                held.set(handle(attempt.result().join()));
                return true;
            } catch (InterruptedException e) {
                releaseIfAcquired(attempt);
                throw e;
            }
        }

        /** @throws IllegalMonitorStateException when not locked through this view */
        @Override
        public void unlock() {
            LockHandle handle = held.getAndSet(null);
            if (handle == null) {
                throw new IllegalMonitorStateException("lock " + name + " is not held through this Lock view");
            }
            handle.unlock();
        }

        /** @throws UnsupportedOperationException always: etcd offers no condition variables */
        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("conditions are not supported by the distributed lock " + name
                    + "; watch a key for the condition instead");
        }

        @Override
        public String toString() {
            return "Lock view of " + Mutex.this;
        }
    }
}
