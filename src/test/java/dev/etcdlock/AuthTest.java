package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd with authentication enabled (etcdctl user/role/auth), and simple tokens that expire after 2 s of disuse, so
 * token renewal is exercised for unary calls and for the watch stream.
 */
@EnabledIf(value = "dev.etcdlock.Etcdctl#available", disabledReason = "etcdctl is not on the PATH")
class AuthTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.of(
            () -> EtcdTestCluster.single(List.of("--auth-token", "simple", "--auth-token-ttl", "2")));
    private static String endpoint;

    @BeforeAll
    static void enableAuthentication() throws Exception {
        endpoint = etcd.clientEndpoints().get(0);
        Etcdctl.run(endpoint, "user", "add", "root:rootpw");
        Etcdctl.run(endpoint, "user", "grant-role", "root", "root");
        Etcdctl.run(endpoint, "auth", "enable");
        Etcdctl.run(endpoint, "--user=root:rootpw", "user", "add", "alice:alicepw");
        Etcdctl.run(endpoint, "--user=root:rootpw", "role", "add", "locks");
        Etcdctl.run(endpoint, "--user=root:rootpw", "role", "grant-permission", "locks", "readwrite", "/allowed/",
                "--prefix=true");
        Etcdctl.run(endpoint, "--user=root:rootpw", "user", "grant-role", "alice", "locks");
    }

    private static EtcdLockClient connect(String user, String password) {
        return EtcdLockClient.builder().endpoints(endpoint).credentials(user, password).build();
    }

    @Test
    void aUserLocksWhereItsRoleAllowsAndIsToldWhereItDoesNot() {
        try (EtcdLockClient alice = connect("alice", "alicepw"); Session s = alice.newSession()) {
            try (LockHandle lock = s.mutex("/allowed/job").lock(Duration.ofSeconds(5))) {
                assertTrue(alice.txn().ifHeld(lock).put("/allowed/data", "v").commit());
            }
            EtcdRequestException e = assertThrows(EtcdRequestException.class,
                    () -> s.mutex("/denied/job").lock(Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("permission denied") && e.getMessage().contains("grant-permission"),
                    e.getMessage());
        }
    }

    @Test
    void wrongCredentialsFailAtBuildAndNoCredentialsSayWhatIsMissing() {
        EtcdRequestException wrong = assertThrows(EtcdRequestException.class, () -> connect("alice", "nope"));
        assertTrue(wrong.getMessage().contains("authentication failed")
                && wrong.getMessage().contains("check the user name and password"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains("nope"), "the password never appears in messages");
        try (EtcdLockClient anonymous = EtcdLockClient.connect(endpoint)) {
            EtcdLockException e = assertThrows(EtcdLockException.class,
                    () -> anonymous.newSession().mutex("/allowed/anon").lock(Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("credentials(user, password)"), e.getMessage());
        }
    }

    @Test
    void anExpiredTokenIsRenewedForCallsAndForTheWatchStream() throws Exception {
        java.net.URI metrics = java.net.URI.create(endpoint + "/metrics");
        try (EtcdLockClient root = connect("root", "rootpw");
                Session holder = root.newSession();
                Session waiter = root.newSession()) {
            double watchStreams = EtcdMetrics.read(metrics, "grpc_server_started_total", "grpc_method=\"Watch\"");
            handOver(holder, waiter, "/renew/a"); // opens the client's watch stream, with the first token
            Thread.sleep(3_000); // the token expires after 2 s without use
            // the enqueue Txn meets the expired token first (renewed), then the new watch is refused on the stream
            // opened with the old token: the stream is reopened with the new one
            handOver(holder, waiter, "/renew/b");
            assertEquals(2, EtcdMetrics.read(metrics, "grpc_server_started_total", "grpc_method=\"Watch\"")
                    - watchStreams, "the watch stream was reopened once, for the new token");
        }
        assertEquals(0, EtcdKeys.count(List.of(endpoint), "/renew/", "root", "rootpw"));
    }

    /** holder takes the lock, waiter waits for it, holder releases, waiter gets it and releases. */
    private static void handOver(Session holder, Session waiter, String name) throws Exception {
        LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
        CompletableFuture<LockHandle> waiting = waiter.mutex(name).lockAsync();
        Thread.sleep(300);
        assertFalse(waiting.isDone(), () -> "waits while held, but: " + waiting.handle((h, t) -> t).join());
        held.unlock();
        try (LockHandle mine = waiting.get(10, TimeUnit.SECONDS)) {
            assertTrue(mine.fencingToken() > held.fencingToken());
        }
    }
}
