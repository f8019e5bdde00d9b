package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LockHandle#close()} of a lock whose key is gone warns that someone else may have held it. That is news
 * after a loss (the lease revoked from outside, or expired), and noise after the application closed the session or
 * the client itself: then it must stay quiet. (System.Logger goes to java.util.logging here.)
 */
class HandleCloseWarnsOnlyOfARealLossTest extends OneEtcdOneClient {
    private static final Logger HANDLE_LOG = Logger.getLogger(LockHandle.class.getName());
    private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureWarnings() {
        HANDLE_LOG.addHandler(capture);
    }

    @AfterEach
    void stopCapturing() {
        HANDLE_LOG.removeHandler(capture);
    }

    @Test
    void closingAHandleAfterItsSessionWasClosedLogsNoWarning() {
        String name = "/close-warning/session-closed";
        Session session = client.newSession();
        LockHandle lock = session.mutex(name).lock();
        session.close();
        assertEquals(0, keys(name), "the session's close released the lock");

        lock.close();
        assertEquals(List.of(), messages(), "a deliberate close is no loss");
    }

    @Test
    void unlockAfterItsSessionWasClosedSaysSoRatherThanLost() {
        String name = "/close-warning/session-closed-unlock";
        Session session = client.newSession();
        LockHandle lock = session.mutex(name).lock();
        session.close();

        LockNotHeldException e = assertThrows(LockNotHeldException.class, lock::unlock);
        assertEquals(LockNotHeldException.Reason.CLOSED, e.reason(), "not lost, closed: " + e.getMessage());
    }

    @Test
    void closingAHandleAfterItsClientWasClosedLogsNoWarning() {
        String name = "/close-warning/client-closed";
        EtcdLockClient own = EtcdLockClient.connect(String.join(",", etcd.clientEndpoints()));
        LockHandle lock = own.newSession().mutex(name).lock();
        own.close();

        lock.close();
        assertEquals(List.of(), messages(), "a deliberate close is no loss");
    }

    /** The other side: the check above would pass if the handle never warned at all. */
    @Test
    void closingAHandleWhoseLeaseWasRevokedFromOutsideWarns() throws Exception {
        String name = "/close-warning/revoked";
        Session session = client.newSession(Duration.ofSeconds(3));
        LockHandle lock = session.mutex(name).lock();
        revokeLease(session.leaseId());
        assertThrows(ExecutionException.class, () -> session.lost().get(5, TimeUnit.SECONDS));

        lock.close();
        assertEquals(1, warnings.size(), "one warning: " + messages());
        assertTrue(messages().get(0).contains("someone else may have held it"), messages().get(0));
        session.close();
    }

    @Test
    void closingAHandleWhoseKeyWasDeletedFromOutsideWarns() {
        String name = "/close-warning/deleted";
        try (Session session = client.newSession()) {
            LockHandle lock = session.mutex(name).lock();
            client.txn().delete(lock.key()).commit();

            lock.close();
            assertEquals(1, warnings.size(), "one warning: " + messages());
        }
    }

    private List<String> messages() {
        return warnings.stream().map(LogRecord::getMessage).toList();
    }
}
