package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.LockAttempt;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
    private final Session session;
    private final SessionLocks locks;
    private final String name;
    private final ByteString prefix;

    Mutex(Session session, SessionLocks locks, String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("lock name must not be empty; use a key prefix like /my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("lock name must not contain NUL characters: " + name.replace('\0', '?'));
        }
        this.session = session;
        this.locks = locks;
        this.name = name;
        this.prefix = ByteString.copyFromUtf8(name + "/");
    }

    public String name() {
        return name;
    }

    /** Waits as long as it takes. Interruption does not end the wait; the interrupt flag is kept. */
    public LockHandle lock() {
        boolean interrupted = false;
        LockAttempt attempt = start();
        try {
            while (true) {
                try {
                    return handle(attempt.result().get());
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    throw failure(e.getCause());
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
     * @throws IllegalArgumentException when the timeout is negative
     */
    public LockHandle lock(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        LockAttempt attempt = start();
        try {
            return handle(attempt.result().get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return abort(attempt, () -> new LockTimeoutException("lock " + name + " not acquired within "
                    + timeout.toMillis() + " ms; nothing was left in etcd"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return abort(attempt, () -> new EtcdLockException("interrupted while waiting for lock " + name
                    + "; nothing was left in etcd"));
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    /** Waits until acquired or interrupted; on interruption the waiter key is removed before returning. */
    public LockHandle lockInterruptibly() throws InterruptedException {
        LockAttempt attempt = start();
        try {
            return handle(attempt.result().get());
        } catch (InterruptedException e) {
            boolean undone = attempt.abort().join();
            if (!undone) {
                handle(attempt.result().join()).close(); // acquired in the meantime: give it back
            }
            throw e;
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    /**
     * Takes the lock only if nobody holds or waits for it; never waits (one round trip, nothing left behind when
     * the answer is no).
     */
    public Optional<LockHandle> tryLock() {
        session.checkOpen();
        try {
            LockQueue.Held held = locks.tryLock(prefix).join();
            return held == null ? Optional.empty() : Optional.of(handle(held));
        } catch (RuntimeException e) {
            throw failure(EtcdErrors.unwrap(e));
        }
    }

    /**
     * Waits without blocking a thread. Cancelling the future gives up the wait and removes the waiter key. The
     * future completes on the client's engine thread: use the {@code *Async} variants for blocking work after it.
     */
    public CompletableFuture<LockHandle> lockAsync() {
        LockAttempt attempt = start();
        CompletableFuture<LockHandle> out = new CompletableFuture<>();
        attempt.result().whenComplete((held, t) -> {
            if (t != null) {
                out.completeExceptionally(t instanceof CancellationException ? t : failure(t));
            } else if (!out.complete(handle(held))) {
                handle(held).close(); // the caller cancelled while it was being acquired
            }
        });
        out.whenComplete((h, t) -> {
            if (out.isCancelled()) {
                attempt.abort();
            }
        });
        return out;
    }

    private LockAttempt start() {
        session.checkOpen();
        return locks.lock(prefix);
    }

    private LockHandle handle(LockQueue.Held held) {
        return new LockHandle(this, locks, held);
    }

    private LockHandle abort(LockAttempt attempt, java.util.function.Supplier<RuntimeException> error) {
        if (attempt.abort().join()) {
            throw error.get();
        }
        return handle(attempt.result().join()); // acquired just as the wait ended: keep it
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
}
