package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Java's {@link Election} and {@code etcdctl elect} (Go's {@code concurrency.Election}) take part in one election,
 * both ways: same keys ({@code name/<lease hex>} holding the candidate's value), same order (create revision).
 * {@code etcdctl elect <name> <value>} prints the leader key and value once elected and resigns on SIGTERM;
 * {@code etcdctl elect -l <name>} prints each leader's key and value as it observes them.
 */
@EnabledIf(value = "dev.etcdlock.Etcdctl#available", disabledReason = "etcdctl is not on the PATH")
class EtcdctlElectInteropTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    /** etcdctl leads: Java sees it as leader, waits behind it, and is elected when etcdctl resigns on SIGTERM. */
    @Test
    void javaCampaignsBehindAnEtcdctlLeader() throws Exception {
        String name = "/interop/elect/etcdctl-leads";
        Etcdctl.Running leader = etcdctl("elect", name, "etcdctl-value");
        try (Session session = etcd.client().newSession(Duration.ofSeconds(10))) {
            String key = leader.line();
            assertTrue(key.startsWith(name + "/"), key);
            assertEquals("etcdctl-value", leader.line());
            Election election = session.election(name);
            LeaderInfo info = election.leader().orElseThrow();
            assertEquals(key, info.key());
            assertEquals("etcdctl-value", info.value());
            assertEquals(Long.parseLong(key.substring(name.length() + 1), 16), info.leaseId(), "Go's key layout");

            assertThrows(LockTimeoutException.class, () -> election.campaign("java", Duration.ofMillis(500)));
            assertEquals(1, keys(name), "only etcdctl's key is left");
            CompletableFuture<Leadership> campaign = election.campaignAsync("java");
            awaitKeys(name, 2);
            Thread.sleep(300);
            assertFalse(campaign.isDone(), "Java was elected while etcdctl led");

            long terminated = System.nanoTime();
            leader.process().destroy(); // etcdctl resigns on SIGTERM
            try (Leadership term = campaign.get(5, TimeUnit.SECONDS)) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - terminated);
                System.out.println("Java elected " + ms + " ms after SIGTERM to the etcdctl leader");
                assertTrue(term.fencingToken() > info.fencingToken());
                assertEquals("java", election.leader().orElseThrow().value());
            }
            assertTrue(leader.process().waitFor(5, TimeUnit.SECONDS));
        } finally {
            leader.stop();
        }
        assertEquals(0, keys(name));
    }

    /**
     * Java leads: {@code etcdctl elect -l} prints Java's key and value and each value Java proclaims; an etcdctl
     * candidate waits behind Java, is elected when Java resigns, and Java observes it.
     */
    @Test
    void etcdctlObservesAndCampaignsBehindAJavaLeader() throws Exception {
        String name = "/interop/elect/java-leads";
        Etcdctl.Running observer = null;
        Etcdctl.Running candidate = null;
        try (Session session = etcd.client().newSession(Duration.ofSeconds(10));
                Session watcher = etcd.client().newSession(Duration.ofSeconds(10))) {
            BlockingQueue<LeaderInfo> javaSeen = new LinkedBlockingQueue<>();
            Flow.Subscription observing = watcher.election(name).observe(javaSeen::add);
            Leadership term = session.election(name).campaign("java-1");
            observer = etcdctl("elect", "-l", name);
            assertEquals(term.key(), observer.line());
            assertEquals("java-1", observer.line());
            term.proclaim("java-2");
            assertEquals(term.key(), observer.line());
            assertEquals("java-2", observer.line());

            candidate = etcdctl("elect", name, "etcdctl-candidate");
            awaitKeys(name, 2);
            assertNull(candidate.lines().poll(500, TimeUnit.MILLISECONDS), "etcdctl elected while Java led");
            term.resign();
            String etcdctlKey = candidate.line();
            assertTrue(etcdctlKey.startsWith(name + "/") && !etcdctlKey.equals(term.key()), etcdctlKey);
            assertEquals("etcdctl-candidate", candidate.line());
            assertEquals(etcdctlKey, observer.line());
            assertEquals("etcdctl-candidate", observer.line());

            List<String> javaObserved = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                LeaderInfo l = javaSeen.poll(5, TimeUnit.SECONDS);
                assertTrue(l != null, "Java observed " + javaObserved);
                javaObserved.add(l.value());
            }
            assertEquals(List.of("java-1", "java-2", "etcdctl-candidate"), javaObserved);
            LeaderInfo etcdctlLeader = session.election(name).leader().orElseThrow();
            assertEquals(etcdctlKey, etcdctlLeader.key());
            assertTrue(etcdctlLeader.fencingToken() > term.fencingToken());

            CompletableFuture<Leadership> again = session.election(name).campaignAsync("java-3");
            awaitKeys(name, 2);
            candidate.process().destroy();
            try (Leadership third = again.get(5, TimeUnit.SECONDS)) {
                assertEquals(third.key(), observer.line());
                assertEquals("java-3", observer.line());
            }
            observing.cancel();
        } finally {
            if (candidate != null) {
                candidate.stop();
            }
            if (observer != null) {
                observer.stop();
            }
        }
        assertEquals(0, keys(name));
    }

    private static Etcdctl.Running etcdctl(String... args) throws IOException {
        return Etcdctl.start(etcd.endpoints(), args);
    }

    private static long keys(String name) {
        return EtcdKeys.count(etcd.clientEndpoints(), name + "/");
    }

    private static void awaitKeys(String name, long count) throws InterruptedException {
        Await.until(() -> keys(name) == count, Duration.ofSeconds(5),
                () -> "expected " + count + " keys under " + name);
    }
}
