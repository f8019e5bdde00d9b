package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.Internals;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A watch stream whose member stops answering without closing the connection (black-holed by a {@link TcpProxy},
 * like a partition or a SIGSTOPped member) is given up after a probe goes unanswered, rather than after
 * gRPC's keep-alive (10 s + 5 s), so a waiter hears of the unlock that frees its lock within seconds. The tests
 * assert that it is given up that way (counted as abandoned, not broken) and what the waiter then learns; how soon
 * is for the benchmarks.
 */
class SilentWatchStreamTest {

    @Test
    void aWaiterWhoseWatchMemberIsBlackHoledGetsTheLockOnANewStream() throws Exception {
        String name = "/chaos/silent/lock";
        List<TcpProxy> proxies = new ArrayList<>();
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            for (String endpoint : etcd.clientEndpoints()) {
                proxies.add(TcpProxy.start(URI.create(endpoint)));
            }
            try (EtcdLockClient holderClient = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()));
                    EtcdLockClient waiterClient = EtcdLockClient.connect(
                            proxies.stream().map(TcpProxy::endpoint).toArray(String[]::new));
                    Session holder = holderClient.newSession();
                    Session waiting = waiterClient.newSession()) {
                LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
                double[] streamsBefore = watchStreamsPerMember(etcd);
                CompletableFuture<LockHandle> waiter = waiting.mutex(name).lockAsync();
                Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5),
                        () -> "timed out waiting: the waiter enqueued");
                int member = memberWithNewWatchStream(etcd, streamsBefore);

                proxies.get(member).hang();
                long unlockedAt = System.nanoTime();
                held.unlock();
                LockHandle acquired;
                try {
                    acquired = waiter.get(20, TimeUnit.SECONDS);
                } finally {
                    proxies.get(member).pass();
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - unlockedAt);
                System.out.printf("waiter behind black-holed member %d got the lock %d ms after the unlock%n", member,
                        ms);
                // by the probe going unanswered, not by gRPC's keep-alive breaking the stream
                assertEquals(1, Internals.watches(waiterClient).streamsAbandoned(), "the silent stream given up");
                assertTrue(acquired.isHeld());
                acquired.unlock();
            }
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
        } finally {
            for (TcpProxy proxy : proxies) {
                proxy.close();
            }
        }
    }

    @Test
    void silentStreamIsAbandonedAndEveryEventStillArrivesOnce() throws Exception {
        List<TcpProxy> proxies = new ArrayList<>();
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3()) {
            for (String endpoint : etcd.clientEndpoints()) {
                proxies.add(TcpProxy.start(URI.create(endpoint)));
            }
            try (Engine watcher = Engine.connect(Engine.Settings.of(
                    proxies.stream().map(TcpProxy::endpoint).toList()));
                    Engine writer = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
                ByteString prefix = ByteString.copyFromUtf8("/chaos/silent/events/");
                long start = put(writer, prefix, "start");
                double[] streamsBefore = watchStreamsPerMember(etcd);
                Recorder events = new Recorder();
                watcher.watches().subscribe(WatchSpec.prefix(prefix), start, events).ready().get(5, TimeUnit.SECONDS);
                int member = memberWithNewWatchStream(etcd, streamsBefore);

                proxies.get(member).hang();
                long hungAt = System.nanoTime();
                List<Long> written = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    written.add(put(writer, prefix, "k" + i));
                }
                events.await(written.get(written.size() - 1), 20_000);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - hungAt);
                proxies.get(member).pass();
                System.out.printf("watch behind black-holed member %d resumed and delivered after %d ms%n", member, ms);
                assertEquals(written, events.revisions(), "every event once, in order");
                assertEquals(1, watcher.watches().streamsAbandoned(), "one silent stream given up");
            }
        } finally {
            for (TcpProxy proxy : proxies) {
                proxy.close();
            }
        }
    }

    @Test
    void anIdleStreamCostsOneProbePerIntervalAndNoneWithoutListeners() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints())
                        .withWatchLinger(Duration.ofMillis(100)));
                Engine writer = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            WatchMultiplexer watches = client.watches();
            ByteString key = ByteString.copyFromUtf8("/chaos/silent/idle");
            long start = put(writer, key, "0");
            Recorder events = new Recorder();
            WatchMultiplexer.Subscription sub = watches.subscribe(WatchSpec.key(key), start, events);
            sub.ready().get(5, TimeUnit.SECONDS);

            // idle: probed after each spell of silence, and every probe answered. The watch starts at a revision not
            // written yet, as a waiter's does; etcd 3.5.22+ never answers a progress request on such a stream, so a
            // probe that was one abandoned this healthy stream every 4 s
            int before = watches.probes();
            Await.until(() -> watches.probes() - before >= 3, Duration.ofSeconds(15),
                    () -> "an idle stream with a listener was probed " + (watches.probes() - before) + " times");
            assertEquals(0, watches.streamsAbandoned(), "a healthy idle stream answers its probes");
            assertEquals(1, watches.streamsOpened());

            // a stream that carries events is not probed: 5 s of an event every 200 ms (the events over time are what
            // is under test here), with one probe at most, sent before the first event
            int flowing = watches.probes();
            long last = 0;
            for (int i = 0; i < 25; i++) {
                last = put(writer, key, Integer.toString(i));
                Thread.sleep(200);
            }
            events.await(last, 5_000);
            assertTrue(watches.probes() - flowing <= 1,
                    "probes while events flow: " + (watches.probes() - flowing));

            // nobody listens any more: the watch lingers, then goes (etcd serves no watcher); no probe after that
            double watchers = watchers(etcd);
            sub.cancel();
            Await.until(() -> watchers(etcd) < watchers, Duration.ofSeconds(10),
                    () -> "the watch nobody listens to was not cancelled after its linger");
            int unheard = watches.probes();
            Thread.sleep(5_000); // more than two probe intervals: the absence of probes is what is under test
            assertEquals(unheard, watches.probes(), "no probes without listeners");
            assertEquals(0, watches.streamsAbandoned());
            assertEquals(1, watches.streamsOpened());
        }
    }

    // ---- helpers ----

    /** Watch streams open on each member, from its /metrics. */
    private static double[] watchStreamsPerMember(EtcdTestCluster etcd) {
        List<String> endpoints = etcd.clientEndpoints();
        double[] streams = new double[endpoints.size()];
        for (int i = 0; i < streams.length; i++) {
            streams[i] = EtcdMetrics.read(URI.create(endpoints.get(i) + "/metrics"),
                    "etcd_debugging_mvcc_watch_stream_total");
        }
        return streams;
    }

    /** Watchers the single member serves, from its /metrics. */
    private static double watchers(EtcdTestCluster etcd) {
        return EtcdMetrics.read(URI.create(etcd.clientEndpoints().get(0) + "/metrics"),
                "etcd_debugging_mvcc_watcher_total");
    }

    /** The member where a watch stream opened since {@code before}: the one to black-hole. */
    private static int memberWithNewWatchStream(EtcdTestCluster etcd, double[] before) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            double[] now = watchStreamsPerMember(etcd);
            for (int i = 0; i < now.length; i++) {
                if (now[i] > before[i]) {
                    return i;
                }
            }
            assertTrue(System.nanoTime() < deadline, "no member shows the new watch stream");
            Thread.sleep(20);
        }
    }

    private static long put(Engine writer, ByteString prefixOrKey, String suffix) {
        ByteString key = prefixOrKey.toStringUtf8().endsWith("/") ? prefixOrKey.concat(ByteString.copyFromUtf8(suffix))
                : prefixOrKey;
        return writer.kv().put(PutRequest.newBuilder().setKey(key).setValue(ByteString.copyFromUtf8(suffix)).build())
                .join().getHeader().getRevision();
    }

    /** The revisions delivered, in delivery order. */
    private static final class Recorder implements WatchListener {
        private final List<Long> revisions = new ArrayList<>();
        private Throwable error;

        @Override
        public synchronized void onEvents(List<Event> batch) {
            for (Event e : batch) {
                revisions.add(e.getKv().getModRevision());
            }
            notifyAll();
        }

        @Override
        public synchronized void onError(Throwable t) {
            error = t;
            notifyAll();
        }

        synchronized List<Long> revisions() {
            return List.copyOf(revisions);
        }

        synchronized void await(long revision, long timeoutMs) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (revisions.isEmpty() || revisions.get(revisions.size() - 1) < revision) {
                if (error != null) {
                    throw new AssertionError("watch failed", error);
                }
                long left = deadline - System.nanoTime();
                assertFalse(left <= 0, "watch reached " + revisions + ", wanted " + revision);
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }
}
