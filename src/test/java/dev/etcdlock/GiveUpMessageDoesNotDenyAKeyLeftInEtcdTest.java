package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A timed wait that runs out deletes its waiter key before it throws; when etcd cannot be reached for that delete,
 * the key may stay, and the message must not say "nothing was left in etcd" then; the session deletes it once etcd
 * answers again, with its lease still alive. Reproduced by killing the only member while the waiter waits, so the cleanup delete runs
 * out of its request timeout, and starting it again with its data; the waiter's lease (30 s) stays valid throughout.
 * (A frozen member, SIGSTOP, would not do: the delete it got while frozen is applied when it is continued.)
 */
class GiveUpMessageDoesNotDenyAKeyLeftInEtcdTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();
    private static LocalEtcdCluster cluster;
    private static EtcdLockClient client;

    @BeforeAll
    static void start() {
        cluster = etcd.local(); // kills the etcd process: skips the class where etcd is not local
        client = EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).requestTimeout(Duration.ofSeconds(1))
                .build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
    }

    @Test
    void aMutexTimeoutWhileEtcdIsDownDoesNotClaimTheKeyWasDeleted() throws Exception {
        LockTimeoutException e = giveUpWhileEtcdIsDown("/give-up-message/mutex",
                s -> s.mutex("/give-up-message/mutex").lock(Duration.ofSeconds(2)));
        assertTrue(e.keyMayRemain(), "tells the key may be left: " + e.getMessage());
    }

    @Test
    void aCampaignTimeoutWhileEtcdIsDownDoesNotClaimTheKeyWasDeleted() throws Exception {
        LockTimeoutException e = giveUpWhileEtcdIsDown("/give-up-message/election",
                s -> s.election("/give-up-message/election").campaign("b", Duration.ofSeconds(2)));
        assertTrue(e.keyMayRemain(), "tells the key may be left: " + e.getMessage());
    }

    /** A holder and a waiter; etcd down while the waiter gives up; the waiter's timeout message. */
    private static LockTimeoutException giveUpWhileEtcdIsDown(String name, Function<Session, Object> timedWait)
            throws Exception {
        Session holder = client.newSession(Duration.ofSeconds(30));
        Session waiter = client.newSession(Duration.ofSeconds(30));
        if (name.endsWith("election")) {
            holder.election(name).campaign("a");
        } else {
            holder.mutex(name).lock();
        }
        CompletableFuture<Object> wait = CompletableFuture.supplyAsync(() -> timedWait.apply(waiter));
        Await.until(() -> keys(name) == 2, Duration.ofSeconds(10), () -> "expected 2 keys under " + name);
        cluster.kill(0);
        ExecutionException e;
        try {
            e = assertThrows(ExecutionException.class, () -> wait.get(10, TimeUnit.SECONDS));
        } finally {
            cluster.restart(0);
            awaitReconnected(Duration.ofSeconds(20)); // so that a failure here does not fail the next test
        }
        LockTimeoutException timeout = assertInstanceOf(LockTimeoutException.class, e.getCause(), "timed out");
        // with both sessions still open, the waiter's session deletes its key once etcd answers again
        Await.until(() -> keys(name) == 1, Duration.ofSeconds(10), () -> "the waiter's key was not deleted");
        holder.close(); // its lease's revocation takes the holder's key with it
        waiter.close();
        assertEquals(0, keys(name));
        return timeout;
    }

    /** Until the client's channel is back from its reconnect backoff: a write goes through. */
    private static void awaitReconnected(Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                client.txn().put("/give-up-message/ping", "x").commit();
                return;
            } catch (EtcdUnavailableException e) {
                assertTrue(System.nanoTime() < deadline, "the client did not reconnect: " + e);
                Thread.sleep(100);
            }
        }
    }

    private static long keys(String name) {
        return EtcdKeys.count(etcd.clientEndpoints(), name + "/");
    }
}
