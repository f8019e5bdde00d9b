package dev.etcdlock.benchmarks;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.Leadership;
import dev.etcdlock.internal.proto.RangeRequest;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Leader election: etcd-lock's {@code Election} next to jetcd 0.8.5's {@code Election} client (etcd's server-side
 * election service, which runs Go's {@code concurrency.Election} inside etcd), in the same run against the same etcd.
 * {@code @Param impl} is {@code etcdlock} or {@code jetcd}.
 * <ul>
 *   <li>{@code electionCycle}: one candidate, one session (lease) reused, {@code campaign} + {@code resign} of one
 *       election by the JMH thread with nobody else campaigning: the uncontended term rate (throughput in
 *       cycles/ms, and sample time for p50/p99).</li>
 *   <li>{@code electionFailover}: two candidates, each its own client and session: one leads, the other waits in
 *       its campaign. Each operation ends the leader's term and returns once the waiting candidate's campaign has
 *       returned: {@code how=resign}, the leader resigns (the time includes its resign round trip); {@code
 *       how=revoke}, its lease is revoked from a third connection, as when a crashed leader's lease expires (the
 *       time starts as the revoke is sent). Between operations, outside the timing, the old leader campaigns again
 *       (with a new session after a revoke) and the next operation starts once its key is in etcd. Sample time, so
 *       p50/p99 of the failover.</li>
 * </ul>
 *
 * <pre>
 * benchmarks/run --quick 'ElectionBenchmarks'
 * benchmarks/run --quick 'ElectionBenchmarks.electionFailover' -p how=revoke
 * </pre>
 */
public class ElectionBenchmarks {

    /** An election client as the benchmarks use it. */
    public enum Impl {
        etcdlock {
            @Override
            Candidates connect(List<String> endpoints, String name) {
                return new OursCandidates(endpoints, name);
            }
        },
        jetcd {
            @Override
            Candidates connect(List<String> endpoints, String name) {
                return new JetcdCandidates(endpoints, name);
            }
        };

        abstract Candidates connect(List<String> endpoints, String name);
    }

    /** One client; {@link #candidate()} opens a session (lease) on it. */
    interface Candidates extends AutoCloseable {
        Candidate candidate();

        @Override
        void close();
    }

    /** One session campaigning in the election. */
    interface Candidate extends AutoCloseable {
        long leaseId();

        /** Returns once elected; the returned action resigns. */
        Runnable campaign(String value);

        /** Completes once elected; the returned action resigns. */
        CompletableFuture<Runnable> campaignAsync(String value);

        @Override
        void close();
    }

    // ------------------------------------------------------------------ cycle

    @State(Scope.Benchmark)
    public static class CycleState {
        @Param({"etcdlock", "jetcd"})
        public Impl impl;

        Candidates client;
        Candidate candidate;

        @Setup(Level.Trial)
        public void setUp() {
            client = impl.connect(Endpoints.require(), LockBenchmarks.uniquePrefix("electionCycle") + "/leader");
            candidate = client.candidate();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            candidate.close();
            client.close();
        }
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void electionCycle(CycleState s) {
        s.candidate.campaign("me").run();
    }

    // ------------------------------------------------------------------ failover

    @State(Scope.Benchmark)
    public static class FailoverState {
        @Param({"etcdlock", "jetcd"})
        public Impl impl;

        @Param({"resign", "revoke"})
        public String how;

        final Candidates[] clients = new Candidates[2];
        final Candidate[] sessions = new Candidate[2];
        RawEtcd admin;
        ByteString prefix;
        int leader;
        Runnable resign;
        CompletableFuture<Runnable> waiting;

        @Setup(Level.Trial)
        public void setUp() {
            String name = LockBenchmarks.uniquePrefix("electionFailover") + "/leader";
            prefix = ByteString.copyFromUtf8(name + "/");
            admin = new RawEtcd(Endpoints.require().get(0));
            for (int i = 0; i < 2; i++) {
                clients[i] = impl.connect(Endpoints.require(), name);
                sessions[i] = clients[i].candidate();
            }
            resign = sessions[0].campaign("0");
            leader = 0;
        }

