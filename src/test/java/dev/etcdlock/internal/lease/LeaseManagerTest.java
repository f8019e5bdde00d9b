package dev.etcdlock.internal.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.LeaseTimeToLiveResponse;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LeaseManagerTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();
    private static Engine engine;
    /** A second, independent client: plays "somebody else". */
    private static Engine other;

    @BeforeAll
    static void start() {
        engine = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        other = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
    }

    @AfterAll
    static void stop() {
        if (other != null) {
            other.close();
        }
        if (engine != null) {
            engine.close();
        }
    }

    private static LeaseTimeToLiveResponse timeToLive(long id) {
        return other.transport().call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                LeaseTimeToLiveRequest.newBuilder().setID(id).build(), true).join();
    }

    private static boolean exists(String key) {
        return other.kv().range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).build()).join()
                .getCount() == 1;
    }

    @Test
    void leaseStaysAliveForMoreThanThreeTtlsOnOneStream() throws Exception {
        int streamsBefore = engine.leases().streamsOpened();
        Lease lease = engine.leases().grant(Duration.ofSeconds(2)).join();
        engine.kv().put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/lease-test/alive"))
                .setLease(lease.id()).build()).join();
        assertEquals(2, lease.ttlSeconds());

        Thread.sleep(7_000); // 3.5 x TTL: etcd would have expired it without keep-alives

        assertTrue(lease.isValid());
        assertFalse(lease.done().isDone());
        assertTrue(timeToLive(lease.id()).getTTL() > 0, "etcd still has the lease");
        assertTrue(exists("/lease-test/alive"), "the key attached to the lease survives");
        assertTrue(lease.validUntilNanos() - System.nanoTime() > 0);
        assertTrue(engine.leases().streamsOpened() - streamsBefore <= 1, "at most one keep-alive stream opened");

        engine.leases().revoke(lease).join();
        assertTrue(lease.done().isDone() && !lease.done().isCompletedExceptionally(),
                "revoke by the owner is a normal end");
        assertFalse(lease.isValid());
        assertFalse(exists("/lease-test/alive"), "revoking deletes the attached key");
        engine.leases().revoke(lease).join(); // twice is fine
    }

    @Test
    void leaseRevokedByAnotherClientIsReportedLostWithinOneKeepAliveInterval() throws Exception {
        Lease lease = engine.leases().grant(Duration.ofSeconds(6)).join(); // keep-alive every 2 s
        long revokedAt = System.nanoTime();
        other.transport().call(LeaseGrpc.getLeaseRevokeMethod(),
                LeaseRevokeRequest.newBuilder().setID(lease.id()).build(), true).join();

        ExecutionException e = assertThrows(ExecutionException.class,
                () -> lease.done().get(5, TimeUnit.SECONDS));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revokedAt);
        LeaseLostException lost = assertInstanceOf(LeaseLostException.class, e.getCause());
        assertEquals(lease.id(), lost.leaseId());
        assertTrue(lost.getMessage().contains("expired or revoked"), lost.getMessage());
        assertTrue(tookMs <= 2_000 + 500, "reported after " + tookMs + " ms, keep-alive interval is 2000 ms");
        assertFalse(lease.isValid());
    }

    @Test
    void leaseIsReportedLostWhenEtcdDoesNotAnswerBeforeItCouldExpire() throws Exception {
        try (EtcdTestCluster paused = EtcdTestCluster.single();
                Engine client = Engine.connect(Engine.Settings.of(paused.clientEndpoints()))) {
            Lease lease = client.leases().grant(Duration.ofSeconds(3)).join();
            long pausedAt = System.nanoTime();
            paused.local().pause(0);
            try {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> lease.done().get(6, TimeUnit.SECONDS));
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pausedAt);
                LeaseLostException lost = assertInstanceOf(LeaseLostException.class, e.getCause());
                assertTrue(lost.getMessage().contains("no keep-alive answer"), lost.getMessage());
                // lost no later than the TTL after the last answered keep-alive, so before etcd could hand its
                // locks to anybody else
                assertTrue(tookMs < 3_100, "reported after " + tookMs + " ms with a 3 s TTL");
                assertFalse(lease.isValid());
            } finally {
                paused.local().resume(0);
            }
        }
    }

    @Test
    void refusesNonPositiveAndHugeTtls() {
        assertThrows(IllegalArgumentException.class, () -> engine.leases().grant(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> engine.leases().grant(Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> engine.leases().grant(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> engine.leases().grant(Duration.ofSeconds(LeaseManager.MAX_TTL_SECONDS + 1)));
        assertTrue(e.getMessage().contains("maximum"), e.getMessage());
        assertEquals(2, LeaseManager.ttlSecondsOf(Duration.ofMillis(1500)), "partial seconds round up");
    }

    @Test
    void adoptsAnExistingLeaseAndRefusesAnUnknownOne() throws Exception {
        Lease granted = other.leases().grant(Duration.ofSeconds(5)).join();
        Lease adopted = engine.leases().adopt(granted.id()).join();
        assertEquals(granted.id(), adopted.id());
        assertTrue(adopted.isValid());
        engine.leases().revoke(adopted).join();
        CompletionException e = assertThrows(CompletionException.class,
                () -> engine.leases().adopt(0x7abcdefL).join());
        assertInstanceOf(LeaseLostException.class, e.getCause());
    }

    @Test
    void closingTheClientRevokesItsLeasesAndFailsLaterCalls() {
        Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        Lease lease = client.leases().grant(Duration.ofSeconds(30)).join();
        client.close();
        assertTrue(timeToLive(lease.id()).getTTL() <= 0, "lease revoked on close, not left to expire");
        assertTrue(lease.done().isDone() && !lease.done().isCompletedExceptionally());
        CompletionException e = assertThrows(CompletionException.class,
                () -> client.leases().grant(Duration.ofSeconds(5)).join());
        assertInstanceOf(ClientClosedException.class, e.getCause());
        client.close(); // twice is fine
    }
}
