package dev.etcdlock.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A future the application reads and chains on but cannot complete: the one {@code Session.lost()}, {@code
 * LockHandle.lost()} and {@code Leadership.lost()} hand to every caller. One shared instance rather than a copy per
 * call, so that polling {@code lost().isDone()} on a long-lived session costs nothing; only etcd-lock ends it ({@link
 * #settle}, {@link #fail}). Stages chained on it are plain {@link CompletableFuture}s, the caller's own to complete or
 * time out.
 */
public final class ReadOnlyFuture<T> extends CompletableFuture<T> {
    private final String owner;

    /** @param owner what this future tells of, for the message refusing a caller's completion */
    public ReadOnlyFuture(String owner) {
        this.owner = owner;
    }

    public void settle(T value) {
        super.complete(value);
    }

    public void fail(Throwable failure) {
        super.completeExceptionally(failure);
    }

    /**
     * Ends it on the common pool, where the application's dependent stages may block, and waits until it is done
     * ({@link #awaitDone}), so that the caller's {@code close()}/{@code unlock()}/{@code resign()} returns with it
     * done.
     *
     * @param failure null to complete it normally
     */
    public void endOnPoolAndAwait(Throwable failure) {
        ForkJoinPool.commonPool().execute(() -> {
            if (failure == null) {
                settle(null);
            } else {
                fail(failure);
            }
        });
        awaitDone();
    }

    /**
     * Waits until it is done, however, but not for the application's stages on it, and gives up after a second: a
     * stage that waits for the calling thread, or a pool kept busy by blocked stages, must not hang the caller. Not
     * {@code get()}: a thread woken in {@code get()} helps run the pending stages. The latch's action is pushed last,
     * so it runs first, before any stage.
     */
    public void awaitDone() {
        CountDownLatch done = new CountDownLatch(1);
        whenComplete((v, failure) -> done.countDown());
        try {
            done.await(1, TimeUnit.SECONDS); // false: the pool is busy, and it completes there later
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public boolean complete(T value) {
        throw refused("complete");
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public boolean completeExceptionally(Throwable failure) {
        throw refused("completeExceptionally");
    }

    /** Does nothing and returns false (as for a future that cannot be cancelled): chain a stage and cancel that. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return false;
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public void obtrudeValue(T value) {
        throw refused("obtrudeValue");
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public void obtrudeException(Throwable failure) {
        throw refused("obtrudeException");
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public CompletableFuture<T> completeAsync(Supplier<? extends T> supplier, Executor executor) {
        throw refused("completeAsync");
    }

    /** Refused: this future belongs to every caller of {@code lost()}. */
    @Override
    public CompletableFuture<T> completeAsync(Supplier<? extends T> supplier) {
        throw refused("completeAsync");
    }

    /** Refused: it would end the future for every caller; time out a copy instead ({@code lost().copy()}). */
    @Override
    public CompletableFuture<T> orTimeout(long timeout, TimeUnit unit) {
        throw refused("orTimeout");
    }

    /** Refused: it would end the future for every caller; time out a copy instead ({@code lost().copy()}). */
    @Override
    public CompletableFuture<T> completeOnTimeout(T value, long timeout, TimeUnit unit) {
        throw refused("completeOnTimeout");
    }

    private UnsupportedOperationException refused(String call) {
        return new UnsupportedOperationException(call + "() on " + owner + ".lost(): that future is shared by every"
                + " caller and only etcd-lock ends it; to complete or time out your own, take lost().copy() or"
                + " chain a stage on it");
    }
}
