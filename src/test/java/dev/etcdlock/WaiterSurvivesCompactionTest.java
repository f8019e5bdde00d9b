package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.PutRequest;
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
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (EtcdKeys.count(etcd.clientEndpoints(), name + "/") < 2) {
                assertTrue(System.nanoTime() < deadline, "waiter enqueued");
                Thread.sleep(10);
            }
            long last = 0;
            for (int i = 0; i < 20; i++) {
                last = admin.kv().put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/compaction/other"))
                        .build()).join().getHeader().getRevision();
            }
            admin.kv().compact(last).join();

            etcd.local().kill(0); // every stream breaks; the waiter's watch must resume from a compacted revision
            etcd.local().restart(0);

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
