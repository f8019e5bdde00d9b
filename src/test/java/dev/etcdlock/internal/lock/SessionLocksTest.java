package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A session that locks many distinct names must not keep anything per name once they are released. */
class SessionLocksTest {

    @Test
    void nothingIsKeptPerNameOnceReleasedOrGivenUp() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                Engine engine = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            LockQueue queue = new LockQueue(engine);
            Lease lease = engine.leases().grant(Duration.ofSeconds(30)).join();
            Lease otherLease = engine.leases().grant(Duration.ofSeconds(30)).join();
            SessionLocks locks = new SessionLocks(queue, lease);
            SessionLocks other = new SessionLocks(queue, otherLease);

            for (int i = 0; i < 200; i++) {
                ByteString name = ByteString.copyFromUtf8("/gates/name-" + i + "/");
                LockQueue.Held held = locks.lock(QueuePolicy.mutex(name)).result().get(5, TimeUnit.SECONDS);
                assertEquals(1, locks.gatesInUse(), "the holder uses its gate");
                assertTrue(locks.unlock(held).join());
            }
            assertEquals(0, locks.gatesInUse(), "all released: no gate left");

            ByteString busy = ByteString.copyFromUtf8("/gates/busy/");
            LockQueue.Held theirs = other.lock(QueuePolicy.mutex(busy)).result().get(5, TimeUnit.SECONDS);
            assertNull(locks.tryLock(QueuePolicy.mutex(busy)).join(), "held by the other session");
            Waiter waiting = locks.lock(QueuePolicy.mutex(busy));
            waiting.abort().get(5, TimeUnit.SECONDS);
            LockQueue.Held mine = locks.tryLock(QueuePolicy.mutex(ByteString.copyFromUtf8("/gates/free/"))).join();
            assertNotNull(mine);
            assertTrue(locks.unlock(mine).join());
            assertEquals(0, locks.gatesInUse(), "failed tryLock, aborted wait and released tryLock keep nothing");
            assertTrue(other.unlock(theirs).join());
            assertEquals(0, other.gatesInUse());
        }
    }
}
