package dev.etcdlock;

import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import java.time.Duration;
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
        Await.until(() -> keys(name) == count, within, () -> "expected " + count + " keys under " + name);
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
