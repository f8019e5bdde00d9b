package dev.etcdlock.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Kills the member a client's streams run on, in a real 3-member cluster, while another client keeps writing:
 * leases must stay alive and the watch must deliver exactly etcd's own history, nothing lost or repeated.
 */
class ClusterFailoverTest {

    /** Collects events as the engine delivers them. */
    private static final class Recorder implements WatchListener {
        final List<Event> events = new ArrayList<>();
        final CompletableFuture<Throwable> error = new CompletableFuture<>();

        @Override
        public synchronized void onEvents(List<Event> batch) {
            events.addAll(batch);
        }

        @Override
        public void onError(Throwable t) {
            error.complete(t);
        }

        synchronized List<Long> revisions() {
            List<Long> revisions = new ArrayList<>();
            for (Event e : events) {
                revisions.add(e.getKv().getModRevision());
            }
            return revisions;
        }

        synchronized long lastRevision() {
            return events.isEmpty() ? 0 : events.get(events.size() - 1).getKv().getModRevision();
        }
    }

    @Test
    void leasesAndWatchesSurviveTheDeathOfTheirMember() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.cluster3();
                Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
                Engine writer = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            ByteString prefix = ByteString.copyFromUtf8("/failover/");
            long start = writer.kv().put(PutRequest.newBuilder().setKey(prefix.concat(ByteString.copyFromUtf8(
                    "start"))).build()).join().getHeader().getRevision();
            // When the killed member is the leader, the cluster has no leader for 1-2 s (election timeout 1 s,
            // randomized up to 2 s) and no keep-alive can be answered; a TTL must outlast that plus one
            // keep-alive interval for the client to prove the lease alive throughout. 5 s does.
            Lease lease = client.leases().grant(Duration.ofSeconds(5)).join();
            Recorder recorder = new Recorder();
            client.watches().subscribe(WatchSpec.prefix(prefix), start, recorder).ready().get(10, TimeUnit.SECONDS);

            int member = memberWithWatchStream(etcd);
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicInteger acknowledged = new AtomicInteger();
            CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
                for (int i = 0; writing.get(); i++) {
                    try {
                        writer.kv().put(PutRequest.newBuilder()
                                .setKey(prefix.concat(ByteString.copyFromUtf8("k" + (i % 7))))
                                .setValue(ByteString.copyFromUtf8(Integer.toString(i))).build()).join();
                        acknowledged.incrementAndGet();
                    } catch (RuntimeException unknownOutcome) {
                        // during the kill; the comparison with etcd's history below does not depend on it
                    }
                }
            });
            Thread.sleep(500);
            etcd.local().kill(member);
            Thread.sleep(10_000); // two TTLs of the lease after its member died
            writing.set(false);
            writes.get(20, TimeUnit.SECONDS);
            long last = writer.kv().put(PutRequest.newBuilder().setKey(prefix.concat(ByteString.copyFromUtf8("end")))
                    .build()).join().getHeader().getRevision();

            awaitRevision(recorder, last, 10_000);
            assertFalse(recorder.error.isDone(), () -> "watch failed: " + recorder.error.join());
            assertTrue(lease.isValid(), "the lease was kept alive through another member");
            assertFalse(lease.done().isDone());
            assertTrue(writer.transport().call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                    LeaseTimeToLiveRequest.newBuilder().setID(lease.id()).build(), true).join().getTTL() > 0);
            assertTrue(acknowledged.get() > 100, "the writer kept writing: " + acknowledged.get());

            // what etcd itself has in its history for the prefix, read by a fresh watch from the same start
            Recorder truth = new Recorder();
            writer.watches().subscribe(WatchSpec.prefix(prefix), start, truth);
            awaitRevision(truth, last, 10_000);
            List<Long> delivered = recorder.revisions();
            assertEquals(truth.revisions(), delivered, "events delivered across the failover = etcd's history");
            for (int i = 1; i < delivered.size(); i++) {
                assertTrue(delivered.get(i) > delivered.get(i - 1), "strictly increasing, no repeats");
            }
            System.out.printf("failover: killed member %d; %d events delivered in order, %d writes acknowledged%n",
                    member, delivered.size(), acknowledged.get());
        }
    }

    private static int memberWithWatchStream(EtcdTestCluster etcd) {
        for (int i = 0; i < etcd.local().size(); i++) {
            if (EtcdMetrics.read(etcd.local().metricsUri(i), "etcd_debugging_mvcc_watch_stream_total") >= 1) {
                return i;
            }
        }
        throw new AssertionError("no member has the client's watch stream");
    }

    private static void awaitRevision(Recorder recorder, long revision, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (recorder.lastRevision() < revision) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("watch reached revision " + recorder.lastRevision() + ", wanted " + revision);
            }
            Thread.sleep(20);
        }
    }
}
