package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.internal.Engine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A waiter whose watch has to resume from a revision etcd has compacted meanwhile re-reads the queue and goes on
 * waiting; it still gets the lock when the holder releases, and only then.
 */
class WaiterSurvivesCompactionTest {

    @Test
    void waiterReReadsAfterCompactionAndStillGetsTheLock() throws Exception {
        String name = "/compaction/lock";
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                EtcdLockClient holderClient = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                EtcdLockClient waiterClient = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
                Session holder = holderClient.newSession(Duration.ofSeconds(20));
                Session waiter = waiterClient.newSession(Duration.ofSeconds(20))) {
            LockHandle held = holder.mutex(name).lock();
            CompletableFuture<LockHandle> waiting = waiter.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") >= 2, Duration.ofSeconds(5),
                    () -> "waiter enqueued");
            // every stream breaks: the waiter's watch must resume from a compacted revision
            CompactedHistory.compactAndBreakStreams(etcd, admin);

            Thread.sleep(500);
            assertTrue(!waiting.isDone(), "still waiting: the holder has not released");
            held.unlock();
            try (LockHandle mine = waiting.get(10, TimeUnit.SECONDS)) {
                assertTrue(mine.fencingToken() > held.fencingToken());
            }
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
        }
    }
}
