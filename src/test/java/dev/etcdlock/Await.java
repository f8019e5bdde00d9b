package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting in tests for something another process or thread does, where there is nothing to be told by. */
public final class Await {
    private Await() {
    }

    /** Checks {@code condition} every 20 ms; fails the test when it is not met within {@code timeout}. */
    public static void until(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        until(condition, timeout, () -> "condition not met within " + timeout);
    }

    /** The same, failing with {@code failure}'s message. */
    public static void until(BooleanSupplier condition, Duration timeout, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, failure);
            Thread.sleep(20);
        }
    }
}
