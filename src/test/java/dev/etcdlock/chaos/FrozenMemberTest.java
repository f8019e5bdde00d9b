package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Mutex;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A member that is frozen (SIGSTOP: a long GC pause, a hung VM) keeps its TCP connections open and answers nothing;
 * gRPC sees it as healthy until its keepalive gives up 15 s later. Locking must go on through the other members
 * within a couple of seconds, not stall for the request timeout on every call that lands on the frozen one.
 */
class FrozenMemberTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.of(EtcdTestCluster::cluster3);
    private static LocalEtcdCluster cluster;

    @BeforeAll
    static void start() {
        cluster = etcd.local();
    }

    @Test
    void lockingGoesOnWhileAFollowerIsFrozen() throws Exception {
        lockingGoesOnWhileFrozen("/frozen-follower/lock", false);
    }

    /** The harder case: the other members cannot answer either until they have elected a new leader. */
    @Test
    void lockingGoesOnWhileTheLeaderIsFrozen() throws Exception {
        lockingGoesOnWhileFrozen("/frozen-leader/lock", true);
    }

    private void lockingGoesOnWhileFrozen(String name, boolean leader) throws Exception {
        // the default request timeout (10 s), as an application would have it
        try (EtcdLockClient client = EtcdLockClient.builder().endpoints(cluster.clientEndpoints()).build();
                Session session = client.newSession(Duration.ofSeconds(5))) {
            Mutex mutex = session.mutex(name);
            for (int i = 0; i < 30; i++) {
                mutex.lock().unlock();
            }
            int current = EtcdTestCluster.awaitLeader(cluster, Duration.ofSeconds(10));
            int frozen = leader ? current : (current + 1) % cluster.size();
            long frozenAt = System.nanoTime();
            cluster.pause(frozen);
            List<Long> doneAtMillis = new ArrayList<>();
            long longestMillis = 0;
            try {
                while (System.nanoTime() - frozenAt < Duration.ofSeconds(8).toNanos()) {
                    long start = System.nanoTime();
                    try (LockHandle lock = mutex.lock(Duration.ofSeconds(20))) {
                        assertTrue(lock.isHeld());
                    }
                    long end = System.nanoTime();
                    doneAtMillis.add((end - frozenAt) / 1_000_000);
                    if (start - frozenAt > Duration.ofSeconds(3).toNanos()) {
                        longestMillis = Math.max(longestMillis, (end - start) / 1_000_000);
                    }
                }
            } finally {
                cluster.resume(frozen);
            }
            long inFirst3s = doneAtMillis.stream().filter(t -> t < 3_000).count();
            long after3s = doneAtMillis.size() - inFirst3s;
            System.out.printf("frozen %s %d: %d lock+unlock cycles in the first 3 s, %d in the next 5 s, "
                    + "slowest cycle started after 3 s: %d ms, session valid: %s%n", leader ? "leader" : "follower",
                    frozen, inFirst3s, after3s, longestMillis, session.isValid());
            // each cycle is two round trips: a healthy cluster does hundreds a second even on a loaded machine
            assertTrue(after3s >= 100, "only " + after3s + " cycles in the 5 s after the first 3 s of the freeze");
            assertTrue(longestMillis < 1_000, "a cycle started after the first 3 s took " + longestMillis + " ms");
            assertTrue(session.isValid(), "the session's lease must survive a frozen follower");
        }
        assertEquals(0, EtcdKeys.count(cluster.clientEndpoints(), name));
    }
}
