package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The engine with waiter keys whose value the recipe chooses (an election's candidate value, a semaphore's count)
 * instead of a nonce per attempt: the value is stored, cleanup still never deletes another attempt's key, a key the
 * session left behind is taken over or replaced, and a queue whose keys must agree on the value refuses another.
 */
class RecipeValuedKeysTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();
    private static Engine engine;
    private static LockQueue queue;

    @BeforeAll
    static void start() {
        engine = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        queue = new LockQueue(engine);
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private static SessionLocks session() {
        return new SessionLocks(queue, engine.leases().grant(Duration.ofSeconds(30)).join());
    }

    private static QueuePolicy valued(String name, String value) {
        return new QueuePolicy(bytes(name), bytes(name), QueuePolicy.Rule.exclusive(),
                new QueuePolicy.Value.Fixed(bytes(value)));
    }

    private static List<KeyValue> under(String prefix) {
        ByteString p = bytes(prefix);
        return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p)).build()).join()
                .getKvsList();
    }

    @Test
    void theWaiterKeyCarriesTheRecipesValue() throws Exception {
        SessionLocks s = session();
        LockQueue.Held held = s.lock(valued("/valued/store/", "candidate-1")).result().get(5, TimeUnit.SECONDS);
        List<KeyValue> keys = under("/valued/store/");
        assertEquals(1, keys.size());
        assertEquals("candidate-1", keys.get(0).getValue().toStringUtf8());
        assertEquals(s.lease().id(), keys.get(0).getLease());
        assertTrue(s.unlock(held).join());
        assertEquals(0, under("/valued/store/").size());
    }

    /** The race MutexRacesTest checks for nonce keys, with equal values: cleanup goes by create revision. */
    @Test
    void aWaitGivenUpWhileItsTxnIsInFlightNeverDeletesTheNextAttemptsKey() throws Exception {
        String name = "/valued/inflight/";
        SessionLocks s = session();
        SessionLocks other = session();
        QueuePolicy policy = valued(name, "same");
        for (int i = 0; i < 20; i++) {
            Waiter given = s.lock(policy);
            if (!given.abort().get(5, TimeUnit.SECONDS)) { // aborted while its enqueue Txn is in flight
                assertTrue(s.unlock(given.result().join()).join(), "acquired before the abort: release it");
            }
            LockQueue.Held held = s.lock(policy).result().get(5, TimeUnit.SECONDS);
            Thread.sleep(50); // lets the first attempt's answer and cleanup arrive
            assertNull(other.tryLock(valued(name, "same")).join(), "another session got the lock while held");
            assertTrue(s.unlock(held).join(), "the first attempt's cleanup deleted the next attempt's key");
        }
        assertEquals(0, under(name).size());
    }

    @Test
    void aKeyTheSessionLeftBehindIsTakenOverWithTheSameValueAndReplacedWithAnother() throws Exception {
        String name = "/valued/leftover/";
        SessionLocks s = session();
        ByteString key = LockQueue.keyOf(bytes(name), s.lease().id());
        long leftover = engine.kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("v1"))
                .setLease(s.lease().id()).build()).join().getHeader().getRevision();

        LockQueue.Held same = s.lock(valued(name, "v1")).result().get(5, TimeUnit.SECONDS);
        assertEquals(leftover, same.createRevision(), "the session's own place, kept");
        assertTrue(s.unlock(same).join());

        engine.kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("v1")).setLease(s.lease().id()).build())
                .join();
        LockQueue.Held replaced = s.lock(valued(name, "v2")).result().get(5, TimeUnit.SECONDS);
        List<KeyValue> keys = under(name);
        assertEquals(1, keys.size());
        assertEquals("v2", keys.get(0).getValue().toStringUtf8());
        assertEquals(replaced.createRevision(), keys.get(0).getCreateRevision());
        assertTrue(s.unlock(replaced).join());
        assertEquals(0, under(name).size());
    }

    @Test
    void aQueueWhoseKeysMustAgreeRefusesAnotherValueAndWritesNothing() throws Exception {
        String name = "/valued/agree/";
        QueuePolicy three = new QueuePolicy(bytes(name), bytes(name), QueuePolicy.Rule.permits(3),
                new QueuePolicy.Value.Agreed(bytes("3"),
                        found -> new IllegalStateException("found " + found.toStringUtf8())));
        QueuePolicy five = new QueuePolicy(bytes(name), bytes(name), QueuePolicy.Rule.permits(5),
                new QueuePolicy.Value.Agreed(bytes("5"),
                        found -> new IllegalStateException("found " + found.toStringUtf8())));
        SessionLocks a = session();
        SessionLocks b = session();
        SessionLocks c = session();
        LockQueue.Held first = a.lock(three).result().get(5, TimeUnit.SECONDS); // the empty queue's first key
        LockQueue.Held second = c.lock(three).result().get(5, TimeUnit.SECONDS); // agreeing with it
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> b.lock(five).result().get(5, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals("found 3", e.getCause().getMessage());
        SessionLocks d = session(); // b's gate may still be on its way out of the failed attempt
        IllegalStateException tried = assertThrows(IllegalStateException.class, () -> {
            try {
                d.tryLock(five).join();
            } catch (java.util.concurrent.CompletionException ce) {
                throw ce.getCause();
            }
        });
        assertEquals("found 3", tried.getMessage());
        assertEquals(2, under(name).size(), "the refused attempts wrote nothing");
        assertTrue(a.unlock(first).join());
        assertTrue(c.unlock(second).join());
        LockQueue.Held now = b.lock(five).result().get(5, TimeUnit.SECONDS);
        assertNotNull(now, "nobody left: the next count is anybody's");
        assertTrue(b.unlock(now).join());
        assertEquals(0, under(name).size());
    }
}
