package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.Test;

/** The JFR events of the lease and watch engines and of lock losses, read back from a live recording. */
class JfrEventsTest extends OneEtcdOneClient {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @Test
    void aLeaseRevokedFromOutsideGivesLeaseLostAndLockLostEventsAndTellsTheListener() throws Exception {
        String name = "/jfr/revoked";
        RecordingLockListener listener = new RecordingLockListener();
        try (JfrCapture jfr = new JfrCapture();
             EtcdLockClient watched = clientWith(listener)) {
            Session session = watched.newSession(Duration.ofSeconds(3));
            LockHandle lock = session.mutex(name).lock(Duration.ofSeconds(5));
            Thread.sleep(50); // a hold time to measure

            revokeLease(session.leaseId());

            List<RecordingLockListener.Call> calls = listener.await(name, 2);
            assertEquals(List.of("acquired MUTEX " + name + " " + lock.fencingToken(),
                    "lost MUTEX " + name + " " + lock.fencingToken()),
                    calls.stream().map(RecordingLockListener.Call::brief).toList());
            assertInstanceOf(LeaseLostException.class, calls.get(1).why(), calls::toString);
            assertTrue(calls.get(1).duration().toMillis() >= 50, calls::toString);

            RecordedEvent leaseLost = jfr.await("dev.etcdlock.LeaseLost", 1,
                    e -> e.getLong("leaseId") == session.leaseId(), WAIT).get(0);
            assertEquals("EXPIRED_OR_REVOKED", leaseLost.getString("reason"));
            assertEquals(3, leaseLost.getLong("ttl"));

            RecordedEvent lockLost = jfr.await("dev.etcdlock.LockLost", 1,
                    e -> name.equals(e.getString("name")), WAIT).get(0);
            assertEquals(lock.fencingToken(), lockLost.getLong("fencingToken"));
            assertEquals("LEASE_LOST", lockLost.getString("reason"));
            assertEquals("MUTEX", lockLost.getString("kind"));
            assertTrue(lockLost.getDuration("holdTime").toMillis() >= 50, lockLost::toString);

            RecordedEvent acquired = jfr.await("dev.etcdlock.LockAcquired", 1,
                    e -> name.equals(e.getString("name")), WAIT).get(0);
            assertEquals(lock.fencingToken(), acquired.getLong("fencingToken"));
            assertEquals(session.leaseId(), acquired.getLong("leaseId"));
            assertEquals(lock.key(), acquired.getString("key"));

            // the unlock finds the lock gone: no second report, no release
            assertTrue(!lock.isHeld());
            lock.close();
            Thread.sleep(200);
            assertEquals(2, listener.about(name).size(), listener.about(name)::toString);
            assertEquals(List.of(), jfr.events("dev.etcdlock.LockReleased", e -> name.equals(e.getString("name"))));
        }
    }

    @Test
    void aLeaderKeyDeletedFromOutsideIsALostTermAndClosingItAfterwardsReportsNothingMore() throws Exception {
        String name = "/jfr/election-deleted";
        RecordingLockListener listener = new RecordingLockListener();
        try (JfrCapture jfr = new JfrCapture();
             EtcdLockClient watched = clientWith(listener);
             Session session = watched.newSession()) {
            Leadership term = session.election(name).campaign("leader-1", Duration.ofSeconds(5));

            outsider().kv().delete(DeleteRangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(term.key())).build())
                    .join();
            ExecutionException ended = assertThrows(ExecutionException.class,
                    () -> term.lost().get(5, TimeUnit.SECONDS), "the leader hears of the delete");
            assertInstanceOf(LockNotHeldException.class, ended.getCause());

            List<RecordingLockListener.Call> calls = listener.await(name, 2);
            assertEquals(List.of("acquired LEADERSHIP " + name + " " + term.fencingToken(),
                    "lost LEADERSHIP " + name + " " + term.fencingToken()),
                    calls.stream().map(RecordingLockListener.Call::brief).toList());
            assertInstanceOf(LockNotHeldException.class, calls.get(1).why(), calls::toString);
            RecordedEvent lost = jfr.await("dev.etcdlock.LockLost", 1, e -> name.equals(e.getString("name")), WAIT)
                    .get(0);
            assertEquals("KEY_DELETED", lost.getString("reason"));
            assertEquals("LEADERSHIP", lost.getString("kind"));

            term.close(); // gives up the place quietly: nothing more to report
            Thread.sleep(200);
            assertEquals(2, listener.about(name).size(), listener.about(name)::toString);
        }
    }

    @Test
    void aShortTtlSessionRecordsKeepAliveRoundTrips() throws Exception {
        try (JfrCapture jfr = new JfrCapture(); Session session = client.newSession(Duration.ofSeconds(2))) {
            // TTL 2 s: a keep-alive every 667 ms
            List<RecordedEvent> keepAlives = jfr.await("dev.etcdlock.KeepAlive", 2,
                    e -> e.getLong("leaseId") == session.leaseId(), WAIT);
            for (RecordedEvent e : keepAlives) {
                Duration roundTrip = e.getDuration("roundTrip");
                assertTrue(roundTrip.toNanos() > 0 && roundTrip.toMillis() < 2000, e::toString);
                assertEquals(2, e.getLong("ttl"), e::toString);
                assertTrue(e.getInt("leaseCount") >= 1, e::toString);
            }
        }
    }

    @Test
    void aBrokenWatchStreamRecordsAReconnectAndTheWaiterStillGetsTheLock() throws Exception {
        String name = "/jfr/watch-reconnect";
        try (JfrCapture jfr = new JfrCapture();
             TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
             EtcdLockClient proxied = EtcdLockClient.connect(proxy.endpoint());
             Session holder = client.newSession();
             Session waiter = proxied.newSession()) {
            LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> waiting = waiter.mutex(name).lockAsync();
            // the waiter's key is in etcd, its watch on the way
            Await.until(() -> keys(name) >= 2, Duration.ofSeconds(5), () -> "the waiter never enqueued");
            Thread.sleep(300); // the watch is created

            proxy.drop();

            RecordedEvent reconnect = jfr.await("dev.etcdlock.WatchReconnect", 1, e -> true, WAIT).get(0);
            assertTrue(reconnect.getInt("watches") >= 1, reconnect::toString);
            assertTrue(reconnect.getLong("resumeRevision") > 0, reconnect::toString);
            assertTrue(reconnect.getDuration("streamLifetime").toMillis() >= 300, reconnect::toString);
            assertTrue(!reconnect.getString("reason").isEmpty(), reconnect::toString);

            held.unlock();
            try (LockHandle mine = waiting.get(10, TimeUnit.SECONDS)) {
                assertTrue(mine.fencingToken() > held.fencingToken());
            }
        }
    }
}
