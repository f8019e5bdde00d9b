package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LeaderInfo;
import dev.etcdlock.Leadership;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;

/**
 * Five candidates, each its own client reaching each member of a 3-member cluster through its own {@link TcpProxy},
 * campaign again and again while etcd's leader is killed and restarted. Each term ends one of three ways: a resign;
 * a crash simulated by revoking the leader's lease from outside; or a leader cut off from etcd (its proxies hang)
 * until its lease expires. Every candidate records, on one monotonic clock, when it learned it was elected (with the
 * term's fencing token) and when it stopped being leader (its resign, the crash, or when it was told of the loss).
 * Two observers follow the election on their own clients.
 *
 * <p>Required: no two terms overlap (the next term's election is learned after the previous leader stopped), tokens
 * grow with the order of the terms, every deposed leader is told (a crashed one within 2 s, a cut-off one before
 * its successor is elected), observers see leaders with never decreasing tokens, and nothing is left in etcd.
 */
class ElectionFailoverTest {
    private static final String NAME = "/chaos/election/failover";
    private static final int CANDIDATES = 5;
    /** Outlasts an etcd leader election (see ClusterFailoverTest). */
    private static final Duration TTL = Duration.ofSeconds(5);
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong("election.seconds", 40));

    enum End { RESIGNED, CRASHED, CUT_OFF }

    /** One term as a candidate saw it; times on System.nanoTime. */
    record Term(int candidate, long token, long leaseId, long electedAt, long endedAt, End how, String toldHow) {
    }

    record Seen(LeaderInfo leader, long at) {
    }

    @Test
    void fiveCandidatesNeverHaveTwoLeadersAcrossLeaderKillsCrashesAndExpiry() throws Exception {
        List<Term> terms = Collections.synchronizedList(new ArrayList<>());
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        Set<Long> leases = ConcurrentHashMap.newKeySet();
        AtomicInteger termCount = new AtomicInteger();
        AtomicInteger failedCampaigns = new AtomicInteger();
        AtomicInteger leaderKills = new AtomicInteger();
        List<TcpProxy> proxies = new ArrayList<>();
        List<EtcdLockClient> clients = new ArrayList<>();
        ExecutorService pool = Executors.newCachedThreadPool();
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            LocalEtcdCluster cluster = etcd.local();
            List<String> endpoints = etcd.clientEndpoints();
            try (Engine admin = Engine.connect(Engine.Settings.of(endpoints))) {
                List<List<Seen>> observed = new ArrayList<>();
                List<Flow.Subscription> observations = new ArrayList<>();
                for (int o = 0; o < 2; o++) {
                    EtcdLockClient c = EtcdLockClient.connect(String.join(",", endpoints));
                    clients.add(c);
                    List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
                    observed.add(seen);
                    observations.add(c.newSession().election(NAME)
                            .observe(l -> seen.add(new Seen(l, System.nanoTime()))));
                }
                long stopAt = System.nanoTime() + RUN_NANOS;
                List<Future<?>> candidates = new ArrayList<>();
                for (int i = 0; i < CANDIDATES; i++) {
                    List<TcpProxy> own = new ArrayList<>();
                    for (String endpoint : endpoints) {
                        own.add(TcpProxy.start(URI.create(endpoint)));
                    }
                    proxies.addAll(own);
                    EtcdLockClient c = EtcdLockClient.builder()
                            .endpoints(own.stream().map(TcpProxy::endpoint).toList()).build();
                    clients.add(c);
                    int id = i;
                    candidates.add(pool.submit(() -> {
                        candidate(id, c, own, admin, endpoints, stopAt, terms, problems, leases, termCount,
                                failedCampaigns);
                        return null;
                    }));
                }
                AtomicBoolean running = new AtomicBoolean(true);
                Future<?> nemesis = pool.submit(() -> {
                    while (running.get()) {
                        sleep(4_000 + (long) (Math.random() * 2_000));
                        int leader = cluster.leaderIndex();
                        if (leader < 0 || !running.get()) {
                            continue;
                        }
                        cluster.kill(leader);
                        leaderKills.incrementAndGet();
                        sleep(1_500);
                        try {
                            cluster.restart(leader);
                        } catch (RuntimeException slowStart) { // a loaded machine: one more try
                            cluster.restart(leader);
                        }
                    }
                    return null;
                });
                for (Future<?> f : candidates) {
                    f.get(RUN_NANOS / 1_000_000_000L + 120, TimeUnit.SECONDS);
                }
                running.set(false);
                nemesis.get(60, TimeUnit.SECONDS);
                Thread.sleep(500);
                observations.forEach(Flow.Subscription::cancel);

                report(terms, observed, failedCampaigns.get(), leaderKills.get());
                assertEquals(List.of(), problems, "candidates' own checks");
                checkNoOverlap(terms);
                checkObservers(observed, terms, leases);
                Set<End> ends = new HashSet<>();
                terms.forEach(t -> ends.add(t.how()));
                assertEquals(Set.of(End.values()), ends, "every way a term ends was exercised");
                assertTrue(leaderKills.get() >= 3, leaderKills + " etcd leader kills");
            }
            for (EtcdLockClient c : clients) {
                c.close();
            }
            long deadline = System.nanoTime() + TTL.toNanos() * 3;
            while (EtcdKeys.count(endpoints, NAME + "/") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100); // a cut-off candidate's lease, renewed by a leader change, ends with its TTL
            }
            assertEquals(List.of(), EtcdKeys.keysUnder(endpoints, NAME + "/"), "keys left");
        } finally {
            pool.shutdownNow();
            clients.forEach(EtcdLockClient::close);
            proxies.forEach(TcpProxy::close);
        }
    }

    private static void candidate(int id, EtcdLockClient client, List<TcpProxy> own, Engine admin,
            List<String> endpoints, long stopAt, List<Term> terms, List<String> problems, Set<Long> leases,
            AtomicInteger termCount, AtomicInteger failedCampaigns) throws Exception {
        for (int round = 0; System.nanoTime() < stopAt; round++) {
            Session session;
            try {
                session = client.newSession(TTL);
            } catch (EtcdLockException e) {
                failedCampaigns.incrementAndGet(); // etcd had no leader just then
                sleep(200);
                continue;
            }
            leases.add(session.leaseId());
            try {
                Leadership term;
                try {
                    term = session.election(NAME).campaign("c" + id + "-r" + round, Duration.ofSeconds(20));
                } catch (EtcdLockException e) { // timed out, lease lost in an outage, etcd unreachable
                    failedCampaigns.incrementAndGet();
                    System.out.println("candidate " + id + ": campaign failed: " + e);
                    continue;
                }
                long electedAt = System.nanoTime();
                AtomicLong toldAt = new AtomicLong();
                term.lost().whenComplete((v, t) -> toldAt.compareAndSet(0, System.nanoTime()));
                End how = switch (termCount.getAndIncrement() % 6) {
                    case 2 -> End.CRASHED;
                    case 5 -> End.CUT_OFF; // the rarest: nobody is elected until etcd expires the lease
                    default -> End.RESIGNED;
                };
                long endedAt;
                String told;
                switch (how) {
                    case RESIGNED -> {
                        sleep(100 + (long) (Math.random() * 300));
                        try {
                            term.proclaim("c" + id + "-r" + round + "-proclaimed");
                        } catch (EtcdLockException e) {
                            // lost meanwhile (a leader kill outlasting the lease's proven validity) or etcd down
                        }
                        endedAt = System.nanoTime();
                        try {
                            term.resign();
                            told = "resigned";
                        } catch (EtcdLockException e) {
                            told = "resign failed: " + e;
                        }
                        if (toldAt.get() != 0) {
                            endedAt = Math.min(endedAt, toldAt.get());
                        }
                    }
                    case CRASHED -> {
                        sleep(100);
                        endedAt = System.nanoTime(); // the process "dies": it acts as leader no more
                        admin.transport().call(LeaseGrpc.getLeaseRevokeMethod(),
                                LeaseRevokeRequest.newBuilder().setID(session.leaseId()).build(), true).join();
                        try {
                            term.lost().get(2, TimeUnit.SECONDS);
                            problems.add("candidate " + id + " token " + term.fencingToken()
                                    + ": lost() completed normally after a revoke");
                        } catch (java.util.concurrent.ExecutionException e) {
                            // told
                        } catch (java.util.concurrent.TimeoutException e) {
                            problems.add("candidate " + id + " token " + term.fencingToken()
                                    + ": not told within 2 s that its lease was revoked");
                        }
                        told = "told " + ms(toldAt.get() - endedAt) + " ms after the revoke";
                    }
                    default -> {
                        sleep(100);
                        own.forEach(TcpProxy::hang);
                        long hungAt = System.nanoTime();
                        try {
                            term.lost().get(TTL.toMillis() * 3, TimeUnit.MILLISECONDS);
                            problems.add("candidate " + id + ": lost() completed normally when cut off");
                        } catch (java.util.concurrent.ExecutionException e) {
                            // told
                        } catch (java.util.concurrent.TimeoutException e) {
                            problems.add("candidate " + id + ": cut off for " + TTL.multipliedBy(3)
                                    + " and not told");
                        }
                        endedAt = toldAt.get() != 0 ? toldAt.get() : System.nanoTime();
                        told = "told " + ms(endedAt - hungAt) + " ms after being cut off";
                        if (term.isHeld()) {
                            problems.add("candidate " + id + ": isHeld() after the loss was told");
                        }
                        // let etcd expire the lease before the held bytes (late keep-alives) go out
                        long deadline = System.nanoTime() + TTL.toNanos() * 3;
                        while (EtcdKeys.keysUnder(endpoints, NAME + "/").contains(term.key())
                                && System.nanoTime() < deadline) {
                            sleep(100);
                        }
                        own.forEach(TcpProxy::pass);
                    }
                }
                terms.add(new Term(id, term.fencingToken(), session.leaseId(), electedAt, endedAt, how, told));
                term.close();
            } finally {
                try {
                    session.close();
                } catch (EtcdLockException e) {
                    // etcd unreachable: the lease ends with its TTL
                }
            }
        }
    }

    /** Sorted by election time, each term begins after the one before ended, with a larger token. */
    private static void checkNoOverlap(List<Term> terms) {
        List<Term> byElection = new ArrayList<>(terms);
        byElection.sort(Comparator.comparingLong(Term::electedAt));
        for (int i = 1; i < byElection.size(); i++) {
            Term prev = byElection.get(i - 1);
            Term next = byElection.get(i);
            assertTrue(next.token() > prev.token(), "tokens must grow with the order of terms: " + prev + " then "
                    + next);
            assertTrue(next.electedAt() >= prev.endedAt(), "two leaders at once for "
                    + ms(prev.endedAt() - next.electedAt()) + " ms: " + prev + " and " + next);
        }
    }

    /** Never a smaller token after a larger one; only the candidates' keys; most terms seen. */
    private static void checkObservers(List<List<Seen>> observed, List<Term> terms, Set<Long> leases) {
        Set<Long> tokens = new HashSet<>();
        terms.forEach(t -> tokens.add(t.token()));
        for (List<Seen> seen : observed) {
            Set<Long> seenTokens = new HashSet<>();
            for (int i = 1; i < seen.size(); i++) {
                LeaderInfo prev = seen.get(i - 1).leader();
                LeaderInfo next = seen.get(i).leader();
                assertTrue(next.fencingToken() > prev.fencingToken() || next.fencingToken() == prev.fencingToken()
                        && next.revision() > prev.revision(), "observed out of order: " + prev + " then " + next);
            }
            for (Seen s : seen) {
                assertTrue(leases.contains(s.leader().leaseId()), "a leader that no candidate was: " + s);
                seenTokens.add(s.leader().fencingToken());
            }
            seenTokens.retainAll(tokens);
            assertTrue(seenTokens.size() * 2 >= tokens.size(), "observer saw " + seenTokens.size() + " of "
                    + tokens.size() + " terms");
        }
    }

    private static void report(List<Term> terms, List<List<Seen>> observed, int failedCampaigns, int kills) {
        List<Term> byElection = new ArrayList<>(terms);
        byElection.sort(Comparator.comparingLong(Term::electedAt));
        long minGap = Long.MAX_VALUE;
        for (int i = 1; i < byElection.size(); i++) {
            minGap = Math.min(minGap, byElection.get(i).electedAt() - byElection.get(i - 1).endedAt());
        }
        System.out.printf("%d terms (%d resigned, %d crashed, %d cut off), %d etcd leader kills, %d campaigns failed "
                        + "or timed out; observers saw %d and %d leader changes; smallest gap between terms %.1f ms%n",
                terms.size(), terms.stream().filter(t -> t.how() == End.RESIGNED).count(),
                terms.stream().filter(t -> t.how() == End.CRASHED).count(),
                terms.stream().filter(t -> t.how() == End.CUT_OFF).count(), kills, failedCampaigns,
                observed.get(0).size(), observed.get(1).size(), minGap / 1e6);
        for (Term t : byElection) {
            if (t.how() != End.RESIGNED) {
                System.out.println("  " + t.how() + " token " + t.token() + ": " + t.toldHow());
            }
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
