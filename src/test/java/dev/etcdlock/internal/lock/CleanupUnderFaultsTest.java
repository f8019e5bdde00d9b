package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Keys whose delete did not certainly happen, and outcomes after retries, with the fault made to happen: a proxy
 * in front of the one member that refuses every connection (etcd down for longer than the request timeout) or lets
 * requests through while it holds their answers (a write applied whose answer is lost).
 */
class CleanupUnderFaultsTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    private static Engine engineThrough(List<String> endpoints) {
        return Engine.connect(Engine.Settings.of(endpoints).withRequestTimeout(Duration.ofSeconds(1)));
    }

    private static long keys(String prefix) {
        return EtcdKeys.count(etcd.clientEndpoints(), prefix);
    }

    /** Before: the unlock's one delete failed, the key stayed while the session lived, and the name was blocked. */
    @Test
    void anUnlockThatCouldNotReachEtcdIsDeletedOnceEtcdAnswersAndTheNameIsFreeAgain() throws Exception {
        String name = "/cleanup/unlock/";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                Engine engine = engineThrough(List.of(proxy.endpoint()));
                Engine other = engineThrough(etcd.clientEndpoints())) {
            LockQueue queue = new LockQueue(engine);
            SessionLocks locks = new SessionLocks(queue, engine.leases().grant(Duration.ofSeconds(60)).join());
            LockQueue.Held held = locks.lock(QueuePolicy.mutex(bytes(name))).result().get(5, TimeUnit.SECONDS);
            proxy.refuse();
            ExecutionException e = assertThrows(ExecutionException.class, () -> locks.unlock(held).get());
            assertTrue(e.getCause().toString().contains("Unavailable"), "etcd unreachable: " + e.getCause());
            assertEquals(1, keys(name), "the delete could not reach etcd");
            assertEquals(1, locks.cleanupsPending(), "the janitor retries it");
            proxy.pass();
            Await.until(() -> keys(name) == 0, Duration.ofSeconds(10),
                    () -> "the janitor deletes the key once etcd answers, with the session still alive");
            Await.until(() -> locks.cleanupsPending() == 0, Duration.ofSeconds(5), () -> "the removal is over");
            SessionLocks next = new SessionLocks(new LockQueue(other),
                    other.leases().grant(Duration.ofSeconds(30)).join());
            assertNotNull(next.tryLock(QueuePolicy.mutex(bytes(name))).get(5, TimeUnit.SECONDS),
                    "the name is free for another session");
        }
    }

    /** Before: the aborted waiter's key stayed, reached the head of the queue, and held the name for its session. */
    @Test
    void aWaitGivenUpWhileEtcdIsDownNeverHoldsTheNameLater() throws Exception {
        String name = "/cleanup/abort/";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                Engine waiterEngine = engineThrough(List.of(proxy.endpoint()));
                Engine direct = engineThrough(etcd.clientEndpoints())) {
            LockQueue directQueue = new LockQueue(direct);
            SessionLocks holder = new SessionLocks(directQueue, direct.leases().grant(Duration.ofSeconds(30)).join());
            SessionLocks third = new SessionLocks(directQueue, direct.leases().grant(Duration.ofSeconds(30)).join());
            SessionLocks waiter = new SessionLocks(new LockQueue(waiterEngine),
                    waiterEngine.leases().grant(Duration.ofSeconds(60)).join());
            LockQueue.Held held = holder.lock(QueuePolicy.mutex(bytes(name))).result().get(5, TimeUnit.SECONDS);
            Waiter waiting = waiter.lock(QueuePolicy.mutex(bytes(name)));
            Await.until(() -> keys(name) == 2, Duration.ofSeconds(5), () -> "the waiter enqueued");
            proxy.refuse();
            assertTrue(waiting.abort().get(10, TimeUnit.SECONDS), "undone");
            assertTrue(waiting.keyMayRemain(), "its delete could not reach etcd");
            assertEquals(2, keys(name));
            proxy.pass();
            Await.until(() -> keys(name) == 1, Duration.ofSeconds(10), () -> "the waiter's key is deleted");
            assertTrue(holder.unlock(held).get(5, TimeUnit.SECONDS));
            assertNotNull(third.tryLock(QueuePolicy.mutex(bytes(name))).get(5, TimeUnit.SECONDS),
                    "nobody left in the queue: the name is free");
        }
    }

    /**
     * The first guarded delete is applied but its answer held; the transport gives up on that attempt and retries,
     * which finds the key gone. Before, that was reported as "not held" (someone else may have held it); it is the
     * release the caller asked for. Two endpoints reach the one member, so the retry has somewhere to go.
     */
    @Test
    void aRetriedUnlockWhoseFirstDeleteWasAppliedIsARelease() throws Exception {
        String name = "/cleanup/retried-unlock/";
        URI member = URI.create(etcd.clientEndpoints().get(0));
        try (TcpProxy a = TcpProxy.start(member); TcpProxy b = TcpProxy.start(member);
                Engine engine = Engine.connect(Engine.Settings.of(List.of(a.endpoint(), b.endpoint()))
                        .withRequestTimeout(Duration.ofSeconds(10)))) {
            SessionLocks locks = new SessionLocks(new LockQueue(engine),
                    engine.leases().grant(Duration.ofSeconds(60)).join());
            LockQueue.Held held = locks.lock(QueuePolicy.mutex(bytes(name))).result().get(5, TimeUnit.SECONDS);
            long abandonedBefore = engine.transport().abandonedAttempts();
            a.holdAnswers();
            b.holdAnswers();
            CompletableFuture<Boolean> unlocked = locks.unlock(held);
            Await.until(() -> keys(name) == 0, Duration.ofSeconds(5), () -> "the first delete was applied");
            Await.until(() -> engine.transport().abandonedAttempts() > abandonedBefore, Duration.ofSeconds(10),
                    () -> "the transport gave up on the silent attempt");
            a.pass();
            b.pass();
            assertTrue(unlocked.get(10, TimeUnit.SECONDS), "a release, not a loss");
        }
    }

    /**
     * A recipe-valued key left by an unlock whose delete did not happen carries the same value a new attempt
     * writes: taking it over would hand out the old term's fencing token again. The new attempt must replace it.
     */
    @Test
    void aLeftoverOfAnEndedHoldIsNeverTakenOverWithItsOldToken() throws Exception {
        String name = "/cleanup/token/";
        QueuePolicy policy = semaphoreOfTwo(name);
        try (Engine engine = engineThrough(etcd.clientEndpoints())) {
            LockQueue queue = new LockQueue(engine);
            Lease lease = engine.leases().grant(Duration.ofSeconds(30)).join();
            KeyJanitor janitor = queue.janitor(lease);
            LockQueue.Held held = acquire(queue, policy, lease, janitor);
            janitor.retire(held.key(), held.createRevision()); // the hold ended; its delete never reached etcd
            assertEquals(1, keys(name), "the leftover is there");
            LockQueue.Held again = acquire(queue, policy, lease, janitor);
            assertEquals(held.key(), again.key());
            assertTrue(again.createRevision() > held.createRevision(),
                    "a new token " + again.createRevision() + ", not the old " + held.createRevision());
            assertEquals(1, keys(name), "the leftover was replaced");
            assertTrue(queue.release(again).get(5, TimeUnit.SECONDS));
        }
    }

    /**
     * A late copy of an enqueue whose answer never came (a member executed it after the client gave up): for a
     * recipe-valued key (a semaphore's count, an election's candidate) it carries the same value as every attempt,
     * so only ownership tells it apart. Before, only nonce-valued keys were guarded and this ghost permit stayed for
     * the session. The copy is made by writing the key with the session's lease, as the member would.
     */
    @Test
    void aLateCopyOfARecipeValuedEnqueueIsRemovedWhileALiveAttemptKeepsItsKey() throws Exception {
        String name = "/cleanup/replay/";
        QueuePolicy policy = semaphoreOfTwo(name);
        try (Engine engine = engineThrough(etcd.clientEndpoints())) {
            LockQueue queue = new LockQueue(engine);
            Lease lease = engine.leases().grant(Duration.ofSeconds(30)).join();
            KeyJanitor janitor = queue.janitor(lease);
            ByteString key = LockQueue.keyOf(bytes(name), lease.id());
            engine.transport().executor().execute(() -> ReplayGuard.start(engine.kv(), engine.watches(),
                    engine.transport().executor(), janitor, key, lease.id()));

            LockQueue.Held held = acquire(queue, policy, lease, janitor);
            assertTrue(queue.release(held).get(5, TimeUnit.SECONDS), "the guard left the live attempt's key alone");
            janitor.retire(held.key(), held.createRevision());

            lateCopy(engine, key, lease);
            Await.until(() -> keys(name) == 0, Duration.ofSeconds(5), () -> "the late copy is removed");
        }
    }

    /**
     * The client gives a lease up when no keep-alive answer came before it could expire, while etcd may still have
     * it (here: the keep-alives reach etcd, their answers do not come back). Before, nothing revoked it, and its
     * keys blocked their names until etcd expired it, a whole TTL after the last keep-alive etcd got.
     */
    @Test
    void aLeaseLostOnlyInTheClientsViewIsRevokedSoItsKeysGoAtOnce() throws Exception {
        String name = "/cleanup/lost-lease/";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                Engine engine = engineThrough(List.of(proxy.endpoint()))) {
            Lease lease = engine.leases().grant(Duration.ofSeconds(15)).join();
            SessionLocks locks = new SessionLocks(new LockQueue(engine), lease);
            locks.lock(QueuePolicy.mutex(bytes(name))).result().get(5, TimeUnit.SECONDS);
            proxy.holdAnswers();
            ExecutionException lost = assertThrows(ExecutionException.class,
                    () -> lease.done().get(30, TimeUnit.SECONDS));
            assertTrue(lost.getCause().getMessage().contains("no keep-alive answer"), lost.getCause().toString());
            // etcd got a keep-alive about 5 s ago: it would keep the key some 10 s longer on its own
            Await.until(() -> keys(name) == 0, Duration.ofSeconds(4), () -> "the lost lease is revoked");
            proxy.pass();
        }
    }

    private static void lateCopy(Engine engine, ByteString key, Lease lease) {
        engine.kv().txn(dev.etcdlock.internal.proto.TxnRequest.newBuilder()
                .addCompare(LockQueue.ownership(key, 0))
                .addSuccess(dev.etcdlock.internal.proto.RequestOp.newBuilder().setRequestPut(
                        dev.etcdlock.internal.proto.PutRequest.newBuilder().setKey(key).setValue(bytes("2"))
                                .setLease(lease.id())))
                .build()).join();
    }

    /** A semaphore's policy: every key carries the count, the value every attempt writes. */
    private static QueuePolicy semaphoreOfTwo(String name) {
        return new QueuePolicy(bytes(name), bytes(name), QueuePolicy.Rule.permits(2), new QueuePolicy.Value.Agreed(
                bytes("2"), theirs -> new IllegalStateException("disagree: " + theirs.toStringUtf8())));
    }

    /** A waiter on its own gate, sharing {@code janitor}: as the session's next attempts on the queue would. */
    private static LockQueue.Held acquire(LockQueue queue, QueuePolicy policy, Lease lease, KeyJanitor janitor)
            throws Exception {
        Waiter waiter = new Waiter(queue, janitor, new SessionLocks.Gate(policy.keyPrefix()), () -> { }, policy, lease,
                false, (held, failure) -> { });
        waiter.start();
        return waiter.result().get(5, TimeUnit.SECONDS);
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }
}
