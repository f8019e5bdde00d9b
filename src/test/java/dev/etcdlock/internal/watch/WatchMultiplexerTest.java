package dev.etcdlock.internal.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.Await;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.PutRequest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class WatchMultiplexerTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();
    private static Engine engine;
    private static Engine writer;

    @BeforeAll
    static void start() {
        engine = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        writer = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
    }

    @AfterAll
    static void stop() {
        if (writer != null) {
            writer.close();
        }
        if (engine != null) {
            engine.close();
        }
    }

    private static long put(String key, String value) {
        return writer.kv().put(PutRequest.newBuilder().setKey(bytes(key)).setValue(bytes(value)).build()).join()
                .getHeader().getRevision();
    }

    private static long delete(String key) {
        return writer.kv().delete(DeleteRangeRequest.newBuilder().setKey(bytes(key)).build()).join()
                .getHeader().getRevision();
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private static List<String> values(List<Event> events) {
        List<String> values = new ArrayList<>();
        for (Event e : events) {
            values.add(e.getKv().getValue().toStringUtf8());
        }
        return values;
    }

    @Test
    void deliversEveryEventAfterTheStartRevisionInOrderExactlyOnce() throws Exception {
        long start = put("/w1/a", "0");
        RecordingListener listener = new RecordingListener();
        WatchMultiplexer.Subscription sub = engine.watches().subscribe(WatchSpec.prefix(bytes("/w1/")), start,
                listener);
        sub.ready().get(5, TimeUnit.SECONDS);
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            put("/w1/" + (i % 3), Integer.toString(i));
            expected.add(Integer.toString(i));
        }
        long deletedAt = delete("/w1/a");
        List<Event> events = listener.awaitCount(51, 5_000);
        assertEquals(expected, values(events.subList(0, 50)));
        assertEquals(Event.EventType.DELETE, events.get(50).getType());
        assertEquals(deletedAt, events.get(50).getKv().getModRevision());
        Thread.sleep(200);
        assertEquals(51, listener.events().size(), "nothing repeated");
        sub.cancel();
    }

    @Test
    void aStartRevisionInThePastIsReplayedFromEtcd() throws Exception {
        long before = put("/w2/x", "a");
        put("/w2/x", "b");
        put("/w2/y", "c");
        RecordingListener listener = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w2/")), before, listener);
        assertEquals(List.of("b", "c"), values(listener.awaitCount(2, 5_000)));
    }

    @Test
    void subscribersOfOneRangeShareOneEtcdWatchAndLateOnesAreServedFromItsHistory() throws Exception {
        URI metrics = URI.create(etcd.clientEndpoints().get(0) + "/metrics");
        double watchersBefore = EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total");
        long start = put("/w3/k", "0");
        RecordingListener first = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w3/")), start, first).ready().get(5, TimeUnit.SECONDS);
        long mid = put("/w3/k", "1");
        put("/w3/k", "2");
        first.awaitCount(2, 5_000);

        // asks for events after 'start' although the shared watch has already passed them
        RecordingListener late = new RecordingListener();
        RecordingListener later = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w3/")), start, late).ready().get(5, TimeUnit.SECONDS);
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w3/")), mid, later).ready().get(5, TimeUnit.SECONDS);
        put("/w3/k", "3");

        assertEquals(List.of("1", "2", "3"), values(first.awaitCount(3, 5_000)));
        assertEquals(List.of("1", "2", "3"), values(late.awaitCount(3, 5_000)));
        assertEquals(List.of("2", "3"), values(later.awaitCount(2, 5_000)));
        assertEquals(watchersBefore + 1, EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total"),
                "three subscribers, one etcd watcher");
    }

    @Test
    void aCompactedStartRevisionIsReportedNotSilentlySkipped() throws Exception {
        long old = put("/w4/k", "0");
        long now = 0;
        for (int i = 0; i < 5; i++) {
            now = put("/w4/k", Integer.toString(i + 1));
        }
        writer.kv().compact(now).join();

        RecordingListener listener = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w4/")), old, listener);
        Throwable error = listener.error.get(5, TimeUnit.SECONDS);
        WatchCompactedException compacted = assertInstanceOf(WatchCompactedException.class, error);
        assertEquals(now, compacted.compactRevision());
        assertTrue(compacted.getMessage().contains("re-read"), compacted.getMessage());
        assertTrue(listener.events().isEmpty());

        // after re-reading, subscribing from the compaction point works
        RecordingListener again = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w4/")), now, again);
        put("/w4/k", "after");
        assertEquals(List.of("after"), values(again.awaitCount(1, 5_000)));
    }

    @Test
    void afterACompactionAndAStreamBreakOnlySubscribersThatLostEventsAreTold() throws Exception {
        try (EtcdTestCluster own = EtcdTestCluster.single();
                Engine client = Engine.connect(Engine.Settings.of(own.clientEndpoints()))) {
            long start = client.kv().put(PutRequest.newBuilder().setKey(bytes("/w9/a")).build()).join()
                    .getHeader().getRevision();
            RecordingListener early = new RecordingListener();
            client.watches().subscribe(WatchSpec.prefix(bytes("/w9/")), start, early).ready().get(5, TimeUnit.SECONDS);
            long compactAt = 0;
            for (int i = 0; i < 10; i++) {
                compactAt = client.kv().put(PutRequest.newBuilder().setKey(bytes("/elsewhere")).build()).join()
                        .getHeader().getRevision();
            }
            client.kv().compact(compactAt).join();
            RecordingListener late = new RecordingListener(); // joins the idle shared watch
            client.watches().subscribe(WatchSpec.prefix(bytes("/w9/")), compactAt, late).ready()
                    .get(5, TimeUnit.SECONDS);

            own.local().kill(0); // the stream breaks; the watch resumes from start + 1, now compacted
            own.local().restart(0);

            WatchCompactedException e = assertInstanceOf(WatchCompactedException.class,
                    early.error.get(15, TimeUnit.SECONDS));
            assertEquals(compactAt, e.compactRevision());
            assertTrue(e.getMessage().contains("from revision " + (start + 1)), e.getMessage());
            client.kv().put(PutRequest.newBuilder().setKey(bytes("/w9/b")).setValue(bytes("after")).build()).join();
            assertEquals(List.of("after"), values(late.awaitCount(1, 10_000)));
            assertFalse(late.error.isDone(), "the late subscriber lost nothing and goes on");
        }
    }

    /** Its timing is WatchMultiplexerClockTest's; this shows etcd drops the watcher when the linger ends. */
    @Test
    void aWatchNobodySubscribesToIsRemovedFromEtcdWhenItsLingerEnds() throws Exception {
        URI metrics = URI.create(etcd.clientEndpoints().get(0) + "/metrics");
        try (Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints())
                .withWatchLinger(Duration.ofMillis(200)))) {
            double before = EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total");
            long start = put("/w10/a", "x");
            WatchMultiplexer.Subscription sub = client.watches().subscribe(WatchSpec.key(bytes("/w10/a")), start,
                    new RecordingListener());
            sub.ready().get(5, TimeUnit.SECONDS);
            assertEquals(before + 1, EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total"));
            sub.cancel();
            Await.until(() -> EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total") == before,
                    Duration.ofSeconds(5), () -> "the lingering watch is still in etcd");
        }
    }

    @Test
    void deletesOnlyFilterDropsPuts() throws Exception {
        long start = put("/w5/a", "x");
        RecordingListener listener = new RecordingListener();
        engine.watches().subscribe(WatchSpec.prefix(bytes("/w5/")).deletesOnly(), start, listener)
                .ready().get(5, TimeUnit.SECONDS);
        put("/w5/b", "y");
        long deleted = delete("/w5/a");
        List<Event> events = listener.awaitCount(1, 5_000);
        Thread.sleep(200);
        assertEquals(1, listener.events().size());
        assertEquals(deleted, events.get(0).getKv().getModRevision());
    }

    @Test
    void cancelledSubscriptionGetsNothingMore() throws Exception {
        long start = put("/w6/a", "x");
        RecordingListener listener = new RecordingListener();
        WatchMultiplexer.Subscription sub = engine.watches().subscribe(WatchSpec.prefix(bytes("/w6/")), start,
                listener);
        sub.ready().get(5, TimeUnit.SECONDS);
        put("/w6/a", "1");
        listener.awaitCount(1, 5_000);
        sub.cancel();
        put("/w6/a", "2");
        Thread.sleep(300);
        assertEquals(List.of("1"), values(listener.events()));
    }

    @Test
    void hundredLeasesAndThousandWatchesUseOneStreamEach() throws Exception {
        URI metrics = URI.create(etcd.clientEndpoints().get(0) + "/metrics");
        try (Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            double keepAliveStreamsBefore = EtcdMetrics.read(metrics, "grpc_server_started_total",
                    "grpc_method=\"LeaseKeepAlive\"");
            double watchStreamsBefore = EtcdMetrics.read(metrics, "grpc_server_started_total",
                    "grpc_method=\"Watch\"");
            double watchersBefore = EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total");

            List<CompletableFuture<Lease>> grants = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                grants.add(client.leases().grant(Duration.ofSeconds(30)));
            }
            long start = put("/w7/start", "");
            List<RecordingListener> listeners = new ArrayList<>();
            List<CompletableFuture<Void>> ready = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                RecordingListener l = new RecordingListener();
                listeners.add(l);
                ready.add(client.watches().subscribe(WatchSpec.key(bytes("/w7/key-" + i)), start, l).ready());
            }
            CompletableFuture.allOf(grants.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            CompletableFuture.allOf(ready.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            Thread.sleep(1_000); // let every lease have had a keep-alive or two answered: all on the same stream

            assertEquals(1, EtcdMetrics.read(metrics, "grpc_server_started_total", "grpc_method=\"LeaseKeepAlive\"")
                    - keepAliveStreamsBefore, "LeaseKeepAlive streams for 100 leases");
            assertEquals(1, EtcdMetrics.read(metrics, "grpc_server_started_total", "grpc_method=\"Watch\"")
                    - watchStreamsBefore, "Watch streams for 1000 watches");
            assertEquals(1000, EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total") - watchersBefore,
                    "etcd watchers");
            for (int i = 0; i < 1000; i += 111) {
                put("/w7/key-" + i, "v" + i);
                assertEquals(List.of("v" + i), values(listeners.get(i).awaitCount(1, 5_000)));
            }
            for (CompletableFuture<Lease> grant : grants) {
                assertTrue(grant.join().isValid());
            }
        }
    }

    @Test
    void closingTheClientEndsSubscriptions() throws Exception {
        Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        long start = put("/w8/a", "x");
        RecordingListener listener = new RecordingListener();
        client.watches().subscribe(WatchSpec.prefix(bytes("/w8/")), start, listener).ready().get(5, TimeUnit.SECONDS);
        client.close();
        assertInstanceOf(ClientClosedException.class, listener.error.get(5, TimeUnit.SECONDS));
        RecordingListener afterClose = new RecordingListener();
        client.watches().subscribe(WatchSpec.prefix(bytes("/w8/")), start, afterClose);
        assertInstanceOf(ClientClosedException.class, afterClose.error.get(1, TimeUnit.SECONDS));
    }

    @Test
    void refusesBadSpecs() {
        assertThrows(IllegalArgumentException.class, () -> WatchSpec.key(ByteString.EMPTY));
        assertThrows(IllegalArgumentException.class,
                () -> engine.watches().subscribe(WatchSpec.key(bytes("/k")), -1, new RecordingListener()));
    }
}
