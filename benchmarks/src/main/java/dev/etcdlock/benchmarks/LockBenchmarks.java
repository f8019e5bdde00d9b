package dev.etcdlock.benchmarks;

import com.google.protobuf.ByteString;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Lock latency and contention throughput of etcd-lock, next to jetcd 0.8.5 and the raw etcd floor, against one
 * etcd. The names are stable (tools parse the JSON): {@code floor}, {@code floorHandoff}, {@code uncontended},
 * {@code contended}, {@code independent}, {@code holdMany}; {@code @Param impl} is {@code etcdlock} or
 * {@code jetcd} ({@link LockClient.Impl}). etcd comes from {@code ETCD_ENDPOINTS} / {@code -Detcd.endpoints};
 * every trial works under its own key prefix. Each benchmark's JMH thread is the only JMH thread (1 thread).
 *
 * <h2>What each measures</h2>
 * <ul>
 *   <li>{@code floor}: one raw gRPC client (etcd's generated stubs, bare channel, see {@link RawEtcd}) doing the
 *       writes of an uncontended lock cycle and nothing else: {@code Txn(If create_revision(k) == 0 Then Put(k,
 *       lease))}, then {@code DeleteRange(k)}. Throughput (cycles/ms) and sample time (p50/p99).</li>
 *   <li>{@code floorHandoff}: two raw clients ping-ponging deletes through watches, each hop one Txn and one watch
 *       event ({@link PingPong}); the score is hops per second, the best any lock handoff through etcd can do.</li>
 *   <li>{@code uncontended}: one client, one session reused, {@code lock} + {@code unlock} of one name by the JMH
 *       thread; throughput (cycles/ms) and sample time (p50/p99).</li>
 *   <li>{@code contended}: {@code contenders} worker threads, each with its own client and session, all on one
 *       name, each looping lock → unlock ({@link Driver}). The JMH method takes one permit per acquisition made
 *       by any worker, so the primary score is acquisitions per second. Secondary results per iteration, from
 *       the workers: {@code fairness.minOverMean} (fewest acquisitions of one contender over the mean, 1 = equal;
 *       {@code fairness.worstMinOverMean} is the worst iteration), {@code handoff.p50/p99/max} in µs (holder's
 *       {@code System.nanoTime()} just before it calls unlock → the next holder's right after its lock call
 *       returned; same JVM, same clock), and {@code exclusion.violations} (two workers holding at once; must be
 *       0).</li>
 *   <li>{@code independent}: one client, one session, {@code locks} worker threads each looping lock → unlock on
 *       its own name; acquisitions (= cycles) per second, counted as in {@code contended}.</li>
 *   <li>{@code holdMany}: one session acquires 10,000 distinct names, one after another ({@code parallelism=1}) or
 *       with 64 calls in flight ({@code parallelism=64}), and holds them all. Single-shot time of the acquisition
 *       per lock (µs/op; locks/s = 10^6 / score). Secondary: {@code holdMany.releaseMs} (releasing all 10,000 with
 *       the same parallelism), {@code holdMany.retainedBytesPerLock} (heap used after full GCs with all held,
 *       minus before acquiring, per lock: the client's state and the handles), {@code
 *       holdMany.leftBytesPerReleasedName} (the same after releasing: what the client keeps per name it ever
 *       locked), and {@code streams.watch} / {@code streams.keepAlive}: Watch and LeaseKeepAlive streams etcd saw
 *       started since the client was created (etcd's {@code grpc_server_started_total}).</li>
 * </ul>
 * Every timed benchmark also gets, from {@link LockMetricsProfiler}: {@code cpu.client} and {@code cpu.etcd} (µs of
 * CPU per operation of this JVM and of etcd), {@code etcd.rpc.*} (etcd's handled calls per operation) and
 * {@code etcd.watchEvents} (watch events etcd sent per operation). Allocation per operation: add {@code -prof gc}.
 */
public class LockBenchmarks {
    static final int HOLD_MANY = 10_000;

    static String uniquePrefix(String scenario) {
        return "/etcd-lock-bench/" + scenario + "/" + UUID.randomUUID().toString().substring(0, 8);
    }

    // ------------------------------------------------------------------ floor

    @State(Scope.Benchmark)
    public static class FloorState {
        RawEtcd etcd;
        long lease;
        ByteString key;

        @Setup(Level.Trial)
        public void setUp() {
            etcd = new RawEtcd(Endpoints.require().get(0));
            lease = etcd.grantLease(600);
            key = ByteString.copyFromUtf8(uniquePrefix("floor") + "/k");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            etcd.revokeLease(lease);
            etcd.close();
        }
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void floor(FloorState s) {
        if (!s.etcd.kv.txn(RawEtcd.createIfAbsent(s.key, s.lease)).getSucceeded()) {
            throw new IllegalStateException("floor key existed");
        }
        s.etcd.kv.deleteRange(RawEtcd.delete(s.key));
    }

    @State(Scope.Benchmark)
    public static class FloorHandoffState {
        PingPong pingPong;

        @Setup(Level.Trial)
        public void setUp() {
            pingPong = new PingPong(Endpoints.require().get(0),
                    ByteString.copyFromUtf8(uniquePrefix("floorHandoff") + "/"));
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            pingPong.resetStats();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            pingPong.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void floorHandoff(FloorHandoffState s) throws InterruptedException {
        s.pingPong.awaitHop();
    }

    // ------------------------------------------------------------------ uncontended

    @State(Scope.Benchmark)
    public static class UncontendedState {
        @Param({"etcdlock", "jetcd"})
        public LockClient.Impl impl;

        LockClient client;
        LockClient.Session session;
        String name;

        @Setup(Level.Trial)
        public void setUp() {
            client = impl.connect(Endpoints.require());
            session = client.newSession();
            name = uniquePrefix("uncontended") + "/lock";
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            session.close();
            client.close();
        }
    }

    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void uncontended(UncontendedState s) {
        s.session.lock(s.name).unlock();
    }

    // ------------------------------------------------------------------ contended

    @State(Scope.Benchmark)
    public static class ContendedState {
        @Param({"etcdlock", "jetcd"})
        public LockClient.Impl impl;

        @Param({"2", "8", "32"})
        public int contenders;

        final List<LockClient> clients = new ArrayList<>();
        final List<LockClient.Session> sessions = new ArrayList<>();
        Driver driver;

        @Setup(Level.Trial)
        public void setUp() {
            String name = uniquePrefix("contended") + "/lock";
            List<Driver.Locker> lockers = new ArrayList<>();
            for (int i = 0; i < contenders; i++) {
                LockClient client = impl.connect(Endpoints.require());
                clients.add(client);
                LockClient.Session session = client.newSession();
                sessions.add(session);
                lockers.add(() -> session.lock(name));
            }
            driver = new Driver("contender", lockers, true);
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            driver.resetStats();
        }

        @TearDown(Level.Iteration)
        public void endIteration() {
            driver.reportStats();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            closeAll(driver, sessions, clients);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void contended(ContendedState s) throws InterruptedException {
        s.driver.awaitAcquisition();
    }

    // ------------------------------------------------------------------ independent

    @State(Scope.Benchmark)
    public static class IndependentState {
        @Param({"etcdlock", "jetcd"})
        public LockClient.Impl impl;

        @Param({"1", "8", "64"})
        public int locks;

        LockClient client;
        LockClient.Session session;
        Driver driver;

        @Setup(Level.Trial)
        public void setUp() {
            client = impl.connect(Endpoints.require());
            session = client.newSession();
            String prefix = uniquePrefix("independent");
            List<Driver.Locker> lockers = new ArrayList<>();
            for (int i = 0; i < locks; i++) {
                String name = prefix + "/lock-" + i;
                lockers.add(() -> session.lock(name));
            }
            driver = new Driver("independent", lockers, false);
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            driver.resetStats();
        }

        @TearDown(Level.Iteration)
        public void endIteration() {
            driver.reportStats();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            closeAll(driver, List.of(session), List.of(client));
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void independent(IndependentState s) throws InterruptedException {
        s.driver.awaitAcquisition();
    }

    // ------------------------------------------------------------------ holdMany

    @State(Scope.Benchmark)
    public static class HoldManyState {
        @Param({"etcdlock", "jetcd"})
        public LockClient.Impl impl;

        @Param({"1", "64"})
        public int parallelism;

        LockClient client;
        LockClient.Session session;
        ExecutorService pool;
        EtcdMetrics before;
        String[] names;
        LockClient.Held[] held;
        long heapBefore;

        @Setup(Level.Trial)
        public void setUp() {
            before = EtcdMetrics.scrape(Endpoints.require());
            client = impl.connect(Endpoints.require());
            session = client.newSession();
            if (parallelism > 1) {
                pool = Executors.newFixedThreadPool(parallelism, r -> {
                    Thread t = new Thread(r, "holdMany");
                    t.setDaemon(true);
                    return t;
                });
            }
        }

        @Setup(Level.Invocation)
        public void startInvocation() {
            String prefix = uniquePrefix("holdMany");
            names = new String[HOLD_MANY];
            for (int i = 0; i < HOLD_MANY; i++) {
                names[i] = prefix + "/" + i;
            }
            held = new LockClient.Held[HOLD_MANY];
            heapBefore = usedHeapAfterGc();
        }

        void acquireAll() throws Exception {
            forAll(i -> held[i] = session.lock(names[i]));
        }

        @TearDown(Level.Invocation)
        public void endInvocation() throws Exception {
            long heapHeld = usedHeapAfterGc();
            long t0 = System.nanoTime();
            forAll(i -> {
                held[i].unlock();
                held[i] = null;
            });
            long releaseNanos = System.nanoTime() - t0;
            long heapReleased = usedHeapAfterGc();
            Metrics.avg("holdMany.releaseMs", releaseNanos / 1e6, "ms");
            Metrics.avg("holdMany.retainedBytesPerLock", (double) (heapHeld - heapBefore) / HOLD_MANY, "B");
            Metrics.avg("holdMany.leftBytesPerReleasedName", (double) (heapReleased - heapBefore) / HOLD_MANY, "B");
            EtcdMetrics now = EtcdMetrics.scrape(Endpoints.require());
            if (before != null && now != null) {
                Metrics.max("streams.watch", now.started("Watch") - before.started("Watch"), "#");
                Metrics.max("streams.keepAlive", now.started("LeaseKeepAlive") - before.started("LeaseKeepAlive"),
                        "#");
            }
        }

        private interface IndexTask {
            void run(int index) throws Exception;
        }

        /** Runs the task for every index, one at a time or with {@code parallelism} calls in flight. */
        private void forAll(IndexTask task) throws Exception {
            if (pool == null) {
                for (int i = 0; i < HOLD_MANY; i++) {
                    task.run(i);
                }
                return;
            }
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < parallelism; t++) {
                int first = t;
                futures.add(pool.submit(() -> {
                    for (int i = first; i < HOLD_MANY; i += parallelism) {
                        task.run(i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (pool != null) {
                pool.shutdownNow();
            }
            session.close();
            client.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(HOLD_MANY)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void holdMany(HoldManyState s) throws Exception {
        s.acquireAll();
    }

    // ------------------------------------------------------------------ helpers

    static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static void closeAll(Driver driver, List<LockClient.Session> sessions, List<LockClient> clients) {
        if (driver != null) {
            driver.close();
        }
        for (LockClient.Session s : sessions) {
            try {
                s.close();
            } catch (RuntimeException e) {
                System.err.println("closing a session: " + e);
            }
        }
        for (LockClient c : clients) {
            try {
                c.close();
            } catch (RuntimeException e) {
                System.err.println("closing a client: " + e);
            }
        }
    }
}
