package dev.etcdlock.internal;

/**
 * A monotonic clock in nanoseconds. Lease validity and deadlines are computed on it, never on wall-clock time, which
 * can jump. Injectable so tests of timing logic need not sleep.
 */
@FunctionalInterface
public interface Ticker {
    long nanoTime();

    static Ticker system() {
        return System::nanoTime;
    }
}
