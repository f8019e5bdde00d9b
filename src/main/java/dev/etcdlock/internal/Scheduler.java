package dev.etcdlock.internal;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task once after a delay, on a thread of its own choosing; cancelling the returned future drops it. The
 * {@link SerialContext} takes its delays from one, so that tests of heartbeats, deadlines and keep-alives can move
 * time forward by hand instead of sleeping. {@code ScheduledExecutorService::schedule} is one.
 */
@FunctionalInterface
public interface Scheduler {
    ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit);
}
