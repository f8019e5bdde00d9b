package dev.etcdlock.internal.lock;

import dev.etcdlock.LockInterruptedException;
import dev.etcdlock.LockTimeoutException;

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
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The ways to wait for a place in a queue (without limit, with a deadline, until interrupted, asynchronously),
 * written once over the engine's {@link Waiter} for every recipe: the locks hand out {@code LockHandle}s, the
 * election {@code Leadership}s. Whatever ends a wait early aborts the attempt, so that no key stays queued in
 * etcd, and a place won at that very moment is either returned or released, never dropped.
 *
 * @param <H> what the caller gets for the place
 */
public final class Waits<H> {
    /**
     * The recipe's own words in messages, which users (and tests) already know.
     *
     * @param party who owns the queued key: "waiter", "candidate"
     * @param notWithin the timeout message up to the milliseconds: "lock a not acquired within "
     * @param interrupted the interrupt message up to the key's fate: "interrupted while waiting for lock a"
     * @param noWaitHint the call that does not wait, for refusing a timeout that is not positive
     * @param doing what failed, for etcd's errors: "lock a", "campaign in election a"
     */
    public record Words(String party, String notWithin, String interrupted, String noWaitHint, String doing) {
    }

    private final Supplier<Waiter> start;
    private final Function<LockQueue.Held, H> toHandle;
    private final Consumer<? super H> release;
    private final Words words;

    /**
     * @param start checks what the recipe needs (an open session, a value) and joins the queue
     * @param toHandle what the caller gets for the place; it must not block on etcd, as it runs when a wait ends
     * @param release gives up a place that nobody will get any more
     * @param words the recipe's words in messages
     */
    public Waits(Supplier<Waiter> start, Function<LockQueue.Held, H> toHandle, Consumer<? super H> release,
            Words words) {
        this.start = start;
        this.toHandle = toHandle;
        this.release = release;
        this.words = words;
    }

    /** Waits without limit; an interrupt does not end the wait and is set again before returning or throwing. */
    public H await() {
        Waiter attempt = start.get();
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

    /** Waits at most {@code timeout}; gives up on timeout and interrupt (flag set again) by aborting the attempt. */
    public H await(Duration timeout) {
        long nanos = positive(timeout).toNanos();
        Waiter attempt = start.get();
        try {
            return await(attempt, nanos);
        } catch (TimeoutException e) {
            return giveUp(attempt, (keyFate, mayRemain) -> new LockTimeoutException(words.notWithin()
                    + timeout.toMillis() + " ms; " + keyFate, mayRemain));
        } catch (InterruptedException e) {
            try {
                return giveUp(attempt, (keyFate, mayRemain) -> new LockInterruptedException(words.interrupted()
                        + "; " + keyFate, mayRemain, e));
            } finally {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until the place is taken or the thread interrupted; the flag is cleared, as usual with the exception. */
    public H awaitInterruptibly() throws InterruptedException {
        Waiter attempt = start.get();
        try {
            return await(attempt, -1);
        } catch (TimeoutException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            releaseIfTaken(attempt);
            throw e;
        }
    }

    /**
     * {@link java.util.concurrent.locks.Lock#tryLock(long, TimeUnit)}'s wait: empty when the time passed first,
     * as that contract reports a timeout by its result, not by an exception.
     */
    public Optional<H> awaitAtMost(long time, TimeUnit unit) throws InterruptedException {
        Waiter attempt = start.get();
        try {
            return Optional.of(await(attempt, unit.toNanos(time)));
        } catch (TimeoutException e) {
            return attempt.abort().join() ? Optional.empty() : Optional.of(toHandle.apply(attempt.result().join()));
        } catch (InterruptedException e) {
            releaseIfTaken(attempt);
            throw e;
        }
    }

    /**
     * Completes on the common pool, never on the I/O threads that complete the attempt, because callers' dependent
     * actions may block. Anything that completes the future first (cancel, {@code orTimeout}) aborts the attempt.
     */
    public CompletableFuture<H> awaitAsync() {
        Waiter attempt = start.get();
        CompletableFuture<H> out = new CompletableFuture<>();
        attempt.result().whenCompleteAsync((held, t) -> {
            if (t != null) {
                out.completeExceptionally(t instanceof CancellationException ? t : failure(t));
                return;
            }
            H handle = toHandle.apply(held);
            if (!out.complete(handle)) {
                release.accept(handle); // the caller gave up while the place was being taken
            }
        }, ForkJoinPool.commonPool());
        out.whenComplete((handle, t) -> {
            if (t != null) {
                attempt.abort(); // cancelled, timed out or failed: leave nothing behind
            }
        });
        return out;
    }

    /** Our exceptions, and a mismatch between recipes on one name (IllegalStateException), as they are. */
    public RuntimeException failure(Throwable t) {
        Throwable cause = EtcdErrors.unwrap(t);
        if (cause instanceof IllegalStateException e) {
            return e;
        }
        return EtcdErrors.toException(cause, words.doing(), true);
    }

    /** {@code nanos < 0} means without limit. On an exception the attempt still runs. */
    private H await(Waiter attempt, long nanos) throws InterruptedException, TimeoutException {
        try {
            LockQueue.Held held = nanos < 0 ? attempt.result().get()
                    : attempt.result().get(nanos, TimeUnit.NANOSECONDS);
            return toHandle.apply(held);
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    /**
     * Aborts the attempt; throws the error when undone, returns the place when it was taken meanwhile.
     * {@code error} is given what became of the queued key, as far as the client knows.
     */
    private H giveUp(Waiter attempt, BiFunction<String, Boolean, RuntimeException> error) {
        if (attempt.abort().join()) {
            Throwable cause = EtcdErrors.unwrap(attempt.result().handle((held, failure) -> failure).join());
            // a failure that came first (lease lost, etcd down) says more than the timeout or interrupt
            if (cause instanceof CancellationException || cause == null) {
                boolean mayRemain = attempt.keyMayRemain();
                throw error.apply(mayRemain ? "its " + words.party() + " key may remain until etcd answers its "
                        + "delete, which the session retries (or the lease ends)" : "nothing was left in etcd",
                        mayRemain);
            }
            throw failure(cause);
        }
        return toHandle.apply(attempt.result().join());
    }

    private void releaseIfTaken(Waiter attempt) {
        if (!attempt.abort().join()) {
            release.accept(toHandle.apply(attempt.result().join()));
        }
    }

    private Duration positive(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout + "; " + words.noWaitHint());
        }
        return timeout;
    }
}
