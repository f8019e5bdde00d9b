package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchSpec;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Breaks a client's connection to etcd 1,000 times and checks that nothing accumulates: threads, heap, streams in
 * etcd, leases in etcd. The client (through a {@link TcpProxy}) holds a session with a held lock and a second
 * session waiting for the same lock; a second client through the same proxy keeps a watch on a prefix that a
 * direct client writes to once per break.
 *
 * <p>Each round: {@link TcpProxy#drop()} (RST), then a tryLock round trip through the lock client, one write for
 * the watch, and a wait until etcd reports new Watch and LeaseKeepAlive streams from both clients with exactly the
 * watchers and open streams it had before. Only then the next break, so that every round is a full reconnect and
 * stream resume rather than a backoff growing under back-to-back breaks (about 60 ms a round, most of it the
 * streams' jittered 25-50 ms reopen delay). The watch must deliver every write once and in order.
 *
 * <p>{@code -Detcdlock.breaks=N} changes the count (default 1,000). The numbers quoted in the report go to stdout.
 */
@Tag("long") // minutes of chaos: run on the newest etcd only (.ci/test)
class ConnectionBreakLeakTest {
    private static final int BREAKS = Integer.getInteger("etcdlock.breaks", 1_000);
    /** Breaks before the baseline: event-loop threads, pooled buffers and the watch's history fill up first. */
    private static final int WARMUP_BREAKS = 100;
    /**
     * A leak of 1 KB per break adds 1 MB over 1,000 breaks; this bound is three quarters of that. Measured without
     * a leak: +70 KB alone and up to +290 KB after the rest of the suite ran in the same JVM, nearly all of it in
     * the first 250 breaks (lambda forms, caches warming up), then under 50 bytes per break.
     */
    private static final long HEAP_TOLERANCE_BYTES = 768 * 1024;
    /**
     * From the first sample (after 250 breaks) to the last: half of what a 1 KB leak would add over the 750 breaks
     * in between, where warm-up no longer blurs it.
     */
    private static final long HEAP_SLOPE_TOLERANCE_BYTES = 375 * 1024;
    private static final String PREFIX = "/chaos/leak/";
    private static final String LOCK = PREFIX + "lock";
    private static final String PROBE = PREFIX + "probe";
    private static final String EVENTS = PREFIX + "events/";
    /**
     * Thread pools that grow and shrink on their own, their idle threads ending after a while: the common pool,
     * gRPC's executor, the JDK HttpClient reading /metrics, the JDK's process reapers (etcdctl); and the JVM's
     * Attach Listener, started when a tool (jstack, jcmd) looks at this JVM. Not compared exactly.
     */
    private static final List<String> ELASTIC = List.of("ForkJoinPool.commonPool-worker-", "grpc-default-executor-",
            "HttpClient-", "process reaper", "Attach Listener");

    @Test
    void aThousandConnectionBreaksLeaveNothingBehind() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                EtcdLockClient client = EtcdLockClient.connect(proxy.endpoint());
                Engine watcher = Engine.connect(Engine.Settings.of(List.of(proxy.endpoint())));
                Engine writer = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            URI metrics = URI.create(etcd.clientEndpoints().get(0) + "/metrics");
            Session holder = client.newSession(Duration.ofSeconds(10));
            Session waiting = client.newSession(Duration.ofSeconds(10));
            AtomicReference<String> lostReport = new AtomicReference<>();
            holder.lost().whenComplete((v, t) -> lostReport.compareAndSet(null, "holder session: " + t));
            waiting.lost().whenComplete((v, t) -> lostReport.compareAndSet(null, "waiting session: " + t));
            long holderLease = holder.leaseId();
            long waiterLease = waiting.leaseId();

            LockHandle held = holder.mutex(LOCK).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> waiter = waiting.mutex(LOCK).lockAsync();
            awaitTrue(() -> EtcdKeys.count(etcd.clientEndpoints(), LOCK + "/") == 2, "the waiter enqueued", 5_000);

            long start = put(writer, EVENTS + "start");
            OrderedRecorder events = new OrderedRecorder();
            watcher.watches().subscribe(WatchSpec.prefix(bytes(EVENTS)), start, events).ready()
                    .get(5, TimeUnit.SECONDS);
            // the shared watch keeps up to 256 recent events: fill that history before the baseline
            for (int i = 0; i < 300; i++) {
                put(writer, EVENTS + "k");
            }

            // A holder watches its queue, which an idle watch outlives for a while after the unlock but not across a
            // break: a permit held throughout keeps the probe's watch live, so the probe never changes the count
            Session probeKeeper = client.newSession(Duration.ofSeconds(10));
            double watchersBefore = EtcdMetrics.snapshot(metrics).value("etcd_debugging_mvcc_watcher_total");
            LockHandle keeper = probeKeeper.semaphore(PROBE, 2).acquire();
            awaitTrue(() -> EtcdMetrics.snapshot(metrics).value("etcd_debugging_mvcc_watcher_total")
                    == watchersBefore + 1, "the probe's holder watch is in etcd", 10_000);

            Breaker breaker = new Breaker(proxy, holder, writer, events, metrics);
            breaker.rounds(WARMUP_BREAKS);
            assertFalse(waiter.isDone(), "the waiter still waits");

            EtcdState etcdBefore = EtcdState.read(etcd, metrics);
            int watchStreamsOpenedBefore = watcher.watches().streamsOpened();
            long acceptedBefore = proxy.connectionsAccepted();
            Map<String, Integer> threadsBefore = threadGroups();
            long heapBefore = usedHeapAfterGc();
            long t0 = System.nanoTime();

            long[] heapSamples = new long[(BREAKS + 249) / 250];
            for (int done = 0, sample = 0; done < BREAKS; sample++) {
                int n = Math.min(250, BREAKS - done);
                breaker.rounds(n);
                done += n;
                heapSamples[sample] = usedHeapAfterGc();
                System.out.printf("after %d breaks: %.1f s, heap after GC %,d bytes, %d threads%n", done,
                        (System.nanoTime() - t0) / 1e9, heapSamples[sample], Thread.getAllStackTraces().size());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;

            long heapAfter = usedHeapAfterGc();
            Map<String, Integer> threadsAfter = awaitThreadsSettled(threadsBefore);
            EtcdState etcdAfter = EtcdState.read(etcd, metrics);

            double watchStarted = etcdAfter.watchStarted() - etcdBefore.watchStarted();
            double keepAliveStarted = etcdAfter.keepAliveStarted() - etcdBefore.keepAliveStarted();
            int watcherReopens = watcher.watches().streamsOpened() - watchStreamsOpenedBefore;
            System.out.printf("%d breaks in %.1f s (%.1f ms each); back after p50 %d ms, p99 %d ms, max %d ms; "
                            + "connections accepted by the proxy: %d%n", BREAKS, seconds, seconds * 1000 / BREAKS,
                    breaker.percentileMs(50), breaker.percentileMs(99), breaker.percentileMs(100),
                    proxy.connectionsAccepted() - acceptedBefore);
            System.out.printf("threads: %d before, %d after (%s -> %s)%n", total(threadsBefore), total(threadsAfter),
                    threadsBefore, threadsAfter);
            System.out.printf("heap used after GC: %,d bytes before, %,d after (%+,d; %+.1f bytes per break); "
                    + "every 250 breaks: %s%n", heapBefore, heapAfter, heapAfter - heapBefore,
                    (heapAfter - heapBefore) / (double) BREAKS, Arrays.toString(heapSamples));
            System.out.printf("etcd streams opened during the breaks: Watch %.0f (expected %d: 2 clients x %d), "
                            + "LeaseKeepAlive %.0f (expected %d); the watch client opened %d Watch streams%n",
                    watchStarted, 2 * BREAKS, BREAKS, keepAliveStarted, BREAKS, watcherReopens);
            System.out.printf("etcd before -> after: %s -> %s%n", etcdBefore, etcdAfter);

            // nothing grew
            assertEquals(withoutElastic(threadsBefore), withoutElastic(threadsAfter), "threads (elastic pools aside)");
            assertTrue(total(threadsAfter) <= total(threadsBefore) + 4, "elastic pools grew by more than 4 threads: "
                    + threadsBefore + " -> " + threadsAfter);
            assertTrue(heapAfter - heapBefore < HEAP_TOLERANCE_BYTES, "heap grew by " + (heapAfter - heapBefore)
                    + " bytes over " + BREAKS + " breaks");
            if (heapSamples.length >= 4) {
                long slope = heapSamples[heapSamples.length - 1] - heapSamples[0];
                assertTrue(slope < HEAP_SLOPE_TOLERANCE_BYTES * (heapSamples.length - 1) / 3, "heap grew by " + slope
                        + " bytes from the first sample to the last: " + Arrays.toString(heapSamples));
            }
            assertEquals(BREAKS, watcherReopens, "one new Watch stream per break from the watch client");
            assertEquals(2.0 * BREAKS, watchStarted, "Watch streams reaching etcd: one per client per break");
            assertEquals(BREAKS, keepAliveStarted, "LeaseKeepAlive streams reaching etcd: one per break");
            assertEquals(etcdBefore.watchStreams(), etcdAfter.watchStreams(), "Watch streams open in etcd");
            assertEquals(etcdBefore.watchers(), etcdAfter.watchers(), "watchers in etcd");
            assertEquals(etcdBefore.keepAliveOpen(), etcdAfter.keepAliveOpen(), "LeaseKeepAlive streams open in etcd");
            assertEquals(etcdBefore.leases(), etcdAfter.leases(), "leases in etcd");
            assertEquals(2, proxy.openConnections(), "one connection each for the lock client and the watch client");

            // the sessions lived through it, and the lock still works as a lock
            assertEquals(null, lostReport.get(), "a session was lost");
            assertEquals(holderLease, holder.leaseId());
            assertEquals(waiterLease, waiting.leaseId());
            assertTrue(holder.isValid() && waiting.isValid());
            assertTrue(held.isHeld());
            assertFalse(waiter.isDone(), "nobody got the lock while it was held");
            long heldToken = held.fencingToken();
            held.unlock();
            LockHandle handedOver = waiter.get(5, TimeUnit.SECONDS);
            assertTrue(handedOver.isHeld());
            assertTrue(handedOver.fencingToken() > heldToken);
            handedOver.unlock();
            keeper.unlock();
            probeKeeper.close();
            holder.close();
            waiting.close();
            assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), LOCK + "/"), "keys left");
            assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), PROBE + "/"), "keys left");
        }
    }

    /** Breaks the connection and waits until the clients are fully back, round after round. */
    private static final class Breaker {
        final TcpProxy proxy;
        final Session holder;
        final Engine writer;
        final OrderedRecorder events;
        final URI metrics;
        /** A long[] rather than a list of Longs, which would itself grow the heap by 24 bytes per break. */
        final long[] recoveryNanos = new long[WARMUP_BREAKS + BREAKS];
        int round;
        long lastWrite;

        Breaker(TcpProxy proxy, Session holder, Engine writer, OrderedRecorder events, URI metrics) {
            this.proxy = proxy;
            this.holder = holder;
            this.writer = writer;
            this.events = events;
            this.metrics = metrics;
        }

        /**
         * {@code n} breaks, then waits until the watch has delivered every write. Within a round the next break
         * does not wait for that: a resumed watch starts at a past revision, which etcd serves from its 100 ms
         * catch-up loop, and a break during the catch-up is one more case to get right.
         */
        void rounds(int n) throws Exception {
            for (int i = 0; i < n; i++) {
                round++;
                EtcdMetrics.Snapshot before = EtcdMetrics.snapshot(metrics);
                double watchStarted = started(before, "Watch");
                double keepAliveStarted = started(before, "LeaseKeepAlive");
                double watchers = before.value("etcd_debugging_mvcc_watcher_total");
                double watchStreams = before.value("etcd_debugging_mvcc_watch_stream_total");
                double keepAliveOpen = openStreams(before, "LeaseKeepAlive");

                long t0 = System.nanoTime();
                proxy.drop();
                // the lock client's channel works: a lock round trip (and its release) on a free name
                Optional<LockHandle> probe = holder.semaphore(PROBE, 2).tryAcquire();
                assertTrue(probe.isPresent(), "round " + round + ": the probe lock is free");
                probe.get().unlock();
                // an event for the watch client to deliver once its watch has resumed
                lastWrite = put(writer, EVENTS + "k");
                // etcd sees both clients' new streams, and as many watchers and streams as before the break
                awaitTrue(() -> {
                    EtcdMetrics.Snapshot now = EtcdMetrics.snapshot(metrics);
                    return started(now, "Watch") >= watchStarted + 2
                            && started(now, "LeaseKeepAlive") >= keepAliveStarted + 1
                            && now.value("etcd_debugging_mvcc_watcher_total") == watchers
                            && now.value("etcd_debugging_mvcc_watch_stream_total") == watchStreams
                            && openStreams(now, "LeaseKeepAlive") == keepAliveOpen;
                }, "round " + round + ": streams and watchers back in etcd (before: " + watchers + " watchers, "
                        + watchStreams + " watch streams, " + keepAliveOpen + " keep-alive streams)", 10_000,
                        () -> {
                            EtcdMetrics.Snapshot now = EtcdMetrics.snapshot(metrics);
                            return "now: " + now.value("etcd_debugging_mvcc_watcher_total") + ", "
                                    + now.value("etcd_debugging_mvcc_watch_stream_total") + ", "
                                    + openStreams(now, "LeaseKeepAlive");
                        });
                recoveryNanos[round - 1] = System.nanoTime() - t0;
                assertTrue(events.error.get() == null, () -> "watch failed: " + events.error.get());
            }
            events.awaitRevision(lastWrite, 10_000, "after round " + round);
        }

        long percentileMs(int p) {
            long[] sorted = Arrays.copyOfRange(recoveryNanos, WARMUP_BREAKS, round);
            Arrays.sort(sorted);
            int index = Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1);
            return TimeUnit.NANOSECONDS.toMillis(sorted[Math.max(0, index)]);
        }
    }

    /**
     * Checks order on the fly and keeps only the last revision: a recorder that kept every event would itself
     * grow by a few hundred bytes per break.
     */
    private static final class OrderedRecorder implements WatchListener {
        final AtomicReference<Throwable> error = new AtomicReference<>();
        private long last;
        private long count;

        @Override
        public synchronized void onEvents(List<Event> batch) {
            for (Event e : batch) {
                long revision = e.getKv().getModRevision();
                if (revision <= last) {
                    error.compareAndSet(null, new AssertionError("event at revision " + revision + " after "
                            + last + ": repeated or out of order"));
                }
                last = revision;
                count++;
            }
            notifyAll();
        }

        @Override
        public void onError(Throwable t) {
            error.compareAndSet(null, t);
        }

        synchronized void awaitRevision(long revision, long timeoutMs, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (last < revision) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(what + ": the watch reached revision " + last + ", wanted " + revision
                            + " (" + count + " events so far)");
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }

    // ---- measurements ----

    /** What etcd has of ours at one moment; a few numbers, so that holding it costs no heap worth measuring. */
    private record EtcdState(double watchStarted, double keepAliveStarted, double watchStreams, double watchers,
            double keepAliveOpen, int leases) {
        static EtcdState read(EtcdTestCluster etcd, URI metrics) throws Exception {
            EtcdMetrics.Snapshot s = EtcdMetrics.snapshot(metrics);
            return new EtcdState(started(s, "Watch"), started(s, "LeaseKeepAlive"),
                    s.value("etcd_debugging_mvcc_watch_stream_total"), s.value("etcd_debugging_mvcc_watcher_total"),
                    openStreams(s, "LeaseKeepAlive"), leasesInEtcd(etcd, s));
        }

        @Override
        public String toString() {
            return String.format("Watch streams open %.0f, watchers %.0f, LeaseKeepAlive streams open %.0f, "
                    + "leases %d", watchStreams, watchers, keepAliveOpen, leases);
        }
    }

    private static double started(EtcdMetrics.Snapshot s, String method) {
        return s.value("grpc_server_started_total", "grpc_method=\"" + method + "\"");
    }

    /** Streams etcd has started and not yet finished. */
    private static double openStreams(EtcdMetrics.Snapshot s, String method) {
        return started(s, method) - s.value("grpc_server_handled_total", "grpc_method=\"" + method + "\"");
    }

    /**
     * Leases in etcd: {@code etcdctl lease list} when etcdctl is there, else granted minus revoked (expiries are
     * revokes too) from etcd's metrics.
     */
    private static int leasesInEtcd(EtcdTestCluster etcd, EtcdMetrics.Snapshot metrics) throws Exception {
        Optional<Path> etcdctl = etcdctl();
        if (etcdctl.isEmpty()) {
            return (int) (metrics.value("etcd_debugging_lease_granted_total")
                    - metrics.value("etcd_debugging_lease_revoked_total"));
        }
        Process p = new ProcessBuilder(etcdctl.get().toString(), "--endpoints",
                String.join(",", etcd.clientEndpoints()), "lease", "list")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "etcdctl lease list: " + out);
        // "found N leases" and one line per lease id
        String first = out.lines().findFirst().orElse("");
        assertTrue(first.startsWith("found "), out);
        return Integer.parseInt(first.split(" ")[1]);
    }

    private static Optional<Path> etcdctl() {
        String path = System.getenv().getOrDefault("PATH", "");
        return Arrays.stream(path.split(":")).map(dir -> Path.of(dir, "etcdctl")).filter(Files::isExecutable)
                .findFirst();
    }

    /**
     * Heap in use after full collections: the smallest of a few readings, since a reference queue or a finalizer
     * may still free something between two System.gc() calls.
     */
    private static long usedHeapAfterGc() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
            least = Math.min(least, memory.getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    /** Live threads by name with the numbers taken out ("grpc-default-worker-ELG-1-3" counts as "grpc-..-ELG-#-#"). */
    private static Map<String, Integer> threadGroups() {
        Map<String, Integer> groups = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive()) {
                groups.merge(t.getName().replaceAll("\\d+", "#"), 1, Integer::sum);
            }
        }
        return groups;
    }

    /** Proxy connection threads end a moment after the drop that reset them; gives them that moment. */
    private static Map<String, Integer> awaitThreadsSettled(Map<String, Integer> before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Map<String, Integer> now = threadGroups();
        while (!withoutElastic(now).equals(withoutElastic(before)) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            now = threadGroups();
        }
        return now;
    }

    private static Map<String, Integer> withoutElastic(Map<String, Integer> groups) {
        Map<String, Integer> fixed = new TreeMap<>(groups);
        fixed.keySet().removeIf(name -> ELASTIC.stream().anyMatch(name::startsWith));
        return fixed;
    }

    private static int total(Map<String, Integer> groups) {
        return groups.values().stream().mapToInt(Integer::intValue).sum();
    }

    // ---- etcd ----

    private static long put(Engine writer, String key) {
        return writer.kv().put(PutRequest.newBuilder().setKey(bytes(key)).build()).join().getHeader().getRevision();
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(Condition condition, String what, long timeoutMs) throws Exception {
        awaitTrue(condition, what, timeoutMs, () -> "");
    }

    private static void awaitTrue(Condition condition, String what, long timeoutMs,
            java.util.function.Supplier<String> state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeoutMs + " ms: " + what + " " + state.get());
            }
            Thread.sleep(2);
        }
    }

}
