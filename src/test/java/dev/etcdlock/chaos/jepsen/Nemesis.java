package dev.etcdlock.chaos.jepsen;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The faults of the safety check, one at a time (or two together for {@link Fault#PAUSE_WORKER_DURING_LEADER_KILL}),
 * each recorded with its time window so that the checker knows which pauses had the cluster to themselves.
 */
final class Nemesis {
    enum Fault {
        KILL_LEADER, KILL_MEMBER, PAUSE_MEMBER, PAUSE_WORKER, PAUSE_HOLDER, CRASH_WORKER, PROXY_HANG, PROXY_DROP,
        PROXY_DELAY,
        COMPACT_WHILE_WAITING, QUORUM_LOSS, RESTART_CLUSTER, PAUSE_WORKER_DURING_LEADER_KILL,
        /** Every member down for 5 to 15 s: longer than the workers' request timeout (4 s) and their TTL. */
        ALL_DOWN,
        /** A holder's lease revoked from outside (an admin's {@code etcdctl lease revoke}). */
        REVOKE_HOLDER_LEASE,
        /** A holder's key deleted from outside ({@code etcdctl del}). */
        DELETE_HOLDER_KEY;

        /** Whether the fault touches etcd or the network, which can stretch or renew leases. */
        boolean touchesCluster() {
            return this != PAUSE_WORKER && this != PAUSE_HOLDER && this != CRASH_WORKER
                    && this != REVOKE_HOLDER_LEASE && this != DELETE_HOLDER_KEY;
        }
    }

    /** A holder struck from outside at {@code micros} (just before the revoke or delete was sent). */
    record Strike(int worker, Workload workload, long op, Fault fault, String key, long micros) {
    }

    record Window(Fault fault, String target, long startMicros, long endMicros) {
        @Override
        public String toString() {
            return fault + "(" + target + ") " + (endMicros - startMicros) / 1000 + " ms";
        }
    }

    private final LocalEtcdCluster cluster;
    private final List<TcpProxy> proxies;
    private final WorkerProcesses workers;
    private final Engine admin;
    private final Duration ttl;
    private final long workerSeconds;
    private final Random random;
    private final List<Window> windows = new ArrayList<>();
    private final List<Checker.Pause> pauses = new ArrayList<>();
    private final List<Strike> strikes = new ArrayList<>();

    Nemesis(LocalEtcdCluster cluster, List<TcpProxy> proxies, WorkerProcesses workers, Engine admin, Duration ttl,
            long workerSeconds, Random random) {
        this.cluster = cluster;
        this.proxies = proxies;
        this.workers = workers;
        this.admin = admin;
        this.ttl = ttl;
        this.workerSeconds = workerSeconds;
        this.random = random;
    }

    List<Window> windows() {
        return windows;
    }

    List<Strike> strikes() {
        return strikes;
    }

    List<Checker.Pause> pauses() {
        List<Checker.Pause> result = new ArrayList<>();
        for (Checker.Pause p : pauses) {
            boolean overlapped = windows.stream().anyMatch(w -> w.fault().touchesCluster()
                    && w.startMicros() < p.endMicros() && w.endMicros() > p.startMicros());
            result.add(new Checker.Pause(p.worker(), p.startMicros(), p.endMicros(), p.quiet() && !overlapped));
        }
        return result;
    }

    void inject(Fault fault) throws Exception {
        long start = LockWorker.now();
        String target = switch (fault) {
            case KILL_LEADER -> killAndRestart(leader());
            case KILL_MEMBER -> killAndRestart(random.nextInt(cluster.size()));
            case PAUSE_MEMBER -> {
                int m = random.nextInt(cluster.size());
                cluster.pause(m);
                sleep(Duration.ofSeconds(4));
                cluster.resume(m);
                yield "member " + m;
            }
            case PAUSE_WORKER -> pauseWorker();
            case PAUSE_HOLDER -> pauseHolder();
            case CRASH_WORKER -> {
                List<Integer> alive = workers.alive();
                int w = alive.get(random.nextInt(alive.size()));
                workers.kill(w);
                long left = workerSeconds - (LockWorker.now() - startOfRun) / 1_000_000;
                int replacement = workers.start(Math.max(5, left));
                yield "worker " + w + ", replaced by " + replacement;
            }
            case PROXY_HANG -> {
                int m = random.nextInt(proxies.size());
                proxies.get(m).hang();
                sleep(Duration.ofSeconds(4));
                proxies.get(m).pass();
                yield "member " + m;
            }
            case PROXY_DROP -> {
                for (int i = 0; i < 5; i++) {
                    proxies.forEach(TcpProxy::drop);
                    sleep(Duration.ofMillis(300 + random.nextInt(400)));
                }
                yield "all, 5 times";
            }
            case PROXY_DELAY -> {
                Duration d = Duration.ofMillis(20 + random.nextInt(150));
                proxies.forEach(p -> p.delay(d));
                sleep(Duration.ofSeconds(5));
                proxies.forEach(TcpProxy::pass);
                yield d.toMillis() + " ms";
            }
            case COMPACT_WHILE_WAITING -> {
                // freeze one member's traffic so that the waiters watching through it fall behind, compact past
                // what they have seen, then cut their streams: they must resume from a compacted revision
                int m = random.nextInt(proxies.size());
                proxies.get(m).hang();
                sleep(Duration.ofSeconds(2));
                long revision = admin.kv().range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/"))
                        .setCountOnly(true).build()).get(10, TimeUnit.SECONDS).getHeader().getRevision();
                admin.kv().compact(revision).get(10, TimeUnit.SECONDS);
                proxies.get(m).drop();
                proxies.get(m).pass();
                yield "member " + m + " at revision " + revision;
            }
            case QUORUM_LOSS -> {
                // two of three down: etcd refuses everything; leases cannot be kept alive meanwhile
                int survivor = random.nextInt(cluster.size());
                List<Integer> down = new ArrayList<>();
                for (int i = 0; i < cluster.size(); i++) {
                    if (i != survivor) {
                        cluster.kill(i);
                        down.add(i);
                    }
                }
                sleep(Duration.ofSeconds(3));
                restart(down);
                yield "members " + down;
            }
            case RESTART_CLUSTER -> {
                List<Integer> all = new ArrayList<>();
                for (int i = 0; i < cluster.size(); i++) {
                    cluster.kill(i);
                    all.add(i);
                }
                sleep(Duration.ofSeconds(2));
                restart(all);
                yield "all members";
            }
            case PAUSE_WORKER_DURING_LEADER_KILL -> {
                CompletableFuture<String> pause = CompletableFuture.supplyAsync(this::pauseWorker);
                String killed = killAndRestart(leader());
                yield pause.get() + " + " + killed;
            }
            case ALL_DOWN -> {
                List<Integer> all = new ArrayList<>();
                for (int i = 0; i < cluster.size(); i++) {
                    cluster.kill(i);
                    all.add(i);
                }
                Duration outage = Duration.ofMillis(5_000 + random.nextInt(10_001));
                sleep(outage);
                restart(all);
                yield "all members for " + outage.toMillis() + " ms";
            }
            case REVOKE_HOLDER_LEASE, DELETE_HOLDER_KEY -> strikeHolder(fault);
        };
        windows.add(new Window(fault, target, start, LockWorker.now()));
    }

    private long startOfRun = LockWorker.now();

    void startOfRun(long micros) {
        startOfRun = micros;
    }

    private String pauseWorker() {
        List<Integer> alive = workers.alive();
        int w = alive.get(random.nextInt(alive.size()));
        double elections = leaderChanges();
        long start = LockWorker.now();
        workers.pause(w);
        try {
            sleep(ttl.plusSeconds(3));
        } finally {
            workers.resume(w); // never leave a worker frozen, whatever happens here
        }
        pauses.add(new Checker.Pause(w, start, LockWorker.now(), leaderChanges() == elections));
        return "worker " + w;
    }

    /**
     * Leader changes seen by the members, summed. A new leader renews every lease (etcd's lessor Promote), so a
     * holder frozen past its TTL may rightly keep its lock across an election, even one nobody injected.
     */
    private double leaderChanges() {
        double sum = 0;
        for (int i = 0; i < cluster.size(); i++) {
            if (cluster.isRunning(i)) {
                try {
                    sum += EtcdMetrics.read(cluster.metricsUri(i), "etcd_server_leader_changes_seen_total");
                } catch (RuntimeException unreadable) {
                    return Double.NaN; // NaN equals nothing: the pause counts as not quiet
                }
            }
        }
        return sum;
    }

    /** Freezes a worker right after it acquired the lock, for longer than its TTL: the Jepsen scenario. */
    private String pauseHolder() {
        List<Integer> alive = workers.alive();
        int w = alive.get(random.nextInt(alive.size()));
        if (!workers.freezeWhileHolding(w, Duration.ofSeconds(15))) {
            return "worker " + w + " (did not get the lock in 15 s; not frozen)";
        }
        long start = LockWorker.now();
        double elections;
        try {
            elections = leaderChanges();
            sleep(ttl.plusSeconds(3));
        } finally {
            workers.resume(w); // never leave a worker frozen, whatever happens here
        }
        pauses.add(new Checker.Pause(w, start, LockWorker.now(), leaderChanges() == elections));
        return "worker " + w + " holding";
    }

    /**
     * Asks a worker to hold on to its next hold of a random workload until it hears of the loss, then revokes that
     * hold's lease or deletes its key from outside; the checker wants the loss reported within a bound.
     */
    private String strikeHolder(Fault fault) throws Exception {
        Workload workload = Workload.values()[random.nextInt(Workload.values().length)];
        List<Integer> alive = workers.alive();
        int w = alive.get(random.nextInt(alive.size()));
        String holding = workers.holdUntilLost(w, workload, Duration.ofSeconds(15)).orElse(null);
        if (holding == null) {
            return workload.tag() + " worker " + w + " (did not hold in 15 s; not struck)";
        }
        long op = Long.parseLong(holding.substring(0, holding.indexOf(' ')));
        String key = holding.substring(holding.indexOf(' ') + 1);
        ByteString k = ByteString.copyFromUtf8(key);
        if (fault == Fault.REVOKE_HOLDER_LEASE) {
            List<KeyValue> kvs = admin.kv().range(RangeRequest.newBuilder().setKey(k).build())
                    .get(10, TimeUnit.SECONDS).getKvsList();
            if (kvs.isEmpty()) {
                return workload.tag() + " worker " + w + " (its key " + key + " was gone already; not struck)";
            }
            long lease = kvs.get(0).getLease();
            long micros = LockWorker.now();
            admin.transport().call(LeaseGrpc.getLeaseRevokeMethod(), LeaseRevokeRequest.newBuilder().setID(lease)
                    .build(), true).get(10, TimeUnit.SECONDS);
            strikes.add(new Strike(w, workload, op, fault, key, micros));
        } else {
            long micros = LockWorker.now();
            long deleted = admin.kv().delete(DeleteRangeRequest.newBuilder().setKey(k).build())
                    .get(10, TimeUnit.SECONDS).getDeleted();
            if (deleted == 0) {
                return workload.tag() + " worker " + w + " (its key " + key + " was gone already; not struck)";
            }
            strikes.add(new Strike(w, workload, op, fault, key, micros));
        }
        // the window ends here: the struck key is gone, so the name is free at once, and the holder's report is
        // checked against the strike's own time, not the window
        return workload.tag() + " worker " + w + " " + key;
    }

    private int leader() {
        return EtcdTestCluster.awaitLeader(cluster, Duration.ofSeconds(15));
    }

    private String killAndRestart(int member) {
        cluster.kill(member);
        sleep(Duration.ofSeconds(3));
        restart(List.of(member));
        return "member " + member;
    }

    /** Restarts members together, once more if they did not come up in time (a loaded machine, not a finding). */
    private void restart(List<Integer> members) {
        try {
            cluster.restartAll(members);
        } catch (RuntimeException slow) {
            System.out.println("jepsen: restart of members " + members + " failed (" + slow.getMessage()
                    + "), trying again");
            cluster.restartAll(members);
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
