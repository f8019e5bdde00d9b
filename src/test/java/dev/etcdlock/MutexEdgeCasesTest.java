package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;

/** What happens at the edges: order, interruption, cancellation, lost leases, closed sessions, the Lock view. */
class MutexEdgeCasesTest extends OneEtcdOneClient {
    @Test
    void waitersGetTheLockInTheOrderTheyCame() throws Exception {
        String name = "/edge/fifo";
        List<Session> sessions = new ArrayList<>();
        List<Integer> order = new CopyOnWriteArrayList<>();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        try (Session holder = client.newSession()) {
            LockHandle first = holder.mutex(name).lock();
            for (int i = 0; i < 6; i++) {
                Session s = client.newSession();
                sessions.add(s);
                int waiter = i;
                done.add(s.mutex(name).lockAsync().thenAcceptAsync(handle -> {
                    order.add(waiter);
                    handle.unlock();
                }));
                awaitKeys(name, i + 2, Duration.ofSeconds(5)); // enqueued before the next one starts
            }
            Thread.sleep(200);
            assertEquals(List.of(), order, "nobody may get the lock while it is held");
            first.unlock();
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        } finally {
            sessions.forEach(Session::close);
        }
        assertEquals(List.of(0, 1, 2, 3, 4, 5), order);
        assertEquals(0, keys(name));
    }

    @Test
    void interruptedWaitLeavesNoKey() throws Exception {
        String name = "/edge/interrupt";
        try (Session a = client.newSession(); Session b = client.newSession(); LockHandle held = a.mutex(name).lock()) {
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    b.mutex(name).lockInterruptibly();
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            waiter.start();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            waiter.interrupt();
            assertInstanceOf(InterruptedException.class, outcome.get(5, TimeUnit.SECONDS));
            assertEquals(1, keys(name), "only the holder's key is left");

            CompletableFuture<Throwable> timed = new CompletableFuture<>();
            Thread timedWaiter = new Thread(() -> {
                try {
                    b.mutex(name).lock(Duration.ofMinutes(1));
                    timed.complete(null);
                } catch (Throwable t) {
                    timed.complete(Thread.currentThread().isInterrupted() ? t : new AssertionError("flag lost", t));
                }
            });
            timedWaiter.start();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            timedWaiter.interrupt();
            assertInstanceOf(LockInterruptedException.class, timed.get(5, TimeUnit.SECONDS));
            assertEquals(1, keys(name));
            assertTrue(held.isHeld());
        }
    }