        /** The other candidate waits in its campaign, its key in etcd, before the leader's term ends. */
        @Setup(Level.Invocation)
        public void enqueueCandidate() {
            int other = 1 - leader;
            if (sessions[other] == null) {
                sessions[other] = clients[other].candidate(); // its last lease was revoked
            }
            waiting = sessions[other].campaignAsync(Integer.toString(other));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (keys() < 2) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the candidate did not enqueue within 10 s");
                }
                Thread.onSpinWait();
            }
            try {
                Thread.sleep(5); // and its wait has begun (its watch, or etcd's for jetcd), as in a real failover
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** The elected candidate leads the next operation. */
        @TearDown(Level.Invocation)
        public void swap() {
            if (how.equals("revoke")) {
                sessions[leader].close(); // the lease is gone already; stops the keep-alive
                sessions[leader] = null;
            }
            leader = 1 - leader;
            resign = waiting.join();
        }

        void endTerm() {
            if (how.equals("resign")) {
                resign.run();
            } else {
                admin.revokeLease(sessions[leader].leaseId());
            }
        }

        long keys() {
            return admin.kv.range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(RawEtcd.prefixEnd(prefix))
                    .setCountOnly(true).build()).getCount();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (int i = 0; i < 2; i++) {
                if (sessions[i] != null) {
                    sessions[i].close();
                }
                clients[i].close();
            }
            admin.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Runnable electionFailover(FailoverState s) {
        s.endTerm();
        return s.waiting.join();
    }

    // ------------------------------------------------------------------ the two clients

    /**
     * etcd-lock: {@code session.election(name).campaign(value)} (the waiting candidate: {@code campaignAsync}),
     * {@code Leadership.close()}, which resigns.
     */
    static final class OursCandidates implements Candidates {
        private final EtcdLockClient client;
        private final String name;

        OursCandidates(List<String> endpoints, String name) {
            this.client = EtcdLockClient.builder().endpoints(endpoints).build();
            this.name = name;
        }

        @Override
        public Candidate candidate() {
            dev.etcdlock.Session session = client.newSession(Duration.ofSeconds(60));
            dev.etcdlock.Election election = session.election(name);
            return new Candidate() {
                @Override
                public long leaseId() {
                    return session.leaseId();
                }

                @Override
                public Runnable campaign(String value) {
                    return election.campaign(value)::close;
                }

                @Override
                public CompletableFuture<Runnable> campaignAsync(String value) {
                    return election.campaignAsync(value).thenApply(term -> term::close);
                }

                @Override
                public void close() {
                    session.close();
                }
            };
        }

        @Override
        public void close() {
            client.close();
        }
    }

    /**
     * jetcd: a lease from {@code getLeaseClient().grant(60)} kept alive with {@code keepAlive(id, observer)},
     * {@code getElectionClient().campaign(name, leaseId, value)} and {@code resign(leaderKey)}.
     */
    static final class JetcdCandidates implements Candidates {
        private final Client client;
        private final ByteSequence name;

        JetcdCandidates(List<String> endpoints, String name) {
            this.client = Client.builder().endpoints(endpoints.toArray(String[]::new)).build();
            this.name = ByteSequence.from(name, StandardCharsets.UTF_8);
        }

        @Override
        public Candidate candidate() {
            long leaseId = JetcdFacade.join(client.getLeaseClient().grant(60)).getID();
            CloseableClient keepAlive = client.getLeaseClient().keepAlive(leaseId, new StreamObserver<>() {
                @Override
                public void onNext(LeaseKeepAliveResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
            return new Candidate() {
                @Override
                public long leaseId() {
                    return leaseId;
                }

                @Override
                public Runnable campaign(String value) {
                    return JetcdFacade.join(campaignAsync(value));
                }

                @Override
                public CompletableFuture<Runnable> campaignAsync(String value) {
                    return client.getElectionClient()
                            .campaign(name, leaseId, ByteSequence.from(value, StandardCharsets.UTF_8))
                            .thenApply(r -> {
                                LeaderKey key = r.getLeader();
                                return () -> JetcdFacade.join(client.getElectionClient().resign(key));
                            });
                }

                @Override
                public void close() {
                    keepAlive.close();
                    try {
                        JetcdFacade.join(client.getLeaseClient().revoke(leaseId));
                    } catch (IllegalStateException gone) {
                        // revoked already (how=revoke)
                    }
                }
            };
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
