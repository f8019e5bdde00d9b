package dev.etcdlock.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * JWT tokens valid for 10 minutes, so they go stale only one way: a JWT names the auth revision it was issued at,
 * and after any user or role change etcd refuses it ("revision of auth store is old"), from 3.5.28 on every
 * keep-alive of a non-admin user too. The client must get a new token, as for an expired one, or its leases die.
 */
class StaleJwtTokenAuthTest extends JwtTokenAuthTest {
    @Override
    String tokenTtl() {
        return "10m";
    }

    @Override
    boolean tokensExpire() {
        return false;
    }

    @Test
    void aRoleChangeElsewhereDoesNotCostTheHolderItsLeaseOrTheWaiterItsWatch() throws Exception {
        try (EtcdLockClient a = asAlice().build(); EtcdLockClient b = asAlice().build();
                Session holder = a.newSession(Duration.ofSeconds(2)); Session waiter = b.newSession()) {
            handOver(holder, waiter, ALLOWED + "stale-a"); // both clients' streams carry their first tokens
            LockHandle held = holder.mutex(ALLOWED + "stale-b").lock(Duration.ofSeconds(5));
            etcdctl("--user=root:rootpw", "role", "add", "unrelated"); // the auth revision moves on
            Thread.sleep(5_000); // 2.5 TTLs of keep-alives, each refused until the token is renewed
            assertTrue(held.isHeld(), "the holder kept its lease");
            assertTrue(a.txn().ifHeld(held).put(ALLOWED + "data-stale", "v").commit(), "a guarded write with a new token");
            held.unlock();
            handOver(holder, waiter, ALLOWED + "stale-c");
        }
        assertEquals(0, keysUnder(ALLOWED + "stale-"));
    }
}