    @Test
    void cancelledAsyncWaitLeavesNoKey() throws Exception {
        String name = "/edge/cancel";
        try (Session a = client.newSession(); Session b = client.newSession(); LockHandle held = a.mutex(name).lock()) {
            CompletableFuture<LockHandle> wait = b.mutex(name).lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            assertTrue(wait.cancel(true));
            awaitKeys(name, 1, Duration.ofSeconds(5));
            // and the session can still lock the name afterwards
            held.unlock();
            try (LockHandle again = b.mutex(name).lock(Duration.ofSeconds(5))) {
                assertTrue(again.isHeld());
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void leaseRevokedWhileHoldingIsObservedAndGuardedWritesAreRejected() throws Exception {
        String name = "/edge/revoked-holder";
        Session session = client.newSession(Duration.ofSeconds(6)); // keep-alive every 2 s
        LockHandle lock = session.mutex(name).lock();
        assertTrue(client.txn().ifHeld(lock).put("/edge/data", "v1").commit(), "guarded write while held");

        revokeLease(session.leaseId());

        assertFalse(client.txn().ifHeld(lock).put("/edge/data", "v2").commit(),
                "etcd rejects the guarded write at once: the key is gone");
        ExecutionException lost = assertThrows(ExecutionException.class,
                () -> session.lost().get(3, TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, lost.getCause());
        assertFalse(lock.isHeld());
        assertFalse(session.isValid());
        assertThrows(LockNotHeldException.class, lock::unlock, "unlock of a lost lock deletes nothing");
        session.close();
    }

    @Test
    void leaseRevokedWhileWaitingFailsTheWaitAtOnce() throws Exception {
        String name = "/edge/revoked-waiter";
        try (Session a = client.newSession(); LockHandle held = a.mutex(name).lock()) {
            Session b = client.newSession();
            CompletableFuture<LockHandle> wait = b.mutex(name).lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            long start = System.nanoTime();
            revokeLease(b.leaseId());
            ExecutionException e = assertThrows(ExecutionException.class, () -> wait.get(5, TimeUnit.SECONDS));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(LeaseLostException.class, e.getCause());
            assertTrue(tookMs < 1_000, "failed after " + tookMs + " ms: the waiter's key delete ends the wait");
            assertEquals(1, keys(name));
            b.close();
        }
    }

    @Test
    void lockingWithALeaseEtcdNoLongerHasIsALostLeaseNotAnEtcdError() throws Exception {
        Session session = client.newSession(Duration.ofSeconds(30)); // the next keep-alive is 10 s away
        revokeLease(session.leaseId());
        LeaseLostException tryLost = assertThrows(LeaseLostException.class,
                () -> session.mutex("/edge/gone").tryLock());
        assertTrue(tryLost.getMessage().contains("open a new session"), tryLost.getMessage());
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> session.mutex("/edge/gone").lockAsync().get(5, TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, e.getCause());
        assertEquals(0, keys("/edge/gone"));
        session.close();
    }

    @Test
    void closingTheSessionEndsItsWaitsAndReleasesItsLocks() throws Exception {
        String name = "/edge/close";
        Session a = client.newSession();
        a.mutex(name).lock();
        try (Session b = client.newSession()) {
            Session c = client.newSession();
            CompletableFuture<LockHandle> waiting = c.mutex(name).lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            c.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
            assertInstanceOf(ClientClosedException.class, e.getCause());
            a.close(); // releases a's lock at once, no unlock needed
            try (LockHandle lock = b.mutex(name).lock(Duration.ofSeconds(2))) {
                assertTrue(lock.isHeld());
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void lockViewForCodeWrittenAgainstJavaUtilConcurrent() throws Exception {
        String name = "/edge/jucl";
        try (Session a = client.newSession(); Session b = client.newSession()) {
            Lock lockA = a.mutex(name).asLock();
            Lock lockB = b.mutex(name).asLock();
            lockA.lock();
            assertFalse(lockB.tryLock());
            assertFalse(lockB.tryLock(200, TimeUnit.MILLISECONDS));
            assertEquals(1, keys(name), "the timed-out tryLock left nothing");
            lockA.unlock();
            assertTrue(lockB.tryLock(2, TimeUnit.SECONDS));
            lockB.unlock();
            assertThrows(IllegalMonitorStateException.class, lockB::unlock);
            assertThrows(UnsupportedOperationException.class, lockA::newCondition);
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aSessionCanWrapAnExistingLease() {
        String name = "/edge/attach";
        try (Session original = client.newSession(Duration.ofSeconds(20))) {
            try (EtcdLockClient other = EtcdLockClient.connect(etcd.clientEndpoints().get(0))) {
                Session attached = other.attachSession(original.leaseId());
                assertEquals(original.leaseId(), attached.leaseId());
                try (LockHandle lock = attached.mutex(name).lock()) {
                    assertEquals(name + "/" + Long.toHexString(original.leaseId()), lock.key());
                }
            }
            assertThrows(LeaseLostException.class, () -> client.attachSession(0x1234abcdL));
        }
    }

    @Test
    void guardedTxnValidatesItsInput() {
        assertThrows(IllegalArgumentException.class, () -> client.txn().put("", "x"));
        assertThrows(NullPointerException.class, () -> client.txn().ifHeld(null));
        Txn txn = client.txn().put("/edge/plain", "x");
        assertTrue(txn.commit(), "no guard: always applied");
        assertThrows(IllegalStateException.class, txn::commit);
    }
}
