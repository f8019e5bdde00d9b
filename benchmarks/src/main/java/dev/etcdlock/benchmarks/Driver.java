package dev.etcdlock.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Worker threads that loop lock → unlock for the whole trial, for the benchmarks whose thread count is a parameter
 * (JMH's {@code @Threads} cannot be). Each completed acquisition releases one permit; the JMH benchmark method
 * takes one permit per call ({@link #awaitAcquisition()}), so JMH's throughput score is acquisitions per second,
 * counted inside JMH's own measurement window, and {@code -prof gc} normalises allocation by acquisitions.
 *
 * <p>Per iteration it also keeps each worker's acquisition count (fairness) and, when all workers share one lock
 * name, the handoff latency: from the {@code System.nanoTime()} taken by the holder just before it calls unlock to
 * the one taken by the next holder right after its lock call returned (both in this JVM, so one clock). It checks
 * mutual exclusion on the way: a worker that returns from lock while another worker is between its lock return and
 * its unlock call counts a violation (only meaningful for one shared name).
 */
final class Driver implements AutoCloseable {
    /** One worker's loop body: lock, then return the unlock action. */
    interface Locker {
        LockClient.Held lock();
    }

    private final List<Thread> threads = new ArrayList<>();
    private final Semaphore acquisitions = new Semaphore(0);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final boolean sharedName;
    private final AtomicLongArray counts;
    private final AtomicInteger holder = new AtomicInteger(-1);
    private final AtomicLong lastUnlockStart = new AtomicLong();
    private final AtomicLong violations = new AtomicLong();
    private final LongList handoffs = new LongList();
    private volatile boolean running = true;

    /**
     * Starts one thread per locker.
     *
     * @param sharedName true when all lockers lock the same name: handoff latency and exclusion are then tracked
     */
    Driver(String label, List<Locker> lockers, boolean sharedName) {
        this.sharedName = sharedName;
        this.counts = new AtomicLongArray(lockers.size());
        for (int i = 0; i < lockers.size(); i++) {
            int index = i;
            Locker locker = lockers.get(i);
            Thread t = new Thread(() -> loop(index, locker), label + "-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    private void loop(int index, Locker locker) {
        try {
            while (running) {
                LockClient.Held held = locker.lock();
                long acquiredAt = System.nanoTime();
                if (sharedName) {
                    if (!holder.compareAndSet(-1, index)) {
                        violations.incrementAndGet();
                    }
                    long unlockStart = lastUnlockStart.get();
                    if (unlockStart != 0) {
                        handoffs.add(acquiredAt - unlockStart);
                    }
                }
                counts.incrementAndGet(index);
                acquisitions.release();
                if (sharedName) {
                    holder.compareAndSet(index, -1);
                    lastUnlockStart.set(System.nanoTime());
                }
                held.unlock();
            }
        } catch (Throwable t) {
            if (running) {
                failure.compareAndSet(null, t);
                acquisitions.release(1_000_000); // wake the benchmark thread, which then reports the failure
            }
        }
    }

    /** Blocks until the next acquisition by any worker; the benchmark method's whole body. */
    void awaitAcquisition() throws InterruptedException {
        if (!acquisitions.tryAcquire(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no lock acquisition for 60 s");
        }
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("a lock worker failed: " + t, t);
        }
    }

    /** Starts a new iteration's statistics (acquisitions made between iterations are dropped). */
    void resetStats() {
        for (int i = 0; i < counts.length(); i++) {
            counts.set(i, 0);
        }
        handoffs.clear();
        acquisitions.drainPermits();
    }

    /** Reports the iteration's fairness, handoff latency and exclusion violations to {@link Metrics}. */
    void reportStats() {
        long[] perWorker = new long[counts.length()];
        long total = 0;
        for (int i = 0; i < perWorker.length; i++) {
            perWorker[i] = counts.get(i);
            total += perWorker[i];
        }
        if (total == 0) {
            return;
        }
        double mean = (double) total / perWorker.length;
        long min = Arrays.stream(perWorker).min().orElse(0);
        long max = Arrays.stream(perWorker).max().orElse(0);
        Metrics.avg("fairness.minOverMean", min / mean, "ratio");
        Metrics.min("fairness.worstMinOverMean", min / mean, "ratio");
        Metrics.avg("fairness.maxOverMean", max / mean, "ratio");
        if (sharedName) {
            long[] sorted = handoffs.sortedCopy();
            if (sorted.length > 0) {
                Metrics.avg("handoff.p50", percentile(sorted, 0.50) / 1e3, "us");
                Metrics.avg("handoff.p99", percentile(sorted, 0.99) / 1e3, "us");
                Metrics.max("handoff.max", sorted[sorted.length - 1] / 1e3, "us");
                Metrics.avg("handoff.samples", sorted.length, "#");
            }
            Metrics.max("exclusion.violations", violations.get(), "#");
        }
    }

    static double percentile(long[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** Stops the workers after their current cycle; each releases what it holds first. */
    @Override
    public void close() {
        running = false;
        for (Thread t : threads) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive()) {
                System.err.println("lock worker " + t.getName() + " did not stop within 30 s");
            }
        }
    }

    /** A growable list of longs; synchronized, as only the lock holder of the moment adds to it. */
    static final class LongList {
        private long[] values = new long[4096];
        private int size;

        synchronized void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        synchronized void clear() {
            size = 0;
        }

        synchronized long[] sortedCopy() {
            long[] copy = Arrays.copyOf(values, size);
            Arrays.sort(copy);
            return copy;
        }
    }
}
