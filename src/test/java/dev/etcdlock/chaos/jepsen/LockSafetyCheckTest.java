package dev.etcdlock.chaos.jepsen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Jepsen-style safety and liveness check: worker JVMs increment one counter under the mutex with guarded writes,
 * and take permits of a semaphore and terms of an election, while a nemesis kills and pauses etcd members, takes
 * them all down for longer than the request timeout, freezes and crashes workers, cuts, hangs and slows their
 * connections (each worker reaches etcd through a TCP proxy per member), and revokes holders' leases and deletes
 * their keys from outside. A {@link KeyAuditor} reads every key under the names twice a second meanwhile. The history
 * is then checked by {@link Checker} (no lost or phantom update, strictly increasing tokens, no more holders than
 * allowed, no write by a holder frozen past its TTL) and by {@link LivenessChecker} (no name blocked, no orphan key,
 * struck holders told at once); and nothing may be left in etcd.
 *
 * <p>Short by default (about 3 minutes, every fault at least once). The long run:
 * {@code mvn verify -Dtest=LockSafetyCheckTest -Djepsen.seconds=1800 -Dsurefire.timeout=3600}; also
 * {@code -Djepsen.workers=N}, {@code -Djepsen.seed=S} to replay a schedule and {@code -Djepsen.faults=A,B} to
 * choose the faults. The result is written to
 * {@code jepsen-result.txt} in the build directory's parent when {@code -Djepsen.report=FILE} is given.
 */
@Tag("long") // minutes of chaos: run on the newest etcd only (.ci/test)
class LockSafetyCheckTest {
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final String COUNTER = "/jepsen/counter";
    /**
     * How long the names may stay blocked, how long a key may outlive its attempt, and how soon a struck holder must
     * know, all in fault-free time. After a fault heals, whatever still blocks a name is a key whose lease etcd
     * still has but no attempt uses: its session's janitor deletes it at its next retry (backoff capped at 5 s), a
     * lease lost only in its client's view is revoked at the next try (capped at 2 s), and a crashed worker's lease
     * expires after its TTL (3 s); the waiter next in line is woken by the delete event at once. So TTL + 5 s for an
     * acquisition, 10 s for a key to go (the janitor's 5 s, a request timeout of 4 s, one more round trip), and one
     * round trip plus the LeaseTimeToLive that names the cause for a holder to know, 2 s on this loaded machine.
     */
    private static final LivenessChecker.Bounds BOUNDS = new LivenessChecker.Bounds(
            TTL.plusSeconds(5).toNanos() / 1000, 10_000_000, 2_000_000);

    @Test
    void guardedIncrementsUnderFaultsLoseNothingAndNeverOverlap(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
            throws Exception {
        long seconds = Long.getLong("jepsen.seconds", 180);
        int workerCount = Integer.getInteger("jepsen.workers", 4);
        long seed = Long.getLong("jepsen.seed", System.nanoTime());
        Random random = new Random(seed);
        System.out.println("jepsen: seed " + seed + ", " + workerCount + " workers, " + seconds + " s, TTL " + TTL);

        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            LocalEtcdCluster cluster = etcd.local();
            List<TcpProxy> proxies = new ArrayList<>();
            try (Engine admin = Engine.connect(Engine.Settings.of(cluster.clientEndpoints())
                    .withConnectTimeout(Duration.ofSeconds(20)))) {
                for (String endpoint : cluster.clientEndpoints()) {
                    proxies.add(TcpProxy.start(URI.create(endpoint)));
                }
                List<String> viaProxies = proxies.stream().map(TcpProxy::endpoint).toList();
                Nemesis nemesis;
                long lastFaultEnd;
                try (WorkerProcesses workers = new WorkerProcesses(dir, viaProxies, COUNTER, TTL);
                        KeyAuditor audit = new KeyAuditor(admin)) {
                    for (int i = 0; i < workerCount; i++) {
                        workers.start(seconds);
                    }
                    long runStart = LockWorker.now();
                    nemesis = new Nemesis(cluster, proxies, workers, admin, TTL, seconds, random);
                    nemesis.startOfRun(runStart);
                    long runEnd = runStart + seconds * 1_000_000;
                    // every fault once in a random order, then random ones; quiet gaps let the workers make progress
                    List<Nemesis.Fault> faults = faults();
                    List<Nemesis.Fault> schedule = new ArrayList<>(faults);
                    java.util.Collections.shuffle(schedule, random);
                    Nemesis.sleep(Duration.ofSeconds(5));
                    int next = 0;
                    while (LockWorker.now() < runEnd - 20_000_000) {
                        Nemesis.Fault fault = next < schedule.size() ? schedule.get(next++)
                                : faults.get(random.nextInt(faults.size()));
                        nemesis.inject(fault);
                        System.out.println("jepsen: " + nemesis.windows().get(nemesis.windows().size() - 1));
                        Nemesis.sleep(Duration.ofMillis(2_000 + random.nextInt(3_000)));
                    }
                    lastFaultEnd = nemesis.windows().get(nemesis.windows().size() - 1).endMicros();
                    List<Integer> hung = workers.awaitAll(Duration.ofSeconds(60));
                    audit.close();
                    assertEquals(List.of(), hung, "workers that did not finish on their own (logs in " + dir + ")");
                    if (seconds >= 100) {
                        assertTrue(nemesis.windows().stream().map(Nemesis.Window::fault).toList()
                                .containsAll(schedule), () -> "not every fault was injected: " + nemesis.windows());
                    }
                    assertEquals(Map.of(), workers.unexpectedExits(), "workers that exited with an error (logs in "
                            + dir + ")");
                    History history = History.read(workers.histories());
                    for (String marker : EtcdKeys.keysUnder(cluster.clientEndpoints(), COUNTER + "/ops/")) {
                        history.applied.add(marker.substring(marker.lastIndexOf('/') + 1));
                    }
                    history.markersKnown = true;
                    long counter = counter(admin);
                    Checker.Result result = Checker.check(history, counter, nemesis.pauses(),
                            TTL.toNanos() / 1000);
                    LivenessChecker.Result liveness = LivenessChecker.check(history, nemesis.windows(),
                            audit.observations(), nemesis.strikes(), runStart, runEnd - 3_000_000, BOUNDS);
                    List<String> leftovers = leftovers(admin, cluster.clientEndpoints(), history);

                    String report = report(seed, seconds, workers.histories().size(), counter, nemesis, result,
                            liveness, audit.reads(), leftovers, history);
                    System.out.println(report);
                    String reportFile = System.getProperty("jepsen.report");
                    if (reportFile != null) {
                        Files.writeString(Path.of(reportFile), report);
                    }

                    assertEquals(List.of(), result.violations(), "safety violations (seed " + seed + ")");
                    assertEquals(List.of(), liveness.violations(), "liveness violations (seed " + seed + ")");
                    assertEquals(List.of(), leftovers, "left in etcd after the run");
                    assertTrue(result.okWrites() > seconds, "too few acknowledged writes to mean anything");
                    if (lastFaultEnd + BOUNDS.acquireMicros() < runEnd - 3_000_000) {
                        assertTrue(history.okWrites().stream().anyMatch(o -> o.acquiredMicros > lastFaultEnd),
                                "no guarded write after the last fault");
                    }
                }
            } finally {
                proxies.forEach(TcpProxy::close);
            }
        }
    }

