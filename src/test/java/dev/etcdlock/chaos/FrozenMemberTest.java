package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.Intervals;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Mutex;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
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

    /**
     * Two clients take turns on the lock while a member is frozen. Locking must go on once the first 3 s are over
     * (time enough for gRPC to route around the member, or the others to elect a leader): cycles that began after
     * them complete, and no two holds overlap. How many cycles, and how fast, is for the benchmarks. Not yet asserted:
     * that each client gets through (in about 1 run in 7 one client stalled for the last 5 s while the other went on;
     * its stack is printed when a cycle is stuck), which is an open engine problem, noted on issue 14.
     */
    private void lockingGoesOnWhileFrozen(String name, boolean leader) throws Exception {
        int workers = 2;
        Intervals stays = new Intervals();
        List<EtcdLockClient> clients = new ArrayList<>();
        List<Session> sessions = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            for (int w = 0; w < workers; w++) {
                // the default request timeout (10 s), as an application would have it
                EtcdLockClient client = EtcdLockClient.builder().endpoints(cluster.clientEndpoints()).build();
                clients.add(client);
                sessions.add(client.newSession(Duration.ofSeconds(5)));
                for (int i = 0; i < 10; i++) {
                    sessions.get(w).mutex(name).lock().unlock();
                }
            }
            int current = EtcdTestCluster.awaitLeader(cluster, Duration.ofSeconds(10));
            int frozen = leader ? current : (current + 1) % cluster.size();
            long frozenAt = System.nanoTime();
            long settledAt = frozenAt + Duration.ofSeconds(3).toNanos();
            long endAt = frozenAt + Duration.ofSeconds(8).toNanos();
            cluster.pause(frozen);
            List<Future<int[]>> counts = new ArrayList<>();
            // when a cycle is stuck, its stack says on what: kept for the failure message
            Thread[] threads = new Thread[workers];
            AtomicLongArray cycleStart = new AtomicLongArray(workers);
            try {
                for (int w = 0; w < workers; w++) {
                    Mutex mutex = sessions.get(w).mutex(name);
                    String worker = "client " + w;
                    int index = w;
                    counts.add(pool.submit(() -> {
                        threads[index] = Thread.currentThread();
                        int[] cycles = new int[2]; // begun before the freeze settled, after
                        while (System.nanoTime() < endAt) {
                            long start = System.nanoTime();
                            cycleStart.set(index, start);
                            try (LockHandle lock = mutex.lock(Duration.ofSeconds(20))) {
                                assertTrue(lock.isHeld());
                                stays.hold(worker);
                            }
                            cycles[start < settledAt ? 0 : 1]++;
                        }
                        cycleStart.set(index, 0);
                        return cycles;
                    }));
                }
                TimeUnit.NANOSECONDS.sleep(endAt - System.nanoTime()); // the test's length, not a wait for an event
                StringBuilder stuck = new StringBuilder();
                for (int w = 0; w < workers; w++) {
                    long since = cycleStart.get(w);
                    boolean long2s = since != 0 && System.nanoTime() - since > Duration.ofSeconds(2).toNanos();
                    if (long2s && threads[w] != null) {
                        stuck.append("\nclient ").append(w).append("'s cycle, begun ")
                                .append((System.nanoTime() - since) / 1_000_000).append(" ms ago, is at:");
                        for (StackTraceElement e : threads[w].getStackTrace()) {
                            stuck.append("\n  ").append(e);
                        }
                    }
                }
                int after = 0;
                for (int w = 0; w < workers; w++) {
                    int[] cycles = counts.get(w).get(2, TimeUnit.MINUTES);
                    System.out.printf("frozen %s %d, client %d: %d lock+unlock cycles begun in the first 3 s, %d "
                            + "after%n", leader ? "leader" : "follower", frozen, w, cycles[0], cycles[1]);
                    after += cycles[1];
                }
                if (stuck.length() > 0) {
                    System.out.println("stuck at the end:" + stuck);
                }
                assertTrue(after > 0, "no cycle begun after the first 3 s completed" + stuck);
            } finally {
                cluster.resume(frozen);
            }
            stays.assertAtMostAtOnce(1);
            for (Session session : sessions) {
                assertTrue(session.isValid(), "the session's lease must survive a frozen member");
            }
        } finally {
            pool.shutdownNow();
            sessions.forEach(Session::close);
            clients.forEach(EtcdLockClient::close);
        }
        assertEquals(0, EtcdKeys.count(cluster.clientEndpoints(), name));
    }
}
