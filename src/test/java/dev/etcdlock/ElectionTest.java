package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Leader election against one etcd member: campaign, proclaim, resign, leader, observe, and every way a term ends. */
class ElectionTest extends OneEtcdOneClient {
    @Test
    void candidatesAreElectedInTurnWithGrowingTokensAndLeaveNothing() throws Exception {
        String name = "/election-test/turns";
        try (Session a = client.newSession(); Session b = client.newSession(); Session c = client.newSession()) {
            assertTrue(a.election(name).leader().isEmpty(), "nobody campaigns yet");
            Leadership first = a.election(name).campaign("a", Duration.ofSeconds(5));
            assertEquals(name + "/" + Long.toHexString(a.leaseId()), first.key(), "Go's key layout");
            assertTrue(first.isHeld());
            assertEquals("a", first.value());
            CompletableFuture<Leadership> second = b.election(name).campaignAsync("b");
            awaitKeys(name, 2, Duration.ofSeconds(5));
            CompletableFuture<Leadership> third = c.election(name).campaignAsync("c");
            awaitKeys(name, 3, Duration.ofSeconds(5));
            LeaderInfo leader = c.election(name).leader().orElseThrow();
            assertEquals(new LeaderInfo(first.key(), "a", first.fencingToken(), a.leaseId(), first.fencingToken()),
                    leader);
            assertFalse(second.isDone() || third.isDone(), "one leader at a time");

            first.resign();
            assertFalse(first.isHeld());
            assertTrue(first.lost().get(5, TimeUnit.SECONDS) == null, "a resign ends the term normally");
            Leadership secondTerm = second.get(5, TimeUnit.SECONDS);
            assertFalse(third.isDone(), "the third waits for the second");
            assertTrue(secondTerm.fencingToken() > first.fencingToken());
            assertEquals("b", a.election(name).leader().orElseThrow().value());
            secondTerm.close();
            Leadership thirdTerm = third.get(5, TimeUnit.SECONDS);
            assertTrue(thirdTerm.fencingToken() > secondTerm.fencingToken());
            assertTrue(thirdTerm.electedRevision() >= thirdTerm.fencingToken());
            thirdTerm.close();
            thirdTerm.close(); // idempotent
            assertThrows(LockNotHeldException.class, thirdTerm::resign);
        }
        assertEquals(0, keys(name));
    }

