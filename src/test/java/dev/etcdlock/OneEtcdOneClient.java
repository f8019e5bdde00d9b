package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * For test classes that share one single-member etcd and one client across their tests. Classes in other packages,
 * or that extend something else, use {@link SharedEtcd} instead.
 */
abstract class OneEtcdOneClient {
    protected static EtcdTestCluster etcd;
    protected static EtcdLockClient client;
    /** Plays "somebody else" (an operator, another process): a connection of its own, opened on first use. */
    private static Engine outsider;

    @BeforeAll
    static void startEtcdAndClient() {
        etcd = EtcdTestCluster.single();
        client = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()));
    }

    @AfterAll
    static void stopEtcdAndClient() {
        synchronized (OneEtcdOneClient.class) {
            if (outsider != null) {
                outsider.close();
                outsider = null;
            }
        }
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    /** Another client of the same etcd, telling {@code listener} what its locks do; the caller closes it. */
    static EtcdLockClient clientWith(LockListener listener) {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).listener(listener).build();
    }

    /** How many keys are under the lock name (its waiters and holder). */
    static long keys(String name) {
        return EtcdKeys.count(etcd.clientEndpoints(), name + "/");
    }

    /** Waits until {@code count} keys are under the lock name; fails the test when they are not there in time. */
    static void awaitKeys(String name, long count, Duration within) throws InterruptedException {
        Await.until(() -> keysNow(name) == count, within, () -> "expected " + count + " keys under " + name
                + ", found " + keysNow(name));
    }

    /**
     * Waits until {@code session}'s key under the lock name is in etcd: its enqueue Txn is applied, so its waiter is
     * queued and watches from that revision on; what happens after it cannot be missed.
     */
    static void awaitQueued(String name, Session session) throws InterruptedException {
        String suffix = Long.toHexString(session.leaseId());
        Await.until(() -> keysUnder(name).stream().anyMatch(k -> k.endsWith("/" + suffix)), Duration.ofSeconds(10),
                () -> "session " + suffix + " not queued under " + name + ": " + keysUnder(name));
    }

    /** As {@link #keys}, over the outsider's open connection: cheap enough to poll. */
    static long keysNow(String name) {
        ByteString prefix = ByteString.copyFromUtf8(name + "/");
        return outsider().kv().range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                .setCountOnly(true).build()).join().getCount();
    }

    /** The keys under the lock name, over the outsider's connection. */
    static List<String> keysUnder(String name) {
        ByteString prefix = ByteString.copyFromUtf8(name + "/");
        return outsider().kv().range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                .setKeysOnly(true).build()).join().getKvsList().stream().map(kv -> kv.getKey().toStringUtf8())
                .toList();
    }

    /** Watchers etcd serves right now, over every client's streams: each distinct etcd watch is one. */
    static double etcdWatchers() {
        return EtcdMetrics.read(URI.create(etcd.clientEndpoints().get(0) + "/metrics"),
                "etcd_debugging_mvcc_watcher_total");
    }

    /** A connection that is not the client's, to change etcd behind the client's back. */
    static synchronized Engine outsider() {
        if (outsider == null) {
            outsider = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()));
        }
        return outsider;
    }

    /** Revokes the lease from outside, as an operator would, or as etcd does when keep-alives stop coming. */
    static void revokeLease(long leaseId) {
        outsider().transport().call(LeaseGrpc.getLeaseRevokeMethod(),
                LeaseRevokeRequest.newBuilder().setID(leaseId).build(), true).join();
    }
}
