package dev.etcdlock.internal.watch;

import dev.etcdlock.internal.proto.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Records what a subscription receives, for assertions from the test thread. */
final class RecordingListener implements WatchListener {
    private final List<Event> events = new ArrayList<>();
    final CompletableFuture<Throwable> error = new CompletableFuture<>();

    @Override
    public synchronized void onEvents(List<Event> batch) {
        events.addAll(batch);
        notifyAll();
    }

    @Override
    public void onError(Throwable t) {
        error.complete(t);
    }

    synchronized List<Event> events() {
        return List.copyOf(events);
    }

    /** Waits until the recorded events satisfy {@code condition}; returns them. */
    synchronized List<Event> awaitEvents(Predicate<List<Event>> condition, long timeoutMs)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.test(events)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out; got " + events.size() + " events: " + summary(events));
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return List.copyOf(events);
    }

    List<Event> awaitCount(int count, long timeoutMs) throws InterruptedException {
        return awaitEvents(list -> list.size() >= count, timeoutMs);
    }

    static String summary(List<Event> events) {
        StringBuilder b = new StringBuilder();
        for (Event e : events.subList(0, Math.min(events.size(), 20))) {
            b.append(e.getType()).append(' ').append(e.getKv().getKey().toStringUtf8()).append('@')
                    .append(e.getKv().getModRevision()).append(", ");
        }
        return b.toString();
    }
}
