package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An observer, a leader and a candidate whose watches must resume from a revision etcd has compacted meanwhile
 * (every stream breaks when the member restarts) read again and go on: the observer still sees the next leader, the
 * leader keeps its term and still hears when its key is deleted, the candidate is still elected.
 */
class ElectionSurvivesCompactionTest {

    @Test
    void observerLeaderAndCandidateReadAgainAfterCompaction() throws Exception {
        String name = "/compaction/election";
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                EtcdLockClient leaderClient = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                EtcdLockClient otherClient = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
                Session leader = leaderClient.newSession(Duration.ofSeconds(20));
                Session candidate = otherClient.newSession(Duration.ofSeconds(20));
                Session watcher = otherClient.newSession(Duration.ofSeconds(20))) {
            BlockingQueue<LeaderInfo> seen = new LinkedBlockingQueue<>();
            Flow.Subscription observing = watcher.election(name).observe(seen::add);
            Leadership term = leader.election(name).campaign("first");
            assertEquals("first", next(seen).value());
            CompletableFuture<Leadership> waiting = candidate.election(name).campaignAsync("second");
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") >= 2, Duration.ofSeconds(5),
                    () -> "candidate enqueued");
            // every stream breaks; each watch must resume from a compacted revision
            CompactedHistory.compactAndBreakStreams(etcd, admin);

            Thread.sleep(1_000);
            assertTrue(term.isHeld(), "the leader keeps its term across the compaction");
            assertFalse(term.lost().isDone());
            assertFalse(waiting.isDone(), "the candidate still waits");
            term.proclaim("first, again");
            assertEquals("first, again", next(seen).value(), "the observer follows from its new read");

            // the leader's own watch, re-read after the compaction, still sees its key go
            admin.kv().delete(DeleteRangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(term.key())).build())
                    .join();
            ExecutionException lost = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> term.lost().get(5, TimeUnit.SECONDS));
            assertInstanceOf(LockNotHeldException.class, lost.getCause());
            try (Leadership second = waiting.get(10, TimeUnit.SECONDS)) {
                LeaderInfo observed = next(seen);
                assertEquals("second", observed.value());
                assertEquals(second.fencingToken(), observed.fencingToken());
            }
            term.close();
            observing.cancel();
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
        }
    }

    private static LeaderInfo next(BlockingQueue<LeaderInfo> seen) throws InterruptedException {
        LeaderInfo info = seen.poll(10, TimeUnit.SECONDS);
        assertTrue(info != null, "no leader observed within 10 s");
        return info;
    }
}
