package dev.etcdlock.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A clock that moves only when a test says so (after grpc-java's {@code FakeClock}): as {@link Ticker} it tells the
 * fake time, as {@link Scheduler} it holds delayed tasks until {@link #forward(Duration)} reaches them, and then
 * runs them on the thread that moved time, in order of due time (ties in order of scheduling). Its time starts near
 * the end of the long range, so that code comparing {@code nanoTime} values without care for overflow fails here.
 */
public final class FakeClock implements Ticker, Scheduler {
    private final PriorityQueue<Task> queue = new PriorityQueue<>();
    private long now = Long.MAX_VALUE - TimeUnit.HOURS.toNanos(1);
    private long scheduled;

    /** A serial context whose delays come from this clock. */
    public SerialContext newContext() {
        return new SerialContext(this);
    }

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    @Override
    public synchronized ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        Task t = new Task(task, now + Math.max(0, unit.toNanos(delay)), scheduled++);
        queue.add(t);
        return t;
    }

    /**
     * Moves time forward by {@code by}, running every task that falls due on the way at its due time, tasks those
     * tasks schedule included. {@link Duration#ZERO} runs the tasks already due.
     */
    public void forward(Duration by) {
        if (by.isNegative()) {
            throw new IllegalArgumentException("time only moves forward: " + by);
        }
        long target;
        synchronized (this) {
            target = now + by.toNanos();
        }
        while (true) {
            Task due;
            synchronized (this) {
                due = queue.peek();
                if (due == null || due.dueNanos - target > 0) {
                    now = target;
                    return;
                }
                queue.poll();
                now = due.dueNanos;
            }
            due.run(); // outside the lock: the task may schedule more
        }
    }

    /** Tasks neither run nor cancelled yet. */
    public synchronized int pendingTasks() {
        return queue.size();
    }

    /** Delays from now of the pending tasks, soonest first: which timers the code under test has set. */
    public synchronized List<Duration> pendingDelays() {
        List<Task> tasks = new ArrayList<>(queue);
        tasks.sort(null);
        List<Duration> delays = new ArrayList<>(tasks.size());
        for (Task t : tasks) {
            delays.add(Duration.ofNanos(t.dueNanos - now));
        }
        return delays;
    }

    private final class Task extends CompletableFuture<Void> implements ScheduledFuture<Void>, Comparable<
            java.util.concurrent.Delayed> {
        private final Runnable task;
        private final long dueNanos;
        private final long sequence;

        Task(Runnable task, long dueNanos, long sequence) {
            this.task = task;
            this.dueNanos = dueNanos;
            this.sequence = sequence;
        }

        void run() {
            if (!isDone()) {
                task.run();
                complete(null);
            }
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            synchronized (FakeClock.this) {
                queue.remove(this);
            }
            return super.cancel(mayInterruptIfRunning);
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(java.util.concurrent.Delayed other) {
            if (other instanceof Task t) {
                int byTime = Long.signum(dueNanos - t.dueNanos); // the clock may wrap: compare differences
                return byTime != 0 ? byTime : Long.compare(sequence, t.sequence);
            }
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }
    }
}
