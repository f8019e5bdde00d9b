package dev.etcdlock.internal.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ListenerQueueTest {

    @Test
    void aBlockedCallHoldsUpOnlyItsQueueWhoseBacklogIsCappedAndThenDeliveredInOrder() throws Exception {
        ListenerQueue queue = new ListenerQueue("test client");
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> seen = new ArrayList<>(); // written by one call at a time
        CountDownLatch all = new CountDownLatch(ListenerQueue.CAPACITY);

        queue.execute(() -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(running.await(5, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        for (int i = 0; i < ListenerQueue.CAPACITY + 5; i++) {
            int n = i;
            queue.execute(() -> {
                seen.add(n);
                all.countDown();
            });
        }
        long submitMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(submitMs < 2_000, "queueing must not wait for the blocked call: took " + submitMs + " ms");
        assertEquals(5, queue.dropped(), "past the capacity calls are dropped");
        CountDownLatch lossHeard = new CountDownLatch(1);
        queue.executeAlways(() -> {
            seen.add(-1);
            lossHeard.countDown();
        });
        assertEquals(5, queue.dropped(), "a loss is never dropped, however far behind the listener is");

        ListenerQueue other = new ListenerQueue("another client");
        CountDownLatch otherRan = new CountDownLatch(1);
        other.execute(otherRan::countDown);
        assertTrue(otherRan.await(5, TimeUnit.SECONDS), "another queue runs while this one is blocked");

        release.countDown();
        assertTrue(all.await(10, TimeUnit.SECONDS));
        // the latch's countDown/await make the pool threads' writes visible here
        assertTrue(lossHeard.await(10, TimeUnit.SECONDS));
        for (int i = 0; i < ListenerQueue.CAPACITY; i++) {
            assertEquals(i, seen.get(i), "in submission order");
        }
        assertEquals(-1, seen.get(ListenerQueue.CAPACITY), "the loss after them");
    }

    @Test
    void aThrowingCallDoesNotStopTheNextOnes() throws Exception {
        ListenerQueue queue = new ListenerQueue("test client");
        CountDownLatch after = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) {
            queue.execute(() -> {
                throw new IllegalStateException("listener bug");
            });
            queue.execute(after::countDown);
        }
        assertTrue(after.await(5, TimeUnit.SECONDS));
    }

    /** A StackOverflowError is rethrown to the pool thread; the queue must still run the calls after it. */
    @Test
    void aStackOverflowInOneCallDoesNotStopTheNextOnes() throws Exception {
        ListenerQueue queue = new ListenerQueue("test client");
        queue.execute(() -> {
            throw new StackOverflowError("deep listener");
        });
        CountDownLatch next = new CountDownLatch(1);
        queue.execute(next::countDown);
        assertTrue(next.await(5, TimeUnit.SECONDS), "the call after a StackOverflowError never ran");
    }
}
