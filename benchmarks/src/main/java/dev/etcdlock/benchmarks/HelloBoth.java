package dev.etcdlock.benchmarks;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.nio.charset.StandardCharsets;

public final class HelloBoth {
    public static void main(String[] args) throws Exception {
        String ep = System.getenv().getOrDefault("ETCD_ENDPOINTS", "http://127.0.0.1:2379");
        try (EtcdLockClient c = EtcdLockClient.connect(ep); Session s = c.newSession();
             LockHandle h = s.mutex("/hello/a").lock()) {
            System.out.println("etcd-lock: " + h + " on etcd " + c.serverVersion());
        }
        try (Client jc = Client.builder().endpoints(ep.split(",")).build()) {
            long lease = jc.getLeaseClient().grant(10).get().getID();
            var r = jc.getLockClient().lock(ByteSequence.from("/hello/b", StandardCharsets.UTF_8), lease).get();
            System.out.println("jetcd: " + r.getKey().toString(StandardCharsets.UTF_8));
            jc.getLockClient().unlock(r.getKey()).get();
            jc.getLeaseClient().revoke(lease).get();
        }
        System.out.println("both ok");
        System.exit(0);
    }
}
