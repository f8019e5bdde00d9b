package dev.etcdlock.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.Etcdctl;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.cli.CliRun;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.transport.Credentials;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * What a user whose role grants only the lock's prefix can do on an etcd with authentication, however it logs in
 * (simple tokens, JWT tokens, a client certificate's common name): connect, read the server version, lock, wait
 * for a lock through the watch stream, keep its lease alive, write guarded by the lock, use the command line; and
 * what it is told where its role does not reach. Each subclass starts its own etcd and says how "alice" logs in.
 * etcd 3.5.28 to 3.5.31 refuse such a user {@code Maintenance.Status}, and from 3.5.28 every call before
 * authenticating.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@EnabledIf(value = "dev.etcdlock.Etcdctl#available", disabledReason = "etcdctl is not on the PATH")
abstract class RoleLimitedUserContract {
    static final String ALLOWED = "/allowed/";
    protected EtcdTestCluster etcd;

    /** A fresh etcd, authentication not yet enabled. */
    abstract EtcdTestCluster startEtcd() throws Exception;

    /** etcdctl's flags for this etcd (TLS, say), before any {@code --user}. */
    List<String> etcdctlFlags() {
        return List.of();
    }

    /** A client builder that connects as alice: with her password, unless a subclass says otherwise. */
    EtcdLockClient.Builder asAlice() {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).credentials("alice", "alicepw");
    }

    /** Engine settings that connect as alice, as {@link #asAlice()} does. */
    Engine.Settings aliceSettings() {
        return Engine.Settings.of(etcd.clientEndpoints()).withCredentials(new Credentials("alice", "alicepw"));
    }

    /** The command line's flags that connect as alice (endpoints included). */
    abstract List<String> aliceCli();

    /** Whether alice's calls carry tokens that expire after 2 s (simple and JWT, not a certificate's name). */
    abstract boolean tokensExpire();

    @BeforeAll
    void enableAuthentication() throws Exception {
        etcd = startEtcd();
        etcdctl("user", "add", "root:rootpw");
        etcdctl("user", "grant-role", "root", "root");
        etcdctl("auth", "enable");
        etcdctl("--user=root:rootpw", "user", "add", "alice:alicepw");
        etcdctl("--user=root:rootpw", "role", "add", "locks");
        etcdctl("--user=root:rootpw", "role", "grant-permission", "locks", "readwrite", ALLOWED, "--prefix=true");
        etcdctl("--user=root:rootpw", "user", "grant-role", "alice", "locks");
    }

    @AfterAll
    void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    final void etcdctl(String... args) throws Exception {
        List<String> all = new ArrayList<>(etcdctlFlags());
        all.addAll(List.of(args));
        Etcdctl.run(etcd.clientEndpoints().get(0), all.toArray(String[]::new));
    }

    @Test
    void connectsAndReadsTheServerVersionWithoutAdminRights() {
        try (EtcdLockClient alice = asAlice().build()) {
            assertTrue(alice.serverVersion().matches("3\\.\\d+\\.\\d+.*"), alice.serverVersion());
        }
    }

    @Test
    void locksWaitsAndWritesGuardedWithinItsPrefix() throws Exception {
        try (EtcdLockClient a = asAlice().build(); EtcdLockClient b = asAlice().build();
                Session holder = a.newSession(); Session waiter = b.newSession()) {
            handOver(holder, waiter, ALLOWED + "job");
            try (LockHandle lock = holder.mutex(ALLOWED + "job").lock(Duration.ofSeconds(5))) {
                assertTrue(a.txn().ifHeld(lock).put(ALLOWED + "data", "v").commit());
            }
        }
        assertEquals(0, keysUnder(ALLOWED + "job/"));
    }

    @Test
    void keepsItsLeaseAlivePastItsTtl() throws Exception {
        try (EtcdLockClient alice = asAlice().build(); Session s = alice.newSession(Duration.ofSeconds(2));
                LockHandle lock = s.mutex(ALLOWED + "long").lock(Duration.ofSeconds(5))) {
            Thread.sleep(5_000); // 2.5 TTLs: only keep-alives keep the key
            assertTrue(lock.isHeld());
            assertEquals(1, keysUnder(ALLOWED + "long/"));
        }
        assertEquals(0, keysUnder(ALLOWED + "long/"));
    }

    @Test
    void isToldPermissionDeniedAndWhatToGrantOutsideItsPrefix() {
        try (EtcdLockClient alice = asAlice().build(); Session s = alice.newSession()) {
            EtcdRequestException e = assertThrows(EtcdRequestException.class,
                    () -> s.mutex("/denied/job").lock(Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("permission denied") && e.getMessage().contains("grant-permission"),
                    e.getMessage());
        }
    }

    @Test
    void theCommandLineLocksChecksAndShowsStatusAsThisUser() {
        CliRun lock = cli("lock", ALLOWED + "cli", "--", "true");
        assertEquals(0, lock.code(), lock::toString);
        CliRun check = cli("check", "--prefix", ALLOWED + "check/");
        assertEquals(0, check.code(), check::toString);
        assertTrue(check.out().contains("OK") && check.out().matches("(?s).*etcd 3\\.\\d+\\.\\d+.*"), check::toString);
        CliRun status = cli("status", ALLOWED + "cli");
        assertEquals(0, status.code(), status::toString);
        CliRun denied = cli("check");
        assertEquals(1, denied.code(), denied::toString);
        assertTrue(denied.err().contains("permission denied") && denied.err().contains("--prefix"), denied::toString);
    }

    @Test
    void anExpiredTokenIsRenewedForCallsAndForTheWatchStream() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(tokensExpire(), "this user's calls carry no token");
        try (EtcdLockClient a = asAlice().build(); EtcdLockClient b = asAlice().build();
                Session holder = a.newSession(); Session waiter = b.newSession()) {
            handOver(holder, waiter, ALLOWED + "renew-a"); // opens b's watch stream, with its first token
            Thread.sleep(3_000); // the tokens expire after 2 s
            // b's enqueue meets the expired token first (renewed), then its new watch is refused on the stream
            // opened with the old token: the stream is reopened with the new one
            handOver(holder, waiter, ALLOWED + "renew-b");
        }
        assertEquals(0, keysUnder(ALLOWED + "renew-"));
    }

    private CliRun cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        int at = all.indexOf("--") < 0 ? all.size() : all.indexOf("--");
        all.addAll(at, aliceCli());
        return CliRun.of(all.toArray(String[]::new));
    }

    long keysUnder(String prefix) {
        try (Engine engine = Engine.connect(aliceSettings())) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p))
                    .setCountOnly(true).build()).join().getCount();
        }
    }

    /** holder takes the lock, waiter waits for it, holder releases, waiter gets it and releases. */
    static void handOver(Session holder, Session waiter, String name) throws Exception {
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
