package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client closed before its sessions and handles (a shutdown hook, a try-with-resources nested the other way round)
 * has already revoked their lease: closing them afterwards must be a quiet no-op, as {@link AutoCloseable} users
 * expect, and an explicit {@code unlock()} must tell that the lock is no longer held rather than that the client is
 * closed. Each test closes a client of its own; the shared one looks at what is left.
 */
class ClosingAfterTheClientIsQuietTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    @Test
    void sessionCloseAfterTheClientsCloseDoesNothing() {
        EtcdLockClient client = connect();
        Session session = client.newSession();
        session.mutex("/after-client-close/session").lock();
        client.close();

        assertDoesNotThrow(session::close, "the client's close revoked the lease already");
        assertDoesNotThrow(session::close, "and a second close too");
        assertFalse(session.isValid());
        assertTrue(session.lost().isDone() && !session.lost().isCompletedExceptionally(),
                "a close, not a loss");
        assertEquals(0, keys("/after-client-close/session"), "the client's close released the lock");
    }

    @Test
    void handleCloseAfterTheClientsCloseDoesNothingAndTheLockIsFree() {
        String name = "/after-client-close/handle";
        EtcdLockClient client = connect();
        Session session = client.newSession();
        LockHandle lock = session.mutex(name).lock();
        client.close();

        assertDoesNotThrow(lock::close);
        assertDoesNotThrow(lock::close, "a second close does nothing");
        assertFalse(lock.isHeld());
        assertDoesNotThrow(session::close);
        try (Session s = etcd.client().newSession()) {
            Optional<LockHandle> next = s.mutex(name).tryLock();
            assertTrue(next.isPresent(), "the client's close released the lock for others");
            next.get().unlock();
        }
    }

    @Test
    void unlockAfterTheClientsCloseSaysTheLockIsNotHeld() {
        String name = "/after-client-close/unlock";
        EtcdLockClient client = connect();
        Session session = client.newSession();
        LockHandle lock = session.mutex(name).lock();
        client.close();

        LockNotHeldException e = assertThrows(LockNotHeldException.class, lock::unlock);
        assertEquals(LockNotHeldException.Reason.CLOSED, e.reason(), e.getMessage());
        assertEquals(LockNotHeldException.Reason.RELEASED, assertThrows(LockNotHeldException.class, lock::unlock,
                "a second unlock, as documented").reason());
        assertDoesNotThrow(lock::close);
        assertEquals(0, keys(name));
    }

    /** The same, the nesting an application gets when a shutdown hook closes the client under a running block. */
    @Test
    void tryWithResourcesOfSessionAndHandleEndsQuietlyWhenTheClientClosedInside() {
        String name = "/after-client-close/nested";
        EtcdLockClient client = connect();
        assertDoesNotThrow(() -> {
            try (Session session = client.newSession(); LockHandle lock = session.mutex(name).lock()) {
                assertTrue(lock.isHeld());
                client.close();
            }
        });
        assertEquals(0, keys(name));
    }

    private static EtcdLockClient connect() {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).requestTimeout(Duration.ofSeconds(5))
                .build();
    }

    private static long keys(String name) {
        return EtcdKeys.count(etcd.clientEndpoints(), name + "/");
    }
}
