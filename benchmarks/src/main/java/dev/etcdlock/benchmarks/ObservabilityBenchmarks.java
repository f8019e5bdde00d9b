package dev.etcdlock.benchmarks;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockListener;
import dev.etcdlock.Mutex;
import dev.etcdlock.Session;
import dev.etcdlock.internal.events.JfrEvents;
import dev.etcdlock.internal.events.LockLabel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import jdk.jfr.Recording;
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
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * What observing the locks costs: the same uncontended lock + unlock with nothing watching, inside a JFR recording
 * of etcd-lock's events, and with a {@link LockListener}; and the event call alone, JFR off and on.
 *
 * <ul>
 *   <li>{@code observedCycle}: one client, one session, {@code lock()} + {@code unlock()} of one name by the JMH
 *       thread (as {@code LockBenchmarks.uncontended}); {@code observer=none}: no recording, no listener;
 *       {@code jfr}: a {@link Recording} started in the trial's setup with every {@code dev.etcdlock.*} event enabled
 *       at threshold 0 (two events committed per cycle); {@code listener}: a listener counting acquisitions and
 *       releases (two calls handed to the listener thread per cycle). Cycles per second.</li>
 *   <li>{@code rotatingObservers}: the same cycle, the observer changing with every iteration in one JVM against
 *       one etcd: none, jfr (a recording started for that iteration alone), listener (a second client, with the
 *       listener), none, ... Neighbouring iterations share the machine's load, which on a busy machine moves the
 *       separate trials of {@code observedCycle} by more than any observer does. {@link Report} averages the
 *       measured iterations of each observer from the raw data (run a multiple of 3 of them).</li>
 *   <li>{@code eventOffCost}: {@code JfrEvents.lockAcquired(...)} alone, the call the engine makes per acquisition,
 *       with {@code jfr=off} (no recording: what every user pays) and {@code jfr=on} (recording, the event
 *       committed). Nanoseconds per call.</li>
 * </ul>
 *
 * <pre>
 * benchmarks/run --quick 'ObservabilityBenchmarks'
 * </pre>
 */
public class ObservabilityBenchmarks {
    static final List<String> EVENTS = List.of("dev.etcdlock.LockAcquired", "dev.etcdlock.LockReleased",
            "dev.etcdlock.LockLost", "dev.etcdlock.LeaseLost", "dev.etcdlock.KeepAlive",
            "dev.etcdlock.WatchReconnect");

    /** The cheapest listener that still hears every acquisition and release: what the listener path costs. */
    static LockListener counting(LongAdder heard) {
        return new LockListener() {
            @Override
            public void acquired(Kind kind, String name, long fencingToken, Duration waited) {
                heard.increment();
            }

            @Override
            public void released(Kind kind, String name, long fencingToken, Duration held) {
                heard.increment();
            }
        };
    }

    static Recording startRecording() {
        Recording recording = new Recording();
        for (String event : EVENTS) {
            recording.enable(event).withThreshold(Duration.ZERO);
        }
        recording.setToDisk(true);
        recording.start();
        return recording;
    }

    @State(Scope.Benchmark)
    public static class CycleState {
        @Param({"none", "jfr", "listener"})
        public String observer;

        final LongAdder heard = new LongAdder();
        Recording recording;
        EtcdLockClient client;
        Session session;
        Mutex mutex;

        @Setup(Level.Trial)
        public void setUp() {
            EtcdLockClient.Builder builder = EtcdLockClient.builder().endpoints(Endpoints.require());
            if (observer.equals("listener")) {
                builder.listener(counting(heard));
            }
            if (observer.equals("jfr")) {
                recording = startRecording();
            }
            client = builder.build();
            session = client.newSession(Duration.ofSeconds(60));
            mutex = session.mutex(LockBenchmarks.uniquePrefix("observed") + "/" + observer);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            session.close();
            client.close();
            if (recording != null) {
                recording.stop();
                recording.close();
            }
            if (observer.equals("listener")) {
                System.out.println("# listener heard " + heard.sum() + " calls");
            }
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void observedCycle(CycleState s) {
        s.mutex.lock().unlock();
    }

    @State(Scope.Benchmark)
    public static class RotatingState {
        /** In the order iterations take them: the Nth measured iteration uses {@code ROTATION[N % 3]}. */
        static final List<String> ROTATION = List.of("none", "jfr", "listener");

        final LongAdder heard = new LongAdder();
        EtcdLockClient plain;
        EtcdLockClient listening;
        Session plainSession;
        Session listeningSession;
        Mutex plainMutex;
        Mutex listeningMutex;
        Mutex current;
        Recording recording;
        int warmups;
        int measured;

        @Setup(Level.Trial)
        public void setUp() {
            plain = EtcdLockClient.builder().endpoints(Endpoints.require()).build();
            listening = EtcdLockClient.builder().endpoints(Endpoints.require()).listener(counting(heard)).build();
            plainSession = plain.newSession(Duration.ofSeconds(60));
            listeningSession = listening.newSession(Duration.ofSeconds(60));
            String prefix = LockBenchmarks.uniquePrefix("rotating");
            plainMutex = plainSession.mutex(prefix + "/plain");
            listeningMutex = listeningSession.mutex(prefix + "/listening");
        }

        @Setup(Level.Iteration)
        public void startIteration(IterationParams iteration) {
            int n = iteration.getType() == IterationType.MEASUREMENT ? measured++ : warmups++;
            String observer = ROTATION.get(n % ROTATION.size());
            current = observer.equals("listener") ? listeningMutex : plainMutex;
            if (observer.equals("jfr")) {
                recording = startRecording();
            }
        }

        @TearDown(Level.Iteration)
        public void endIteration() {
            if (recording != null) {
                recording.stop();
                recording.close();
                recording = null;
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            plainSession.close();
            listeningSession.close();
            plain.close();
            listening.close();
            System.out.println("# listener heard " + heard.sum() + " calls");
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void rotatingObservers(RotatingState s) {
        s.current.lock().unlock();
    }

    @State(Scope.Benchmark)
    public static class EventState {
        @Param({"off", "on"})
        public String jfr;

        final LockLabel label = new LockLabel(LockListener.Kind.MUTEX, "/bench/events/lock");
        final ByteString key = ByteString.copyFromUtf8("/bench/events/lock/694d8a3c1f2b7e05");
        long token = 1;
        Recording recording;

        @Setup(Level.Trial)
        public void setUp() {
            if (jfr.equals("on")) {
                recording = startRecording();
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (recording != null) {
                recording.stop();
                recording.close();
            }
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void eventOffCost(EventState s) {
        JfrEvents.lockAcquired(s.label, s.key, s.token++, 0x694d8a3c1f2b7e05L, 1_234_567);
    }
}
