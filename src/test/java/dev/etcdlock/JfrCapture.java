package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;

/**
 * A live JFR stream of etcd-lock's events (every one enabled, threshold 0), for tests that wait for an event to
 * happen. JFR is JVM-wide: tests pick their events by lease id, name or token, not by count.
 */
public final class JfrCapture implements AutoCloseable {
    public static final List<String> EVENTS = List.of("dev.etcdlock.LockAcquired", "dev.etcdlock.LockReleased",
            "dev.etcdlock.LockLost", "dev.etcdlock.LeaseLost", "dev.etcdlock.KeepAlive",
            "dev.etcdlock.WatchReconnect");

    private final RecordingStream stream = new RecordingStream();
    private final List<RecordedEvent> seen = new ArrayList<>();

    public JfrCapture() {
        for (String name : EVENTS) {
            stream.enable(name).withThreshold(Duration.ZERO);
        }
        stream.setReuse(false); // the events are kept after the callback
        stream.setOrdered(true);
        stream.onEvent(event -> {
            synchronized (seen) {
                seen.add(event);
                seen.notifyAll();
            }
        });
        stream.startAsync();
    }

    /** The events of {@code type} seen so far that match. */
    public List<RecordedEvent> events(String type, Predicate<RecordedEvent> match) {
        synchronized (seen) {
            return seen.stream().filter(e -> e.getEventType().getName().equals(type)).filter(match).toList();
        }
    }

    /** Waits (the stream flushes about once a second) until {@code count} matching events of {@code type} came. */
    public List<RecordedEvent> await(String type, int count, Predicate<RecordedEvent> match, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (seen) {
            while (true) {
                List<RecordedEvent> found = events(type, match);
                if (found.size() >= count) {
                    return found;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + count + " matching " + type + " event(s) within " + timeout + ", got "
                            + found + "; all events of that type: " + events(type, e -> true));
                }
                seen.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    @Override
    public void close() {
        stream.close();
    }
}
