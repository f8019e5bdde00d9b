package dev.etcdlock.internal.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdMetrics;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.PutRequest;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A watch whose last subscriber leaves while its re-create after a stream break is still on the way must be
 * cancelled once etcd confirms it, not left streaming forever.
 */
class WatchLingerDuringResumeTest {

    @Test
    void watcherIsCancelledWhenItsLingerEndsDuringAResume() throws Exception {
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                Engine client = Engine.connect(Engine.Settings.of(etcd.clientEndpoints())
                        .withWatchLinger(Duration.ofSeconds(3)))) {
            URI metrics = URI.create(etcd.clientEndpoints().get(0) + "/metrics");
            double before = EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total");
            ByteString key = ByteString.copyFromUtf8("/linger/a");
            long start = client.kv().put(PutRequest.newBuilder().setKey(key).build()).join().getHeader().getRevision();
            WatchMultiplexer.Subscription sub = client.watches().subscribe(WatchSpec.key(key), start,
                    new RecordingListener());
            sub.ready().get(5, TimeUnit.SECONDS);
            int opened = client.watches().streamsOpened();
            etcd.local().pause(0);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
                while (client.watches().streamsOpened() == opened && System.nanoTime() < deadline) {
                    Thread.sleep(100); // gRPC keep-alive (10 s + 5 s) breaks the stream; the create is re-sent
                }
                assertTrue(client.watches().streamsOpened() > opened, "stream reopened");
                sub.cancel();
                Thread.sleep(4_000); // the 3 s linger ends while the re-create is unanswered
            } finally {
                etcd.local().resume(0);
            }
            Thread.sleep(3_000);
            assertEquals(before, EtcdMetrics.read(metrics, "etcd_debugging_mvcc_watcher_total"),
                    "no etcd watcher left once nobody subscribes and the linger is over");
        }
    }
}
