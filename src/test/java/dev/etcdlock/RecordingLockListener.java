package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Keeps every call it gets, in order, with the thread it came on; tests wait for calls to arrive. */
class RecordingLockListener implements LockListener {
    record Call(String method, Kind kind, String name, long fencingToken, Duration duration, Throwable why,
            String thread) {
        /** Method, kind, name and token: what ordering tests compare. */
        String brief() {
            return method + " " + kind + " " + name + (fencingToken >= 0 ? " " + fencingToken : "");
        }
    }

    private final List<Call> calls = new ArrayList<>();

    @Override
    public void acquired(Kind kind, String name, long fencingToken, Duration waited) {
        add(new Call("acquired", kind, name, fencingToken, waited, null, Thread.currentThread().getName()));
    }

    @Override
    public void notAcquired(Kind kind, String name, Duration waited, Throwable why) {
        add(new Call("notAcquired", kind, name, -1, waited, why, Thread.currentThread().getName()));
    }

    @Override
    public void released(Kind kind, String name, long fencingToken, Duration held) {
        add(new Call("released", kind, name, fencingToken, held, null, Thread.currentThread().getName()));
    }

    @Override
    public void lost(Kind kind, String name, long fencingToken, Duration held, EtcdLockException why) {
        add(new Call("lost", kind, name, fencingToken, held, why, Thread.currentThread().getName()));
    }

    private void add(Call call) {
        synchronized (calls) {
            calls.add(call);
            calls.notifyAll();
        }
    }

    List<Call> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    /** The calls about {@code name}. */
    List<Call> about(String name) {
        return calls().stream().filter(c -> c.name().equals(name)).toList();
    }

    /** Waits until {@code count} calls about {@code name} came; returns them. */
    List<Call> await(String name, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        synchronized (calls) {
            while (about(name).size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + count + " listener calls about " + name + ", got " + about(name));
                }
                calls.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            return about(name);
        }
    }
}
