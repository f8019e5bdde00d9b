package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.proto.KeyValue;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A member frozen with a lock's enqueue request in its socket buffer executes it when it wakes, after the client
 * gave up on it, retried elsewhere, took the lock and released it: the key comes back, attached to the session's
 * live lease, and would block the name for everybody else until the session ends. The client must remove it.
 */
class ReplayedEnqueueTest {

    @Test
    void aKeyRecreatedByAFrozenMemberAfterTheClientGaveUpIsRemoved() throws Exception {
        String name = "/replayed-enqueue/lock";
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            LocalEtcdCluster cluster = etcd.local();
            try (EtcdLockClient client = EtcdLockClient.builder().endpoints(cluster.clientEndpoints()).build();
                    EtcdLockClient other = EtcdLockClient.builder().endpoints(cluster.clientEndpoints()).build();
                    Session session = client.newSession(Duration.ofSeconds(10));
                    Session otherSession = other.newSession(Duration.ofSeconds(10))) {
                for (int round = 0; round < 4; round++) {
                    int leader = EtcdTestCluster.awaitLeader(cluster, Duration.ofSeconds(10));
                    int frozen = (leader + 1 + round % 2) % cluster.size();
                    cluster.pause(frozen);
                    long start = System.nanoTime();
                    try {
                        while (System.nanoTime() - start < Duration.ofSeconds(3).toNanos()) {
                            session.mutex(name).lock(Duration.ofSeconds(20)).unlock();
                            Thread.sleep(200);
                        }
                    } finally {
                        cluster.resume(frozen);
                    }
                    Thread.sleep(1_500); // the woken member executes what it had buffered
                    List<KeyValue> left = EtcdKeys.under(cluster.clientEndpoints(), name + "/");
                    Optional<LockHandle> taken = otherSession.mutex(name).tryLock();
                    taken.ifPresent(LockHandle::unlock);
                    assertEquals(List.of(), left.stream().map(kv -> kv.getKey().toStringUtf8() + " created at "
                            + kv.getCreateRevision()).collect(Collectors.toList()),
                            "round " + round + ": nobody holds the lock, yet keys are left");
                    assertTrue(taken.isPresent(), "round " + round + ": another session could not take a free lock");
                    Thread.sleep(5_500); // the frozen member is used again only after its bench
                }
            }
        }
    }
}
