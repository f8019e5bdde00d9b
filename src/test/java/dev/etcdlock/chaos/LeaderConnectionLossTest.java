package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LeaderInfo;
import dev.etcdlock.Leadership;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.Session;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Curator's LeaderLatch could leave two leaders after a connection loss: the old leader, reconnected, still thought
 * it led while another had been elected. Here the leader reaches every member of a 3-member cluster through a
 * {@link TcpProxy}: cut off past its TTL, it must be told of the loss before its successor is elected, and stay
 * deposed once its connections come back; with its connections merely reset (a reconnect within the TTL) it must
 * stay the one leader.
 */
class LeaderConnectionLossTest {
    private static final String NAME = "/chaos/election/cut-off";
    private static final Duration TTL = Duration.ofSeconds(3);

    @Test
    void aLeaderCutOffPastItsTtlIsToldBeforeItsSuccessorIsElectedAndStaysDeposed() throws Exception {
        List<TcpProxy> proxies = new ArrayList<>();
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            for (String endpoint : etcd.clientEndpoints()) {
                proxies.add(TcpProxy.start(URI.create(endpoint)));
            }
            String direct = String.join(",", etcd.clientEndpoints());
            try (EtcdLockClient leaderClient = EtcdLockClient.builder()
                            .endpoints(proxies.stream().map(TcpProxy::endpoint).toList()).build();
                    EtcdLockClient otherClient = EtcdLockClient.connect(direct);
                    Session leaderSession = leaderClient.newSession(TTL);
                    Session otherSession = otherClient.newSession(TTL);
                    Session watcher = otherClient.newSession()) {
                List<LeaderInfo> seen = Collections.synchronizedList(new ArrayList<>());
                Flow.Subscription observing = watcher.election(NAME).observe(seen::add);
                Leadership term = leaderSession.election(NAME).campaign("cut-off leader");
                AtomicLong toldAt = new AtomicLong();
                term.lost().whenComplete((v, t) -> toldAt.set(System.nanoTime()));
                CompletableFuture<Leadership> successor = otherSession.election(NAME).campaignAsync("successor");
                AtomicLong electedAt = new AtomicLong();
                successor.whenComplete((l, t) -> electedAt.set(System.nanoTime()));
                awaitKeys(etcd, 2);

                long cutAt = System.nanoTime();
                proxies.forEach(TcpProxy::hang);
                Leadership next;
                try {
                    next = successor.get(TTL.toSeconds() * 4, TimeUnit.SECONDS);
                    assertThrows(ExecutionException.class, () -> term.lost().get(1, TimeUnit.SECONDS));
                    assertFalse(term.isHeld());
                } finally {
                    proxies.forEach(TcpProxy::pass); // the leader's connections come back, held bytes and all
                }
                long toldMs = TimeUnit.NANOSECONDS.toMillis(toldAt.get() - cutAt);
                long electedMs = TimeUnit.NANOSECONDS.toMillis(electedAt.get() - cutAt);
                System.out.printf("leader cut off (TTL %d s): told of the loss after %d ms, successor elected after "
                        + "%d ms%n", TTL.toSeconds(), toldMs, electedMs);
                assertTrue(toldAt.get() != 0 && toldAt.get() - electedAt.get() <= 0, "the cut-off leader was told "
                        + toldMs + " ms after the cut, its successor elected after " + electedMs + " ms");

                // reconnected, the deposed leader stays deposed: no write, no second leader
                Thread.sleep(TTL.toMillis());
                assertFalse(term.isHeld());
                assertThrows(LockNotHeldException.class, () -> term.proclaim("still me?"));
                assertFalse(leaderClient.txn().ifLeader(term).put(NAME + "-data", "stale").commit());
                assertThrows(LockNotHeldException.class, term::resign);
                assertTrue(next.isHeld());
                assertEquals("successor", otherSession.election(NAME).leader().orElseThrow().value());
                try (Session again = leaderClient.newSession(TTL)) {
                    CompletableFuture<Leadership> rejoined = again.election(NAME).campaignAsync("rejoined");
                    Thread.sleep(500);
                    assertFalse(rejoined.isDone(), "the old leader campaigns again, behind the new one");
                    next.resign();
                    rejoined.get(5, TimeUnit.SECONDS).close();
                }
                observing.cancel();
                for (int i = 1; i < seen.size(); i++) {
                    assertTrue(seen.get(i).fencingToken() >= seen.get(i - 1).fencingToken(), seen.toString());
                }
                assertEquals(List.of("cut-off leader", "successor", "rejoined"),
                        seen.stream().map(LeaderInfo::value).toList());
            }
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), NAME + "/"));
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), NAME + "-data"));
        } finally {
            proxies.forEach(TcpProxy::close);
        }
    }

    @Test
    void aLeaderWhoseConnectionsAreResetStaysTheOnlyLeader() throws Exception {
        List<TcpProxy> proxies = new ArrayList<>();
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            for (String endpoint : etcd.clientEndpoints()) {
                proxies.add(TcpProxy.start(URI.create(endpoint)));
            }
            try (EtcdLockClient leaderClient = EtcdLockClient.builder()
                            .endpoints(proxies.stream().map(TcpProxy::endpoint).toList()).build();
                    EtcdLockClient otherClient = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()));
                    Session leaderSession = leaderClient.newSession(TTL);
                    Session otherSession = otherClient.newSession(TTL)) {
                Leadership term = leaderSession.election(NAME).campaign("leader");
                CompletableFuture<Leadership> successor = otherSession.election(NAME).campaignAsync("waiting");
                awaitKeys(etcd, 2);
                long until = System.nanoTime() + TTL.toNanos() * 3;
                int resets = 0;
                while (System.nanoTime() < until) {
                    proxies.forEach(TcpProxy::drop);
                    resets++;
                    Thread.sleep(300);
                    assertFalse(successor.isDone(), "a second leader after " + resets + " connection resets");
                }
                assertTrue(term.isHeld(), "still leader after " + resets + " connection resets");
                assertFalse(term.lost().isDone());
                term.proclaim("leader, reconnected");
                assertEquals("leader, reconnected", otherSession.election(NAME).leader().orElseThrow().value());
                System.out.printf("leader stayed the only leader across %d connection resets in %d s%n", resets,
                        TTL.toSeconds() * 3);
                term.resign();
                successor.get(5, TimeUnit.SECONDS).close();
            }
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), NAME + "/"));
        } finally {
            proxies.forEach(TcpProxy::close);
        }
    }

    private static void awaitKeys(EtcdTestCluster etcd, long count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (EtcdKeys.count(etcd.clientEndpoints(), NAME + "/") != count) {
            assertTrue(System.nanoTime() < deadline, "expected " + count + " keys under " + NAME);
            Thread.sleep(10);
        }
    }
}
