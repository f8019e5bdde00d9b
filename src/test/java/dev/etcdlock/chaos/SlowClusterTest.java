package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Giving up early on a silent member must not make a uniformly slow cluster unusable: when every answer takes longer
 * than the attempt timeout (slow disks, a distant region), calls are slow, not failed.
 */
class SlowClusterTest {

    @Test
    void everyRoundTripSlowerThanTheAttemptTimeoutStillWorks() {
        try (EtcdTestCluster etcd = EtcdTestCluster.single()) {
            List<TcpProxy> proxies = new ArrayList<>();
            try {
                // three endpoints, so that short attempts apply, all slow: 2 x 1.2 s per round trip
                for (int i = 0; i < 3; i++) {
                    TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                    proxy.delay(Duration.ofMillis(1_200));
                    proxies.add(proxy);
                }
                long start = System.nanoTime();
                try (EtcdLockClient client = EtcdLockClient.builder()
                        .endpoints(proxies.stream().map(TcpProxy::endpoint).toList())
                        .connectTimeout(Duration.ofSeconds(30)).requestTimeout(Duration.ofSeconds(20)).build();
                        Session session = client.newSession(Duration.ofSeconds(30))) {
                    try (LockHandle lock = session.mutex("/slow-cluster/lock").lock(Duration.ofSeconds(30))) {
                        assertTrue(lock.isHeld());
                        assertTrue(client.txn().ifHeld(lock).put("/slow-cluster/data", "x").commit());
                    }
                }
                System.out.printf("slow cluster (2.4 s round trips): connect, session, lock, guarded write, unlock "
                        + "and close took %d ms%n", (System.nanoTime() - start) / 1_000_000);
            } finally {
                proxies.forEach(TcpProxy::close);
            }
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), "/slow-cluster/lock"));
        }
    }
}
