package dev.etcdlock.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledFuture;
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

    /** Before, an Error left the tasks queued behind it until another execute() came, perhaps never. */
    @Test
    void aTaskThatThrowsAnErrorDoesNotHoldUpTheTasksBehindIt() {
        SerialContext context = new SerialContext();
        List<String> order = new ArrayList<>();
        context.execute(() -> {
            context.execute(() -> {
                throw new AssertionError("a task's bug");
            });
            context.execute(() -> order.add("after the error"));
            order.add("first");
        });
        assertEquals(List.of("first", "after the error"), order);
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
    void delayedTasksRunInTheContext() throws Exception {
        SerialContext context = new SerialContext();
        CompletableFuture<Boolean> ran = new CompletableFuture<>();
        context.schedule(() -> ran.complete(context.inContext()), 20, TimeUnit.MILLISECONDS);
        assertTrue(ran.get(5, TimeUnit.SECONDS));
    }

    /** The delays come from the scheduler given: on a fake clock they run when time reaches them, in due order. */
    @Test
    void delayedTasksOnAFakeClockRunWhenItsTimeComesInDueOrder() {
        FakeClock clock = new FakeClock();
        SerialContext context = clock.newContext();
        List<String> ran = new ArrayList<>();
        context.schedule(() -> ran.add("30 ms, in context: " + context.inContext()), 30, TimeUnit.MILLISECONDS);
        ScheduledFuture<?> ten = context.schedule(() -> ran.add("10 ms"), 10, TimeUnit.MILLISECONDS);
        ScheduledFuture<?> dropped = context.schedule(() -> ran.add("cancelled"), 20, TimeUnit.MILLISECONDS);
        context.schedule(() -> {
            ran.add("20 ms");
            context.schedule(() -> ran.add("20 + 5 ms, set by a task"), 5, TimeUnit.MILLISECONDS);
        }, 20, TimeUnit.MILLISECONDS);
        assertEquals(10, ten.getDelay(TimeUnit.MILLISECONDS));

        clock.forward(Duration.ofMillis(9));
        assertEquals(List.of(), ran, "not due yet");
        assertEquals(1, ten.getDelay(TimeUnit.MILLISECONDS));
        clock.forward(Duration.ofMillis(1));
        assertEquals(List.of("10 ms"), ran);
        assertTrue(ten.isDone());
        assertTrue(dropped.cancel(false));
        clock.forward(Duration.ofMillis(100));
        assertEquals(List.of("10 ms", "20 ms", "20 + 5 ms, set by a task", "30 ms, in context: true"), ran);
        assertEquals(0, clock.pendingTasks());
    }

    @Test
    void shutdownRunsTheTasksPendingOnAFakeClockAtOnce() {
        FakeClock clock = new FakeClock();
        SerialContext context = clock.newContext();
        List<String> ran = new ArrayList<>();
        context.schedule(() -> ran.add("in an hour"), 1, TimeUnit.HOURS);
        context.shutdown();
        assertEquals(List.of("in an hour"), ran, "ran without the clock moving");
        clock.forward(Duration.ofHours(2));
        assertEquals(List.of("in an hour"), ran, "and only once");
    }

    /**
     * Nothing submitted is ever dropped: a continuation after shutdown still runs (and sees its engine closed), and
     * a delayed task pending at shutdown, or scheduled after it, runs at once rather than after its delay.
     */
    @Test
    void afterShutdownEveryTaskStillRunsAndDelayedOnesRunAtOnce() throws Exception {
        SerialContext context = new SerialContext();
        CompletableFuture<String> pending = new CompletableFuture<>();
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        context.schedule(() -> pending.complete("fired"), 1, TimeUnit.HOURS);
        context.schedule(() -> cancelled.complete("fired"), 1, TimeUnit.HOURS).cancel(false);
        context.shutdown();
        assertEquals("fired", pending.getNow("still waiting for its hour"), "ran at shutdown");
        assertFalse(cancelled.isDone(), "a cancelled task stays cancelled");
        List<String> ran = new ArrayList<>();
        context.execute(() -> ran.add("executed"));
        context.schedule(() -> ran.add("scheduled"), 1, TimeUnit.HOURS);
        assertEquals(List.of("executed", "scheduled"), ran);
        assertTrue(context.isShutdown());
    }

    /** A continuation chained with whenCompleteAsync after shutdown runs: before, it was swallowed and join() hung. */
    @Test
    void anAsyncContinuationAfterShutdownRuns() throws Exception {
        SerialContext context = new SerialContext();
        CompletableFuture<Void> answer = new CompletableFuture<>();
        CompletableFuture<String> seen = answer.handleAsync((v, t) -> t == null ? "answer" : "failure", context);
        context.shutdown();
        answer.complete(null);
        assertEquals("answer", seen.get(5, TimeUnit.SECONDS));
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
