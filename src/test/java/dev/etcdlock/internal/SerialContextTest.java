package dev.etcdlock.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SerialContextTest {

    @Test
    void runsInlineWhenIdleAndQueuesTasksSubmittedFromATask() {
        SerialContext context = new SerialContext();
        List<String> order = new ArrayList<>();
        context.execute(() -> {
            order.add("a");
            assertTrue(context.inContext());
            context.execute(() -> order.add("c")); // queued, not run recursively
            order.add("b");
        });
        assertEquals(List.of("a", "b", "c"), order, "ran on the caller, in submission order");
        assertFalse(context.inContext());
    }

    @Test
    void neverRunsTwoTasksAtOnceAcrossThreads() throws Exception {
        SerialContext context = new SerialContext();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        int[] counter = {0}; // plain field: only safe if tasks never overlap
        int threads = 4;
        int perThread = 20_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    context.execute(() -> {
                        if (inside.incrementAndGet() != 1) {
                            overlaps.incrementAndGet();
                        }
                        counter[0]++;
                        inside.decrementAndGet();
                    });
                }
            });
            workers.add(w);
            w.start();
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        CompletableFuture<Integer> total = new CompletableFuture<>();
        context.execute(() -> total.complete(counter[0]));
        assertEquals(threads * perThread, total.get(5, TimeUnit.SECONDS));
        assertEquals(0, overlaps.get());
    }

    @Test
    void delayedTasksRunInTheContextAndShutdownRefusesNewOnes() throws Exception {
        SerialContext context = new SerialContext();
        CompletableFuture<Boolean> ran = new CompletableFuture<>();
        context.schedule(() -> ran.complete(context.inContext()), 20, TimeUnit.MILLISECONDS);
        assertTrue(ran.get(5, TimeUnit.SECONDS));
        context.shutdown();
        assertThrows(RejectedExecutionException.class, () -> context.execute(() -> { }));
        assertThrows(RejectedExecutionException.class, () -> context.schedule(() -> { }, 1, TimeUnit.MILLISECONDS));
    }

    @Test
    void aFailingTaskDoesNotStopTheOnesAfterIt() {
        SerialContext context = new SerialContext();
        List<String> order = new ArrayList<>();
        context.execute(() -> {
            context.execute(() -> {
                throw new IllegalStateException("expected in this test");
            });
            context.execute(() -> order.add("after"));
        });
        assertEquals(List.of("after"), order);
    }
}
