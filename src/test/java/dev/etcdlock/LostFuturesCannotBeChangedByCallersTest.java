package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link Session#lost()} and {@link Leadership#lost()} hand out futures: one caller completing or cancelling the one
 * it got (a {@code cancel()} to stop waiting, an {@code orTimeout()}) must not change what the session or term tells
 * every other caller, and a real loss must still reach them promptly.
 */
class LostFuturesCannotBeChangedByCallersTest extends OneEtcdOneClient {
    @Test
    void cancellingTheSessionsLostFutureDoesNotHideALaterLoss() throws Exception {
        Session session = client.newSession(Duration.ofSeconds(3)); // keep-alive every second
        CompletableFuture<Void> kept = session.lost();
        assertSame(kept, session.lost(), "one future per session, however often it is asked for");
        assertFalse(session.lost().cancel(true));
        assertThrows(UnsupportedOperationException.class, () -> session.lost().complete(null));
        assertThrows(UnsupportedOperationException.class, () -> session.lost().orTimeout(1, TimeUnit.MILLISECONDS));
        CompletableFuture<Void> timed = session.lost().copy().orTimeout(1, TimeUnit.MILLISECONDS);
        assertThrows(ExecutionException.class, () -> timed.get(5, TimeUnit.SECONDS), "a caller's own timeout");
        CompletableFuture<Void> chained = session.lost().thenRun(() -> { });
        assertTrue(chained.cancel(true), "a chained stage is the caller's own");
        assertFalse(session.lost().isDone(), "nothing a caller did to its future ended the session's");
        assertTrue(session.isValid());

        revokeLease(session.leaseId());
        ExecutionException e = assertThrows(ExecutionException.class, () -> session.lost().get(5, TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, e.getCause());
        assertFalse(session.isValid());
        // a future taken before the loss hears of it too, with the exception itself, not wrapped
        AtomicReference<Throwable> seen = new AtomicReference<>();
        kept.whenComplete((v, t) -> seen.set(t)).exceptionally(t -> null).get(5, TimeUnit.SECONDS);
        assertInstanceOf(LeaseLostException.class, seen.get());
        session.close();
    }

    @Test
    void completingTheSessionsLostFutureDoesNotEndTheSession() throws Exception {
        try (Session session = client.newSession()) {
            assertThrows(UnsupportedOperationException.class, () -> session.lost().complete(null));
            assertThrows(UnsupportedOperationException.class,
                    () -> session.lost().completeExceptionally(new IllegalStateException("a caller's doing")));
            assertThrows(UnsupportedOperationException.class, () -> session.lost().obtrudeValue(null));
            assertThrows(UnsupportedOperationException.class, () -> session.lost().completeAsync(() -> null));
            assertFalse(session.lost().isDone());
            assertTrue(session.isValid());
            session.close();
            assertNull(session.lost().get(5, TimeUnit.SECONDS), "a close completes it normally");
        }
    }

    @Test
    void cancellingALeadershipsLostFutureDoesNotHideItsLoss() throws Exception {
        Session session = client.newSession(Duration.ofSeconds(3));
        Leadership term = session.election("/lost-future/election").campaign("a");
        CompletableFuture<Void> kept = term.lost();
        assertSame(kept, term.lost());
        assertFalse(term.lost().cancel(true));
        assertThrows(UnsupportedOperationException.class, () -> term.lost().complete(null));
        assertThrows(UnsupportedOperationException.class,
                () -> term.lost().completeOnTimeout(null, 1, TimeUnit.MILLISECONDS));
        assertFalse(term.lost().isDone(), "nothing a caller did to its future ended the term's");
        assertTrue(term.isHeld());

        long start = System.nanoTime();
        revokeLease(session.leaseId());
        ExecutionException e = assertThrows(ExecutionException.class, () -> term.lost().get(5, TimeUnit.SECONDS));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(e.getCause() instanceof LockNotHeldException || e.getCause() instanceof LeaseLostException,
                "a loss: " + e.getCause());
        assertTrue(tookMs < 1_000, "told in " + tookMs + " ms: the watch sees the key go at once");
        assertFalse(term.isHeld());
        assertThrows(ExecutionException.class, () -> kept.get(5, TimeUnit.SECONDS));
        term.close();
        session.close();
    }
}
