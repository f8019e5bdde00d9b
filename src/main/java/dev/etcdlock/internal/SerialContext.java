package dev.etcdlock.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a client's tasks one at a time, in submission order, on whichever thread submits them when no other task is
 * running (like grpc-java's {@code SynchronizationContext}): the lease and watch engines keep their state here without
 * locks, and an answer from etcd is handled on the Netty thread that read it, without a hand-off to another thread.
 * Delayed tasks come from one timer thread shared by every client in the JVM.
 *
 * <p>Tasks must not block: they may run on a Netty event loop.
 */
public final class SerialContext implements Executor {
    private static final System.Logger LOG = System.getLogger(SerialContext.class.getName());
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Thread> drainer = new AtomicReference<>();
    private volatile boolean shutdown;

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
     * Runs {@code task} after the tasks before it, here and now if none is running.
     *
     * @throws RejectedExecutionException after {@link #shutdown()}
     */
    @Override
    public void execute(Runnable task) {
        if (shutdown) {
            throw new RejectedExecutionException("the etcd-lock client is closed");
        }
        tasks.add(task);
        drain();
    }

    /** Runs {@code task} in this context after {@code delay}; cancel the returned future to drop it. */
    public ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        if (shutdown) {
            throw new RejectedExecutionException("the etcd-lock client is closed");
        }
        return TIMER.schedule(() -> {
            try {
                execute(task);
            } catch (RejectedExecutionException closed) {
                // the client closed meanwhile
            }
        }, delay, unit);
    }

    /** True when the calling thread is running a task of this context. */
    public boolean inContext() {
        return drainer.get() == Thread.currentThread();
    }

    /** Refuses new tasks; tasks already submitted still run. */
    public void shutdown() {
        shutdown = true;
    }

    public boolean isShutdown() {
        return shutdown;
    }

    private void drain() {
        Thread me = Thread.currentThread();
        while (!tasks.isEmpty() && drainer.compareAndSet(null, me)) {
            try {
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.ERROR, "etcd-lock task failed", e);
                    }
                }
            } finally {
                drainer.set(null);
            }
        }
    }
}
