package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.lock.LockAttempt;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.nio.charset.StandardCharsets;
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
import java.util.function.Function;

/**
 * The ways to take a place in a queue (blocking, with a deadline, interruptible, without waiting, asynchronously),
 * written once over the engine's asynchronous attempt, for every recipe: the mutex, both sides of the read-write
 * lock (which are this class, behind {@link DistributedLock}) and the semaphore.
 */
final class Acquirer implements DistributedLock {
    private final Session session;
    private final SessionLocks locks;
    private final String name;
    /** What is acquired, before the name in messages: "lock", "read lock", "permit of semaphore". */
    private final String kind;
    /** The call that does not wait, for the message refusing a non-positive timeout. */
    private final String noWaitHint;
    private final QueuePolicy policy;
    /** What the events say this is. */
    private final LockLabel label;

    Acquirer(Session session, SessionLocks locks, String name, LockListener.Kind recipe, String kind,
            String noWaitHint, QueuePolicy policy) {
        this.session = session;
        this.locks = locks;
        this.name = name;
        this.kind = kind;
        this.noWaitHint = noWaitHint;
        this.policy = policy;
        this.label = new LockLabel(recipe, name);
    }

    /**
     * The queue prefix of a recipe's name ({@code name + "/"}), after checking the name.
     *
     * @throws IllegalArgumentException when the name is empty, contains NUL or is over {@link Mutex#MAX_NAME_BYTES}
     */
    static ByteString prefixOf(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("lock name must not be empty; use a key prefix like /my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("lock name must not contain NUL characters: " + name.replace('\0', '?'));
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Mutex.MAX_NAME_BYTES) {
            throw new IllegalArgumentException("lock name is " + bytes + " bytes; the limit is " + Mutex.MAX_NAME_BYTES
                    + " (every lock request carries the name several times, and etcd refuses requests over 1.5 MiB"
                    + " by default): use a short key prefix like /my-app/locks/x");
        }
        return ByteString.copyFromUtf8(name + "/");
    }

    @Override
    public String name() {
        return name;
    }

    private String what() {
        return kind + " " + name;
    }

    @Override
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

    @Override
    public LockHandle lock(Duration timeout) {
        long nanos = positive(timeout).toNanos();
        LockAttempt attempt = start();
        try {
            return await(attempt, nanos);
        } catch (TimeoutException e) {
            return giveUp(attempt, keyFate -> new LockTimeoutException(what() + " not acquired within "
                    + timeout.toMillis() + " ms; " + keyFate));
        } catch (InterruptedException e) {
            try {
                return giveUp(attempt, keyFate -> new LockInterruptedException("interrupted while waiting for "
                        + what() + "; " + keyFate, e));
            } finally {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
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

    @Override
    public Optional<LockHandle> tryLock() {
        session.checkOpen();
        try {
            LockQueue.Held held = locks.tryLock(policy, label).join();
            return held == null ? Optional.empty() : Optional.of(handle(held));
        } catch (RuntimeException e) {
            throw failure(EtcdErrors.unwrap(e));
        }
    }

    @Override
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

    @Override
    public Lock asLock() {
        return new LockView();
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

    /**
     * Aborts the attempt; throws the error when undone, returns the lock when it was acquired meanwhile.
     * {@code error} is given what became of the waiter key, as far as the client knows.
     */
    private LockHandle giveUp(LockAttempt attempt, Function<String, RuntimeException> error) {
        if (attempt.abort().join()) {
            Throwable cause = attempt.result().handle((held, failure) -> failure).join();
            cause = EtcdErrors.unwrap(cause);
            // a failure that came first (lease lost, etcd down) says more than the timeout or interrupt
            if (cause instanceof CancellationException || cause == null) {
                throw error.apply(attempt.keyMayRemain() ? "etcd could not be reached to delete its waiter key, "
                        + "which may still be there: then it stays until the session is closed or its lease expires, "
                        + "and waiters behind it wait until then" : "nothing was left in etcd");
            }
            throw failure(cause);
        }
        return handle(attempt.result().join());
    }

    private void releaseIfAcquired(LockAttempt attempt) {
        if (!attempt.abort().join()) {
            handle(attempt.result().join()).close();
        }
    }

    private Duration positive(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout + "; " + noWaitHint);
        }
        return timeout;
    }

    private LockAttempt start() {
        session.checkOpen();
        return locks.lock(policy, label);
    }

    private LockHandle handle(LockQueue.Held held) {
        return new LockHandle(name, locks, held);
    }

    /** Our exceptions, and a mismatch between clients (IllegalStateException), as they are; etcd's translated. */
    private RuntimeException failure(Throwable t) {
        Throwable cause = EtcdErrors.unwrap(t);
        if (cause instanceof EtcdLockException e) {
            return e;
        }
        if (cause instanceof IllegalStateException e) {
            return e;
        }
        return EtcdErrors.toException(cause, what(), true);
    }

    @Override
    public String toString() {
        return what() + " through " + session;
    }

    /** The {@link Lock} view: one handle at a time, as a session takes one place per queue anyway. */
    private final class LockView implements Lock {
        private final AtomicReference<LockHandle> held = new AtomicReference<>();

        @Override
        public void lock() {
            held.set(Acquirer.this.lock());
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            held.set(Acquirer.this.lockInterruptibly());
        }

        @Override
        public boolean tryLock() {
            Optional<LockHandle> handle = Acquirer.this.tryLock();
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
                throw new IllegalMonitorStateException(what() + " is not held through this Lock view");
            }
            handle.unlock();
        }

        /** @throws UnsupportedOperationException always: etcd offers no condition variables */
        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("conditions are not supported by the distributed " + what()
                    + "; watch a key for the condition instead");
        }

        @Override
        public String toString() {
            return "Lock view of " + Acquirer.this;
        }
    }
}
