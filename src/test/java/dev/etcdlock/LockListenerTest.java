package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What a {@link LockListener} hears, in which order, on which thread, and that it cannot slow the locks down. */
class LockListenerTest extends OneEtcdOneClient {

    @Test
    void everyRecipeIsReportedInOrderOnTheListenerThread() throws Exception {
        String mutex = "/listener/order/mutex";
        String rw = "/listener/order/rw";
        String sem = "/listener/order/sem";
        String election = "/listener/order/election";
        RecordingLockListener listener = new RecordingLockListener();
        List<String> expected = new ArrayList<>();
        try (EtcdLockClient c = clientWith(listener); Session s = c.newSession()) {
            for (int i = 0; i < 10; i++) {
                LockHandle h = s.mutex(mutex).lock(Duration.ofSeconds(5));
                h.unlock();
                expected.add("acquired MUTEX " + mutex + " " + h.fencingToken());
                expected.add("released MUTEX " + mutex + " " + h.fencingToken());
            }
            LockHandle tried = s.mutex(mutex).tryLock().orElseThrow();
            tried.close();
            expected.add("acquired MUTEX " + mutex + " " + tried.fencingToken());
            expected.add("released MUTEX " + mutex + " " + tried.fencingToken());
            LockHandle read = s.readWriteLock(rw).readLock().lock(Duration.ofSeconds(5));
            read.unlock();
            LockHandle write = s.readWriteLock(rw).writeLock().lockAsync().get(5, TimeUnit.SECONDS);
            write.unlock();
            LockHandle permit = s.semaphore(sem, 2).acquire(Duration.ofSeconds(5));
            permit.unlock();
            Leadership term = s.election(election).campaign("me", Duration.ofSeconds(5));
            term.resign();
            expected.addAll(List.of(
                    "acquired READ_LOCK " + rw + " " + read.fencingToken(),
                    "released READ_LOCK " + rw + " " + read.fencingToken(),
                    "acquired WRITE_LOCK " + rw + " " + write.fencingToken(),
                    "released WRITE_LOCK " + rw + " " + write.fencingToken(),
                    "acquired SEMAPHORE_PERMIT " + sem + " " + permit.fencingToken(),
                    "released SEMAPHORE_PERMIT " + sem + " " + permit.fencingToken(),
                    "acquired LEADERSHIP " + election + " " + term.fencingToken(),
                    "released LEADERSHIP " + election + " " + term.fencingToken()));

            Await.until(() -> listener.calls().size() >= expected.size(), Duration.ofSeconds(10),
                    () -> "expected " + expected + ", heard " + listener.calls());
            List<RecordingLockListener.Call> calls = listener.calls();
            assertEquals(expected, calls.stream().map(RecordingLockListener.Call::brief).toList());
            for (RecordingLockListener.Call call : calls) {
                assertEquals("etcd-lock-listener", call.thread(), call::toString);
                assertTrue(!call.duration().isNegative(), call::toString);
                if (call.method().equals("released")) {
                    assertTrue(call.duration().toNanos() > 0, call::toString);
                }
            }
        }
    }