    @Test
    void proclaimChangesTheValueKeepsTheTermAndIsGuarded() throws Exception {
        String name = "/election-test/proclaim";
        try (Session s = client.newSession(); Session other = client.newSession()) {
            Leadership term = s.election(name).campaign("v1");
            CompletableFuture<Leadership> waiting = other.election(name).campaignAsync("w");
            awaitKeys(name, 2, Duration.ofSeconds(5));
            term.proclaim("v2");
            assertEquals("v2", term.value());
            LeaderInfo leader = other.election(name).leader().orElseThrow();
            assertEquals("v2", leader.value());
            assertEquals(term.fencingToken(), leader.fencingToken(), "same term");
            assertTrue(leader.revision() > term.fencingToken());
            assertEquals(s.leaseId(), leader.leaseId(), "the proclaimed key keeps its lease");
            assertFalse(waiting.isDone(), "a proclaim is no election");

            assertTrue(client.txn().ifLeader(term).put("/election-test/proclaim-data", "x").commit());
            term.resign();
            assertFalse(client.txn().ifLeader(term).put("/election-test/proclaim-data", "y").commit(),
                    "a guarded write after the term ended");
            LockNotHeldException e = assertThrows(LockNotHeldException.class, () -> term.proclaim("v3"));
            assertTrue(e.getMessage().contains("nothing was proclaimed"), e.getMessage());
            Leadership next = waiting.get(5, TimeUnit.SECONDS);
            assertEquals("w", other.election(name).leader().orElseThrow().value(), "the old leader wrote nothing");
            next.close();
            outsider().kv().delete(DeleteRangeRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("/election-test/proclaim-data")).build()).join();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aRevokedLeaseEndsTheTermAtOnceAndAProclaimWritesNothing() throws Exception {
        String name = "/election-test/revoked";
        try (Session s = client.newSession(Duration.ofSeconds(6)); Session next = client.newSession()) {
            Leadership term = s.election(name).campaign("old");
            CompletableFuture<Leadership> waiting = next.election(name).campaignAsync("new");
            awaitKeys(name, 2, Duration.ofSeconds(5));
            long revokedAt = System.nanoTime();
            revokeLease(s.leaseId());
            ExecutionException lost = assertThrows(ExecutionException.class,
                    () -> term.lost().get(5, TimeUnit.SECONDS));
            long toldMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revokedAt);
            System.out.println("leader told of its revoked lease after " + toldMs + " ms: " + lost.getCause());
            assertInstanceOf(EtcdLockException.class, lost.getCause());
            assertTrue(toldMs < 2_000, "told after " + toldMs + " ms");
            assertFalse(term.isHeld());
            Leadership nextTerm = waiting.get(5, TimeUnit.SECONDS);
            assertThrows(LockNotHeldException.class, () -> term.proclaim("still me?"));
            assertEquals("new", next.election(name).leader().orElseThrow().value(), "the deposed leader wrote nothing");
            assertThrows(LockNotHeldException.class, term::resign);
            assertTrue(nextTerm.isHeld(), "the deposed leader's resign deleted nothing of the new one's");
            // the session hears it from its next keep-alive (every TTL/3); the term from its key's delete, at once
            assertThrows(ExecutionException.class, () -> s.lost().get(5, TimeUnit.SECONDS));
            nextTerm.close();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aLeaderKeyDeletedBySomebodyElseEndsTheTerm() throws Exception {
        String name = "/election-test/deleted";
        try (Session s = client.newSession()) {
            Leadership term = s.election(name).campaign("me");
            outsider().kv().delete(DeleteRangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(term.key())).build())
                    .join();
            ExecutionException lost = assertThrows(ExecutionException.class,
                    () -> term.lost().get(5, TimeUnit.SECONDS));
            assertInstanceOf(LockNotHeldException.class, lost.getCause());
            assertFalse(term.isHeld());
            assertTrue(s.isValid(), "the session lives on");
            term.close(); // gives up the session's turn without a word
            try (Leadership again = s.election(name).campaign("me again", Duration.ofSeconds(5))) {
                assertTrue(again.fencingToken() > term.fencingToken());
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void closingTheSessionEndsTheTermNormally() throws Exception {
        String name = "/election-test/session-closed";
        Session s = client.newSession();
        Leadership term = s.election(name).campaign("x");
        s.close();
        assertTrue(term.lost().get(5, TimeUnit.SECONDS) == null);
        assertFalse(term.isHeld());
        term.close();
        assertEquals(0, keys(name));
    }

    @Test
    void timedOutInterruptedAndCancelledCampaignsLeaveNoKey() throws Exception {
        String name = "/election-test/give-up";
        try (Session leader = client.newSession(); Session other = client.newSession();
                Leadership term = leader.election(name).campaign("leader")) {
            Election election = other.election(name);
            long start = System.nanoTime();
            LockTimeoutException timeout = assertThrows(LockTimeoutException.class,
                    () -> election.campaign("late", Duration.ofMillis(300)));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMs >= 300 && tookMs < 3_000, "took " + tookMs + " ms");
            assertTrue(timeout.getMessage().contains("nothing was left"), timeout.getMessage());
            assertEquals(1, keys(name));

            Thread.currentThread().interrupt();
            assertThrows(LockInterruptedException.class, () -> election.campaign("late", Duration.ofSeconds(5)));
            assertTrue(Thread.interrupted(), "the flag is set again");
            assertEquals(1, keys(name));

            CompletableFuture<Leadership> waiter = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    waiter.complete(election.campaignInterruptibly("late"));
                } catch (Throwable e) {
                    waiter.completeExceptionally(e);
                }
            });
            t.start();
            awaitKeys(name, 2, Duration.ofSeconds(5));
            t.interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.get(5, TimeUnit.SECONDS));
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertEquals(1, keys(name));

            CompletableFuture<Leadership> async = election.campaignAsync("late");
            awaitKeys(name, 2, Duration.ofSeconds(5));
            async.cancel(true);
            assertThrows(CancellationException.class, async::join);
            awaitKeys(name, 1, Duration.ofSeconds(5));
            assertTrue(term.isHeld());
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aRevokedLeaseFailsAWaitingCampaignAtOnce() throws Exception {
        String name = "/election-test/revoked-waiter";
        try (Session leader = client.newSession(); Leadership term = leader.election(name).campaign("l");
                Session waiting = client.newSession()) {
            CompletableFuture<Leadership> campaign = waiting.election(name).campaignAsync("w");
            awaitKeys(name, 2, Duration.ofSeconds(5));
            revokeLease(waiting.leaseId());
            ExecutionException e = assertThrows(ExecutionException.class, () -> campaign.get(5, TimeUnit.SECONDS));
            assertInstanceOf(LeaseLostException.class, e.getCause());
            assertTrue(term.isHeld());
        }
        assertEquals(0, keys(name));
    }

    @Test
    void threadsOfOneSessionCampaignInTurn() throws Exception {
        String name = "/election-test/one-session";
        try (Session s = client.newSession()) {
            Election election = s.election(name);
            Leadership first = election.campaign("first");
            CompletableFuture<Leadership> second = election.campaignAsync("second");
            Thread.sleep(300);
            assertFalse(second.isDone(), "the session's second campaign waits for its first term to end");
            assertEquals(1, keys(name));
            first.resign();
            try (Leadership term = second.get(5, TimeUnit.SECONDS)) {
                assertEquals("second", election.leader().orElseThrow().value());
                assertEquals(first.key(), term.key(), "one key per session");
                assertTrue(term.fencingToken() > first.fencingToken());
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void observersSeeEachLeaderAndValueInOrder() throws Exception {
        String name = "/election-test/observe";
        BlockingQueue<LeaderInfo> seen = new LinkedBlockingQueue<>();
        try (Session a = client.newSession(); Session b = client.newSession(); Session watcher = client.newSession()) {
            Flow.Subscription observing = watcher.election(name).observe(seen::add);
            assertEquals(null, seen.poll(300, TimeUnit.MILLISECONDS), "nobody leads: nothing to tell");
            Leadership first = a.election(name).campaign("a1");
            CompletableFuture<Leadership> second = b.election(name).campaignAsync("b1");
            LeaderInfo l1 = next(seen);
            assertEquals(first.key(), l1.key());
            assertEquals("a1", l1.value());
            first.proclaim("a2");
            LeaderInfo l2 = next(seen);
            assertEquals("a2", l2.value());
            assertEquals(l1.fencingToken(), l2.fencingToken());
            first.resign();
            LeaderInfo l3 = next(seen);
            Leadership secondTerm = second.get(5, TimeUnit.SECONDS);
            assertEquals(new LeaderInfo(secondTerm.key(), "b1", secondTerm.fencingToken(), b.leaseId(),
                    secondTerm.fencingToken()), l3);
            observing.cancel();
            secondTerm.resign();
            try (Leadership third = a.election(name).campaign("a3")) {
                assertEquals(null, seen.poll(300, TimeUnit.MILLISECONDS), "nothing after cancel");
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aLateObserverGetsTheCurrentLeaderAndASlowOneTheLatest() throws Exception {
        String name = "/election-test/slow-observer";
        try (Session s = client.newSession(); Leadership term = s.election(name).campaign("v0")) {
            SlowSubscriber slow = new SlowSubscriber();
            s.election(name).observe().subscribe(slow);
            slow.subscription.get(5, TimeUnit.SECONDS).request(1);
            assertEquals("v0", next(slow.seen).value(), "the current leader first");
            for (int i = 1; i <= 20; i++) {
                term.proclaim("v" + i);
            }
            Thread.sleep(300);
            assertTrue(slow.seen.isEmpty(), "nothing without demand");
            slow.subscription.join().request(1);
            assertEquals("v20", next(slow.seen).value(), "the latest, not a backlog");
            assertEquals(null, slow.seen.poll(300, TimeUnit.MILLISECONDS));
            slow.subscription.join().request(0);
            assertInstanceOf(IllegalArgumentException.class, slow.error.get(5, TimeUnit.SECONDS));
        }
        assertEquals(0, keys(name));
    }

    @Test
    void observersEndWithTheClient() throws Exception {
        try (EtcdLockClient own = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()))) {
            SlowSubscriber subscriber = new SlowSubscriber();
            own.newSession().election("/election-test/client-closed").observe().subscribe(subscriber);
            subscriber.subscription.get(5, TimeUnit.SECONDS).request(Long.MAX_VALUE);
            Thread.sleep(200);
            own.close();
            assertInstanceOf(ClientClosedException.class, subscriber.error.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void leaderAndObserveNeedNoLease() throws Exception {
        String name = "/election-test/no-lease";
        Session closed = client.newSession();
        Election election = closed.election(name);
        closed.close();
        assertThrows(ClientClosedException.class, () -> election.campaign("x"));
        try (Session s = client.newSession(); Leadership term = s.election(name).campaign("x")) {
            assertEquals(Optional.of("x"), election.leader().map(LeaderInfo::value));
            BlockingQueue<LeaderInfo> seen = new LinkedBlockingQueue<>();
            Flow.Subscription sub = election.observe(seen::add);
            assertEquals(term.fencingToken(), next(seen).fencingToken());
            sub.cancel();
        }
    }

    /** As MutexTest's: half the terms are won after waiting behind a rival, so the candidate's watch is made too. */
    @Test
    void aLongLivedSessionDoesNotPileUpWatchesOrLeaseCallbacksPerTerm() throws Exception {
        String name = "/election-test/pile-up";
        int terms = 200;
        try (Session s = client.newSession(); Session rival = client.newSession()) {
            Election election = s.election(name);
            Election rivals = rival.election(name);
            election.campaign("v").resign(); // the queue's shared etcd watch exists from here on, and lingers
            int subscriptionsBefore = Internals.subscriptions(client);
            int leaseCallbacksBefore = Internals.lease(s).done().getNumberOfDependents();
            double etcdWatchersBefore = etcdWatchers();
            for (int i = 0; i < terms; i++) {
                if (i % 2 == 0) {
                    election.campaign("v").resign();
                    continue;
                }
                Leadership theirs = rivals.campaign("r", Duration.ofSeconds(5));
                CompletableFuture<Leadership> ours = election.campaignAsync("v");
                awaitQueued(name, s);
                theirs.resign();
                ours.get(5, TimeUnit.SECONDS).resign();
            }
            assertEquals(subscriptionsBefore, Internals.subscriptions(client),
                    "watch subscriptions after " + terms + " terms");
            assertEquals(leaseCallbacksBefore, Internals.lease(s).done().getNumberOfDependents(),
                    "callbacks on the lease after " + terms + " terms");
            assertTrue(etcdWatchers() <= etcdWatchersBefore + 1, "etcd watchers: " + etcdWatchersBefore + " before, "
                    + etcdWatchers() + " after " + terms + " terms");
        }
        assertEquals(0, keys(name));
    }

    @Test
    void badInputFailsFast() {
        try (Session s = client.newSession()) {
            assertThrows(IllegalArgumentException.class, () -> s.election(""));
            assertThrows(IllegalArgumentException.class, () -> s.election("/a\0b"));
            assertThrows(NullPointerException.class, () -> s.election(null));
            Election election = s.election("/election-test/bad");
            assertThrows(NullPointerException.class, () -> election.campaign(null));
            assertThrows(IllegalArgumentException.class, () -> election.campaign("v", Duration.ZERO));
            assertThrows(NullPointerException.class, () -> election.observe((Consumer<LeaderInfo>) null));
            try (Leadership term = election.campaign("")) {
                assertEquals("", election.leader().orElseThrow().value(), "an empty value, as Go allows");
                assertThrows(NullPointerException.class, () -> term.proclaim(null));
            }
        }
        assertEquals(0, keys("/election-test/bad"));
    }

    // ---- helpers ----

    private static final class SlowSubscriber implements Flow.Subscriber<LeaderInfo> {
        final CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
        final BlockingQueue<LeaderInfo> seen = new LinkedBlockingQueue<>();
        final CompletableFuture<Throwable> error = new CompletableFuture<>();

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription.complete(s);
        }

        @Override
        public void onNext(LeaderInfo item) {
            seen.add(item);
        }

        @Override
        public void onError(Throwable throwable) {
            error.complete(throwable);
        }

        @Override
        public void onComplete() {
            error.complete(null);
        }
    }

    private static LeaderInfo next(BlockingQueue<LeaderInfo> seen) throws InterruptedException {
        LeaderInfo info = seen.poll(5, TimeUnit.SECONDS);
        assertTrue(info != null, "no leader observed within 5 s");
        return info;
    }
}
