package dev.etcdlock.internal;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** close() must end everything it owns, whatever state calls are in and whichever thread calls it. */
class EngineCloseTest {

    @Test
    void closeFailsACallWaitingToRetry() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single()) {
            Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
            etcd.local().kill(0);
            CompletableFuture<RangeResponse> read = client.kv().range(
                    RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/x")).build());
            Thread.sleep(300); // retrying with backoff: UNAVAILABLE, and reads are idempotent
            client.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
            assertInstanceOf(ClientClosedException.class, e.getCause());
        }
    }

    @Test
    void closeFailsACallInFlight() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single()) {
            Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints())
                    .withRequestTimeout(Duration.ofSeconds(60)));
            etcd.local().pause(0);
            try {
                CompletableFuture<RangeResponse> read = client.kv().range(
                        RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/x")).build());
                Thread.sleep(300);
                client.close();
                ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(10, TimeUnit.SECONDS));
                assertInstanceOf(ClientClosedException.class, e.getCause());
            } finally {
                etcd.local().resume(0);
            }
        }
    }

    @Test
    void closeFromACallbackOnTheEngineThreadStillRevokesLeases() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                Engine other = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
            Lease lease = client.leases().grant(Duration.ofSeconds(30)).join();
            client.transport().executor().execute(client::close);
            lease.done().get(5, TimeUnit.SECONDS); // ends normally: revoked by its owner
            // closing from the engine thread goes on in the background: the revoke reaches etcd shortly after
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            long ttl;
            while ((ttl = other.transport().call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                    LeaseTimeToLiveRequest.newBuilder().setID(lease.id()).build(), true).join().getTTL()) > 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(ttl <= 0, "lease revoked on close, ttl=" + ttl);
        }
    }
}
