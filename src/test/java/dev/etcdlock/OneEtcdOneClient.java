package dev.etcdlock;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** For test classes that share one single-member etcd and one client across their tests. */
abstract class OneEtcdOneClient {
    protected static EtcdTestCluster etcd;
    protected static EtcdLockClient client;

    @BeforeAll
    static void startEtcdAndClient() {
        etcd = EtcdTestCluster.single();
        client = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()));
    }

    @AfterAll
    static void stopEtcdAndClient() {
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    /** How many keys are under the lock name (its waiters and holder). */
    static long keys(String name) {
        return EtcdKeys.count(etcd.clientEndpoints(), name + "/");
    }
}