    @Test
    void aWaitThatTimesOutIsReportedAsNotAcquired() throws Exception {
        String name = "/listener/timeout";
        RecordingLockListener listener = new RecordingLockListener();
        try (EtcdLockClient c = clientWith(listener); Session holder = client.newSession();
             Session waiter = c.newSession(); LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5))) {
            assertThrows(LockTimeoutException.class, () -> waiter.mutex(name).lock(Duration.ofMillis(300)));
            assertTrue(waiter.mutex(name).tryLock().isEmpty()); // a tryLock that finds it taken reports nothing

            RecordingLockListener.Call call = listener.await(name, 1).get(0);
            assertEquals("notAcquired", call.method());
            assertInstanceOf(CancellationException.class, call.why(), call::toString);
            assertTrue(call.duration().toMillis() >= 300, call::toString);
            Thread.sleep(200);
            assertEquals(1, listener.about(name).size(), listener.about(name)::toString);
        }
    }

    @Test
    void closingTheSessionWhileHoldingIsReportedAsLost() throws Exception {
        String name = "/listener/closed";
        RecordingLockListener listener = new RecordingLockListener();
        try (EtcdLockClient c = clientWith(listener)) {
            Session s = c.newSession();
            LockHandle h = s.mutex(name).lock(Duration.ofSeconds(5));
            s.close();
            List<RecordingLockListener.Call> calls = listener.await(name, 2);
            assertEquals("lost MUTEX " + name + " " + h.fencingToken(), calls.get(1).brief());
            assertInstanceOf(ClientClosedException.class, calls.get(1).why(), calls::toString);
        }
    }

    /**
     * A listener that never returns, on one client, and one that always throws, on another: neither slows down
     * lock cycles, and a third client's listener still hears everything (the listener pool is not starved).
     */
    @Test
    void aBlockedOrThrowingListenerDoesNotSlowLockingDown() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger blockedCalls = new AtomicInteger();
        LockListener blocking = new LockListener() {
            @Override
            public void acquired(Kind kind, String name, long fencingToken, Duration waited) {
                blockedCalls.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        AtomicInteger thrown = new AtomicInteger();
        LockListener throwing = new LockListener() {
            @Override
            public void acquired(Kind kind, String name, long fencingToken, Duration waited) {
                thrown.incrementAndGet();
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void released(Kind kind, String name, long fencingToken, Duration held) {
                thrown.incrementAndGet();
                throw new IllegalStateException("listener bug");
            }
        };
        RecordingLockListener healthy = new RecordingLockListener();
        int cycles = 100;
        try (EtcdLockClient blocked = clientWith(blocking); EtcdLockClient failing = clientWith(throwing);
             EtcdLockClient fine = clientWith(healthy);
             Session b = blocked.newSession(); Session f = failing.newSession(); Session h = fine.newSession()) {
            long t0 = System.nanoTime();
            for (int i = 0; i < cycles; i++) {
                b.mutex("/listener/blocked").lock(Duration.ofSeconds(5)).unlock();
                f.mutex("/listener/throwing").lock(Duration.ofSeconds(5)).unlock();
                h.mutex("/listener/healthy").lock(Duration.ofSeconds(5)).unlock();
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            // 300 cycles of two round trips each: about 1 ms each here; the bound leaves room for a loaded machine
            assertTrue(ms < 20_000, cycles * 3 + " lock cycles took " + ms + " ms");
            System.out.println(cycles * 3 + " lock cycles with a blocked, a throwing and a healthy listener: "
                    + ms + " ms");

            assertEquals(1, blockedCalls.get(), "the blocked listener must not get a second call meanwhile");
            healthy.await("/listener/healthy", 2 * cycles);
            Await.until(() -> thrown.get() >= 2 * cycles, Duration.ofSeconds(10),
                    () -> "every call reaches the throwing listener: " + thrown.get() + " of " + 2 * cycles);
            assertEquals(2 * cycles, thrown.get(), "every call reaches the throwing listener");

            release.countDown();
            Await.until(() -> blockedCalls.get() >= cycles, Duration.ofSeconds(10),
                    () -> "the blocked listener's backlog is delivered once it returns: " + blockedCalls.get()
                            + " of " + cycles);
            assertEquals(cycles, blockedCalls.get(), "the blocked listener's backlog is delivered once it returns");
        } finally {
            release.countDown();
        }
    }

    @Test
    void theBuilderTakesOneListener() {
        EtcdLockClient.Builder builder = EtcdLockClient.builder();
        NullPointerException npe = assertThrows(NullPointerException.class, () -> builder.listener(null));
        assertEquals("listener", npe.getMessage());
        builder.listener(new LockListener() { });
        IllegalStateException twice = assertThrows(IllegalStateException.class,
                () -> builder.listener(new LockListener() { }));
        assertTrue(twice.getMessage().contains("combine them"), twice::getMessage);
    }
}
