package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every lock holder watches its own key: a key deleted from outside, or the session's lease revoked from outside,
 * turns {@link LockHandle#isHeld()} false and fails {@link LockHandle#lost()} within a round trip of the delete
 * event. The default 60 s TTL means the next keep-alive answer, which was all that told of a revoke before, comes
 * up to 20 s later; a deleted key was never noticed at all. The 5 s bound below is far under both.
 */
class HolderHearsOfItsLossAtOnceTest extends OneEtcdOneClient {
    private static final Duration AT_ONCE = Duration.ofSeconds(5);

    private static final List<Function<Session, LockHandle>> RECIPES = List.of(
            s -> s.mutex("/hears-loss/mutex").lock(),
            s -> s.readWriteLock("/hears-loss/rw").readLock().lock(),
            s -> s.readWriteLock("/hears-loss/rw2").writeLock().lock(),
            s -> s.semaphore("/hears-loss/semaphore", 2).acquire());

    @Test
    void aKeyDeletedFromOutsideEndsTheHoldAtOnceForEveryRecipe() throws Exception {
        RecordingLockListener heard = new RecordingLockListener();
        try (EtcdLockClient listened = clientWith(heard); Session session = listened.newSession()) {
            for (Function<Session, LockHandle> recipe : RECIPES) {
                LockHandle handle = recipe.apply(session);
                assertTrue(handle.isHeld());
                assertFalse(handle.lost().isDone());
                client.txn().delete(handle.key()).commit();
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> handle.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS));
                assertInstanceOf(LockNotHeldException.class, e.getCause());
                assertFalse(handle.isHeld(), handle + " after its key was deleted");
                List<RecordingLockListener.Call> calls = heard.await(handle.name(), 2);
                assertEquals("lost", calls.get(1).method(), "the listener hears of it now, not at unlock");
                assertThrows(LockNotHeldException.class, handle::unlock);
            }
        }
    }

    @Test
    void aLeaseRevokedFromOutsideEndsTheHoldAtOnce() throws Exception {
        Session session = client.newSession(); // default TTL: 60 s, keep-alives every 20 s
        LockHandle handle = session.mutex("/hears-loss/revoked").lock();
        revokeLease(session.leaseId());
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> handle.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, e.getCause(), "the lease is named as the cause");
        assertFalse(handle.isHeld());
        session.close();
    }

    /** The same for a term: the cause named after one LeaseTimeToLive, as for the locks. */
    @Test
    void aLeaderHearsWhetherItsLeaseOrOnlyItsKeyWent() throws Exception {
        try (Session session = client.newSession()) {
            Leadership term = session.election("/hears-loss/election").campaign("a");
            client.txn().delete(term.key()).commit();
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> term.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS));
            assertInstanceOf(LockNotHeldException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("by somebody else"), e.getCause().getMessage());
            assertFalse(term.isHeld());
            term.close();
        }
        Session revoked = client.newSession();
        Leadership term = revoked.election("/hears-loss/election").campaign("b");
        revokeLease(revoked.leaseId());
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> term.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, e.getCause(), e.getCause().toString());
        assertFalse(term.isHeld());
        revoked.close();
    }

    @Test
    void unlockAndSessionCloseCompleteLostNormally() throws Exception {
        try (Session session = client.newSession()) {
            LockHandle released = session.mutex("/hears-loss/unlocked").lock();
            released.unlock();
            released.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS); // normally
            assertFalse(released.isHeld());
            LockHandle closed = session.mutex("/hears-loss/closed").lock();
            session.close();
            closed.lost().get(AT_ONCE.toSeconds(), TimeUnit.SECONDS);
            assertFalse(closed.isHeld());
        }
    }

    /**
     * lost() is done when unlock(), resign() or the session's close() returns, yet the application's stages on it run
     * on the common pool, not inside that call: a stage that waits for the thread that unlocks must not block it.
     */
    @Test
    void lostIsDoneWhenTheReleaseReturnsWithoutRunningStagesInsideIt() throws Exception {
        Session session = client.newSession();
        LockHandle lock = session.mutex("/hears-loss/stage").lock();
        assertReleaseDoesNotWaitForStages(lock.lost(), lock::unlock);
        Leadership term = session.election("/hears-loss/stage-election").campaign("a");
        assertReleaseDoesNotWaitForStages(term.lost(), term::resign);
        assertReleaseDoesNotWaitForStages(session.lost(), session::close);
    }

    private static void assertReleaseDoesNotWaitForStages(CompletableFuture<Void> lost, Runnable release)
            throws Exception {
        CountDownLatch releaseReturned = new CountDownLatch(1);
        CompletableFuture<Void> stageDone = lost.whenComplete((v, e) -> {
            try {
                releaseReturned.await(10, TimeUnit.SECONDS); // waits for the releasing thread
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        });
        release.run();
        boolean doneAtReturn = lost.isDone();
        boolean stageFinishedInside = stageDone.isDone();
        releaseReturned.countDown();
        assertTrue(doneAtReturn, "lost() is done when the release returns");
        assertFalse(lost.isCompletedExceptionally());
        assertFalse(stageFinishedInside, "the stage ran inside the release call, which waited for it");
        stageDone.get(5, TimeUnit.SECONDS);
    }

    /** Before: a second Lease object for one id split the keep-alive answers and broke the lease manager. */
    @Test
    void attachingALeaseThisClientAlreadyKeepsAliveIsRefused() {
        try (Session session = client.newSession()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> client.attachSession(session.leaseId()));
            assertTrue(e.getMessage().contains("already kept alive"), e.getMessage());
            assertTrue(session.mutex("/hears-loss/attach").lock(Duration.ofSeconds(5)).isHeld(),
                    "the first session is unharmed");
        }
    }
}
