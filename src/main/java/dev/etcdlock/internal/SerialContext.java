package dev.etcdlock.internal;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a client's tasks one at a time, in submission order, on whichever thread submits them when no other task is
 * running (like grpc-java's {@code SynchronizationContext}): the lease and watch engines keep their state here without
 * locks, and an answer from etcd is handled on the Netty thread that read it, without a hand-off to another thread.
 * Delayed tasks come from a {@link Scheduler}: by default one timer thread shared by every client in the JVM.
 *
 * <p>Tasks must not block: they may run on a Netty event loop.
 */
public final class SerialContext implements Executor {
    private static final System.Logger LOG = System.getLogger(SerialContext.class.getName());
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final Scheduler scheduler;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Thread> drainer = new AtomicReference<>();
    /** Delayed tasks not run yet: {@link #shutdown()} runs them at once. */
    private final Set<Delayed> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean shutdown;

    /** Delays come from the timer thread shared by every client in the JVM. */
    public SerialContext() {
        this(TIMER::schedule);
    }

    /** Delays come from {@code scheduler}; a test's fake clock runs them when it is moved forward. */
    public SerialContext(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread t = new Thread(runnable, "etcd-lock-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    /**
     * Runs {@code task} after the tasks before it, here and now if none is running. Never rejects: after
     * {@link #shutdown()} tasks still run, so that a continuation (an answer, a failure, a retry) always sees the
     * client closed rather than being dropped with whoever waits for it.
     */
    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        drain();
    }

    /**
     * Runs {@code task} in this context after {@code delay}; cancel the returned future to drop it. After
     * {@link #shutdown()}, and for every delayed task still pending when it is called, the task runs at once instead:
     * a retry or a timeout must find the client closed now, not after its delay (or never). Tasks that repeat must
     * stop once their engine is closed.
     */
    public ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        Delayed delayed = new Delayed(task);
        if (shutdown) {
            delayed.fire();
            return delayed;
        }
        pending.add(delayed);
        delayed.timer = scheduler.schedule(delayed::fire, delay, unit);
        if (shutdown) { // shut down while it was being scheduled: shutdown() may have missed it
            delayed.fire();
        }
        return delayed;
    }

    /** True when the calling thread is running a task of this context. */
    public boolean inContext() {
        return drainer.get() == Thread.currentThread();
    }

    /** Marks the context closed and runs every pending delayed task now; later tasks still run. */
    public void shutdown() {
        shutdown = true;
        for (Delayed delayed : pending) {
            delayed.fire();
        }
    }

    public boolean isShutdown() {
        return shutdown;
    }

    /** A delayed task that runs once: when its timer fires, or at shutdown, whichever comes first; unless cancelled. */
    private final class Delayed extends CompletableFuture<Void> implements ScheduledFuture<Void> {
        private final Runnable task;
        private final AtomicBoolean claimed = new AtomicBoolean();
        private volatile ScheduledFuture<?> timer;

        Delayed(Runnable task) {
            this.task = task;
        }

        void fire() {
            pending.remove(this);
            if (claimed.compareAndSet(false, true)) {
                execute(() -> {
                    complete(null);
                    task.run();
                });
            }
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (!claimed.compareAndSet(false, true)) {
                return false;
            }
            pending.remove(this);
            ScheduledFuture<?> t = timer;
            if (t != null) {
                t.cancel(false);
            }
            return super.cancel(false);
        }

        @Override
        public long getDelay(TimeUnit unit) {
            ScheduledFuture<?> t = timer;
            return t == null || isDone() ? 0 : t.getDelay(unit);
        }

        @Override
        public int compareTo(java.util.concurrent.Delayed other) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }
    }

    private void drain() {
        Thread me = Thread.currentThread();
        while (!tasks.isEmpty() && drainer.compareAndSet(null, me)) {
            try {
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    try {
                        task.run();
                    } catch (Throwable e) {
                        // as grpc's SynchronizationContext: a task that throws, even an Error, must not leave the
                        // tasks behind it queued until some later execute() drains them
                        LOG.log(System.Logger.Level.ERROR, "etcd-lock task failed", e);
                    }
                }
            } finally {
                drainer.set(null);
            }
        }
    }
}