    /** All faults, or those named in {@code -Djepsen.faults=KILL_LEADER,PAUSE_WORKER}. */
    private static List<Nemesis.Fault> faults() {
        String names = System.getProperty("jepsen.faults", "");
        return names.isBlank() ? List.of(Nemesis.Fault.values())
                : Arrays.stream(names.split(",")).map(String::trim).map(Nemesis.Fault::valueOf).toList();
    }

    private static long counter(Engine admin) throws Exception {
        RangeResponse r = admin.kv().range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(COUNTER)).build())
                .get(10, TimeUnit.SECONDS);
        return r.getKvsCount() == 0 ? 0 : Long.parseLong(r.getKvs(0).getValue().toStringUtf8());
    }

    /** Lock keys and leases of the workers still in etcd once every lease has had its TTL to expire. */
    private static List<String> leftovers(Engine admin, List<String> endpoints, History history) throws Exception {
        long deadline = System.nanoTime() + TTL.plusSeconds(5).toNanos();
        List<String> left;
        do {
            left = new ArrayList<>();
            for (Workload w : Workload.values()) {
                left.addAll(EtcdKeys.keysUnder(endpoints, w.prefix + "/"));
            }
            for (long lease : history.leases) {
                long ttl = admin.transport().call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                        LeaseTimeToLiveRequest.newBuilder().setID(lease).build(), true).get(10, TimeUnit.SECONDS)
                        .getTTL();
                if (ttl != -1) {
                    left.add("lease " + Long.toHexString(lease) + " (TTL " + ttl + " s)");
                }
            }
            if (left.isEmpty()) {
                return left;
            }
            Nemesis.sleep(Duration.ofMillis(500));
        } while (System.nanoTime() < deadline);
        return left;
    }

    private static String report(long seed, long seconds, int workers, long counter, Nemesis nemesis,
            Checker.Result result, LivenessChecker.Result liveness, int auditReads, List<String> leftovers,
            History history) {
        Map<Nemesis.Fault, Long> faults = new EnumMap<>(Nemesis.Fault.class);
        nemesis.windows().forEach(w -> faults.merge(w.fault(), 1L, Long::sum));
        // acknowledged writes while each kind of fault was on: progress under that fault
        Map<Nemesis.Fault, Long> okDuring = new EnumMap<>(Nemesis.Fault.class);
        for (Nemesis.Window w : nemesis.windows()) {
            long n = history.okWrites().stream()
                    .filter(o -> o.sentMicros >= w.startMicros() && o.sentMicros <= w.endMicros()).count();
            okDuring.merge(w.fault(), n, Long::sum);
        }
        return "jepsen result: seed " + seed + ", " + seconds + " s, " + workers + " worker processes, TTL "
                + TTL.toSeconds() + " s\n"
                + "  final counter " + counter + "; " + result.summary() + "\n"
                + "  faults injected " + nemesis.windows().size() + ": " + faults + "\n"
                + "  acknowledged writes during each kind of fault: " + okDuring + "\n"
                + "  acquisitions per workload: " + perWorkload(history) + "\n"
                + "  liveness (" + auditReads + " audit reads): " + liveness.summary() + "\n"
                + "  left in etcd: " + leftovers + "\n"
                + (result.violations().isEmpty() ? "" : "  VIOLATIONS:\n    "
                        + result.violations().stream().limit(20).collect(Collectors.joining("\n    ")) + "\n")
                + (liveness.violations().isEmpty() ? "" : "  LIVENESS VIOLATIONS:\n    "
                        + liveness.violations().stream().limit(20).collect(Collectors.joining("\n    ")) + "\n");
    }

    private static Map<Workload, Long> perWorkload(History history) {
        Map<Workload, Long> counts = new EnumMap<>(Workload.class);
        for (Workload w : Workload.values()) {
            counts.put(w, history.of(w).stream().filter(History.Op::acquired).count());
        }
        return counts;
    }
}
