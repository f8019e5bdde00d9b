package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A keep-alive stream whose member goes silent is replaced after a keep-alive waited a whole interval; if the
 * replacement lands on a silent member again, it must be replaced again before the lease runs out (with a 10 s TTL,
 * etcdctl's default, there is about one interval left by then).
 *
 * <p>Made deterministic with three proxies in front of one etcd: all three hang, the client reopens its stream on
 * one of them, and every proxy but that one heals. The lease must survive; before the replacement got a deadline
 * of its own it was lost 10 s after its last answered keep-alive, although two healthy paths were there.
 */
class KeepAliveStreamReopenedOnSilentMemberTest {

    @Test
    void aReopenedStreamOnASilentMemberIsReplacedBeforeTheLeaseRunsOut() throws Exception {
        List<TcpProxy> proxies = new ArrayList<>();
        try (EtcdTestCluster etcd = EtcdTestCluster.single()) {
            for (int i = 0; i < 3; i++) {
                proxies.add(TcpProxy.start(URI.create(etcd.clientEndpoints().get(0))));
            }
            try (Engine client = Engine.connect(Engine.Settings.of(
                    proxies.stream().map(TcpProxy::endpoint).toList()));
                    Engine direct = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
                Lease lease = client.leases().grant(Duration.ofSeconds(10)).join();
                Thread.sleep(500); // the stream's first keep-alive answered

                for (TcpProxy p : proxies) {
                    p.hang();
                }
                long hungAt = System.nanoTime();
                long[] atHang = bytesFromClients(proxies);
                // until the client gives up the stream, only its keep-alives flow: they show which proxy it is on
                long[] beforeReopen = atHang;
                while (client.leases().streamsOpened() == 1) {
                    assertTrue(System.nanoTime() - hungAt < TimeUnit.SECONDS.toNanos(10), "no reopen in 10 s");
                    beforeReopen = bytesFromClients(proxies);
                    Thread.sleep(5);
                }
                Thread.sleep(200); // the reopen's backoff, then the new stream's first bytes
                long[] afterReopen = bytesFromClients(proxies);
                int old = grewOnly(atHang, beforeReopen, -1);
                int fresh = grewOnly(beforeReopen, afterReopen, old);
                for (int i = 0; i < proxies.size(); i++) {
                    if (i != fresh) {
                        proxies.get(i).pass();
                    }
                }
                long reopenedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - hungAt);

                Thread.sleep(15_000); // past the TTL, counted from before the hang
                boolean valid = lease.isValid() && !lease.done().isDone();
                System.out.printf("keep-alive stream on proxy %d went silent; reopened on proxy %d (still silent) "
                                + "%d ms later; streams opened: %d; lease %s%n", old, fresh, reopenedAfterMs,
                        client.leases().streamsOpened(), valid ? "alive" : "LOST: " + lease.done());
                assertTrue(valid, "the lease was lost although two healthy paths to etcd were open");
                assertTrue(client.leases().streamsOpened() >= 3, "the silent replacement was replaced too");
                assertTrue(direct.transport().call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                        LeaseTimeToLiveRequest.newBuilder().setID(lease.id()).build(), true).join().getTTL() > 0,
                        "etcd has the lease");
                proxies.get(fresh).pass();
            }
        } finally {
            for (TcpProxy p : proxies) {
                p.close();
            }
        }
    }

    private static long[] bytesFromClients(List<TcpProxy> proxies) {
        long[] bytes = new long[proxies.size()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = proxies.get(i).bytesFromClients();
        }
        return bytes;
    }

    /**
     * The proxy through which bytes went between two readings, not counting {@code besides} (which also gets the
     * cancel of the stream it carried), or {@code besides} itself when nothing else moved.
     */
    private static int grewOnly(long[] before, long[] after, int besides) {
        int found = -1;
        for (int i = 0; i < before.length; i++) {
            if (after[i] > before[i] && i != besides) {
                assertFalse(found >= 0, "bytes went through more than one proxy: " + i + " and " + found);
                found = i;
            }
        }
        if (found < 0) {
            assertTrue(besides >= 0 && after[besides] > before[besides], "no proxy carried anything");
            return besides;
        }
        return found;
    }
}
