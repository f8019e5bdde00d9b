package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;

/** Races found in review: each test failed before its fix. */
class MutexRacesTest extends OneEtcdOneClient {

    @Test
    void aWaitGivenUpWhileItsTxnIsInFlightNeverDeletesTheNextHoldersKey() throws Exception {
        String name = "/races/inflight-abort";
        int doubles = 0;
        try (Session s = client.newSession(); Session other = client.newSession()) {
            Mutex mutex = s.mutex(name);
            for (int i = 0; i < 20; i++) {
                try {
                    mutex.lock(Duration.ofNanos(1)).close(); // times out while its enqueue Txn is in flight
                } catch (LockTimeoutException expected) {
                    // the usual outcome
                }
                LockHandle held = mutex.lock(Duration.ofSeconds(5));
                Thread.sleep(50); // lets the first attempt's answer and cleanup arrive
                Optional<LockHandle> second = other.mutex(name).tryLock();
                if (second.isPresent()) {
                    doubles++;
                    second.get().close();
                }
                assertTrue(held.isHeld());
                held.unlock(); // throws LockNotHeldException if the cleanup deleted our key
            }
        }
        assertEquals(0, doubles, "another session got the lock while it was held");
        assertEquals(0, keys(name));
    }

    @Test
    void threadsWaitingForTheirTurnInTheProcessHearOfALostLeaseAtOnce() throws Exception {
        String name = "/races/gate-waiter";
        Session s = client.newSession(Duration.ofSeconds(30));
        Mutex mutex = s.mutex(name);
        LockHandle held = mutex.lock();
        CompletableFuture<LockHandle> second = mutex.lockAsync(); // waits at the session's local gate
        try (Engine outsider = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            outsider.transport().call(LeaseGrpc.getLeaseRevokeMethod(),
                    LeaseRevokeRequest.newBuilder().setID(s.leaseId()).build(), true).join();
        }
        // the keep-alive reports the loss within a third of the TTL; the waiter must hear of it right then
        ExecutionException e = assertThrows(ExecutionException.class, () -> second.get(15, TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, e.getCause());
        assertTrue(!held.isHeld());
        s.close();
    }

    @Test
    void anAsyncWaitThatTimesOutLeavesNoKeyAndFreesTheSessionsTurn() throws Exception {
        String name = "/races/async-timeout";
        try (Session a = client.newSession(); Session b = client.newSession()) {
            LockHandle held = a.mutex(name).lock();
            CompletableFuture<LockHandle> waiting = b.mutex(name).lockAsync().orTimeout(200, TimeUnit.MILLISECONDS);
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
            assertInstanceOf(TimeoutException.class, e.getCause());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (keys(name) != 1) {
                assertTrue(System.nanoTime() < deadline, "the timed-out waiter's key must go");
                Thread.sleep(10);
            }
            held.unlock();
            try (LockHandle again = b.mutex(name).lock(Duration.ofSeconds(5))) {
                assertTrue(again.isHeld(), "b's turn at its local gate was given back");
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void lockViewTryLockWithoutWaitingTakesAFreeLock() throws Exception {
        String name = "/races/trylock-zero";
        try (Session s = client.newSession()) {
            Lock lock = s.mutex(name).asLock();
            assertTrue(lock.tryLock(0, TimeUnit.SECONDS), "free: taken without waiting");
            lock.unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void lockingAfterTheClientClosedSaysSo() {
        EtcdLockClient c = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
        Session s = c.newSession();
        Mutex mutex = s.mutex("/races/closed");
        c.close();
        assertThrows(ClientClosedException.class, mutex::tryLock);
        assertThrows(ClientClosedException.class, () -> mutex.lock(Duration.ofSeconds(1)));
    }
}
