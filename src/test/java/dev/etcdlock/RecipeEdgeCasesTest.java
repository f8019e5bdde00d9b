package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One suite, every recipe (Curator's {@code TestInterProcessMutexBase} idea): the edges each must handle the same
 * way, run against the mutex, both sides of the read-write lock and a semaphore of 2 permits, each contending with
 * what blocks it (a holder, readers for a writer, a writer for a reader, two holders for the semaphore).
 */
class RecipeEdgeCasesTest extends OneEtcdOneClient {
    /** A recipe, and what makes it wait. */
    enum Recipe {
        MUTEX(1) {
            @Override
            DistributedLock contender(Session s, String name) {
                return s.mutex(name);
            }

            @Override
            LockHandle block(Session s, String name) {
                return s.mutex(name).lock();
            }
        },
        WRITE_LOCK(2) {
            @Override
            DistributedLock contender(Session s, String name) {
                return s.readWriteLock(name).writeLock();
            }

            @Override
            LockHandle block(Session s, String name) {
                return s.readWriteLock(name).readLock().lock(); // two readers, below
            }
        },
        READ_LOCK(1) {
            @Override
            DistributedLock contender(Session s, String name) {
                return s.readWriteLock(name).readLock();
            }

            @Override
            LockHandle block(Session s, String name) {
                return s.readWriteLock(name).writeLock().lock();
            }
        },
        SEMAPHORE_OF_2(2) {
            @Override
            DistributedLock contender(Session s, String name) {
                return new SemaphoreAsLock(s.semaphore(name, 2));
            }

            @Override
            LockHandle block(Session s, String name) {
                return s.semaphore(name, 2).acquire();
            }
        };

        /** How many sessions must {@link #block} to make a contender wait. */
        final int blockers;

        Recipe(int blockers) {
            this.blockers = blockers;
        }

        abstract DistributedLock contender(Session s, String name);

        /** Takes what makes a contender wait, through {@code s}. */
        abstract LockHandle block(Session s, String name);

        String name(String test) {
            return "/recipes/" + name().toLowerCase() + "/" + test;
        }
    }

    /** The semaphore's methods under the lock's names, for this suite only. */
    private record SemaphoreAsLock(Semaphore semaphore) implements DistributedLock {
        @Override
        public String name() {
            return semaphore.name();
        }

        @Override
        public LockHandle lock() {
            return semaphore.acquire();
        }

        @Override
        public LockHandle lock(Duration timeout) {
            return semaphore.acquire(timeout);
        }

        @Override
        public LockHandle lockInterruptibly() throws InterruptedException {
            return semaphore.acquireInterruptibly();
        }

        @Override
        public Optional<LockHandle> tryLock() {
            return semaphore.tryAcquire();
        }

        @Override
        public CompletableFuture<LockHandle> lockAsync() {
            return semaphore.acquireAsync();
        }

        @Override
        public Lock asLock() {
            throw new UnsupportedOperationException();
        }
    }

    /** Sessions that block {@code name} for {@code recipe}'s contenders until closed. */
    private static final class Blockers implements AutoCloseable {
        final List<Session> sessions = new ArrayList<>();
        final List<LockHandle> held = new ArrayList<>();

        Blockers(Recipe recipe, String name) {
            for (int i = 0; i < recipe.blockers; i++) {
                Session s = client.newSession();
                sessions.add(s);
                held.add(recipe.block(s, name));
            }
        }

        void release() {
            held.forEach(LockHandle::unlock);
        }

        @Override
        public void close() {
            sessions.forEach(Session::close);
        }
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void aTimedOutWaitLeavesNoKey(Recipe recipe) {
        String name = recipe.name("timeout");
        try (Blockers blockers = new Blockers(recipe, name); Session s = client.newSession()) {
            long start = System.nanoTime();
            LockTimeoutException e = assertThrows(LockTimeoutException.class,
                    () -> recipe.contender(s, name).lock(Duration.ofMillis(300)));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMs >= 300 && tookMs < 3_000, "took " + tookMs + " ms");
            assertFalse(e.keyMayRemain(), e.getMessage());
            assertEquals(recipe.blockers, keys(name), "only the blockers' keys");
            blockers.release();
            recipe.contender(s, name).lock(Duration.ofSeconds(5)).unlock();
        }
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void anInterruptedWaitLeavesNoKey(Recipe recipe) throws Exception {
        String name = recipe.name("interrupt");
        try (Blockers blockers = new Blockers(recipe, name); Session s = client.newSession()) {
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    recipe.contender(s, name).lockInterruptibly();
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            waiter.start();
            awaitKeys(name, recipe.blockers + 1, Duration.ofSeconds(10));
            waiter.interrupt();
            assertInstanceOf(InterruptedException.class, outcome.get(5, TimeUnit.SECONDS));
            assertEquals(recipe.blockers, keys(name));

            CompletableFuture<Throwable> timed = new CompletableFuture<>();
            Thread timedWaiter = new Thread(() -> {
                try {
                    recipe.contender(s, name).lock(Duration.ofMinutes(1));
                    timed.complete(null);
                } catch (Throwable t) {
                    timed.complete(Thread.currentThread().isInterrupted() ? t : new AssertionError("flag lost", t));
                }
            });
            timedWaiter.start();
            awaitKeys(name, recipe.blockers + 1, Duration.ofSeconds(10));
            timedWaiter.interrupt();
            assertInstanceOf(LockInterruptedException.class, timed.get(5, TimeUnit.SECONDS));
            assertEquals(recipe.blockers, keys(name));
        }
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void aCancelledAsyncWaitLeavesNoKeyAndTheSessionCanComeBack(Recipe recipe) throws Exception {
        String name = recipe.name("cancel");
        try (Blockers blockers = new Blockers(recipe, name); Session s = client.newSession()) {
            CompletableFuture<LockHandle> wait = recipe.contender(s, name).lockAsync();
            awaitKeys(name, recipe.blockers + 1, Duration.ofSeconds(10));
            assertTrue(wait.cancel(true));
            awaitKeys(name, recipe.blockers, Duration.ofSeconds(10));
            blockers.release();
            try (LockHandle again = recipe.contender(s, name).lock(Duration.ofSeconds(5))) {
                assertTrue(again.isHeld());
            }
        }
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void tryLockNeverWaitsAndLeavesNothingWhenItCannotHold(Recipe recipe) {
        String name = recipe.name("try");
        try (Blockers blockers = new Blockers(recipe, name); Session s = client.newSession()) {
            assertTrue(recipe.contender(s, name).tryLock().isEmpty());
            assertEquals(recipe.blockers, keys(name));
            blockers.release();
            LockHandle held = recipe.contender(s, name).tryLock().orElseThrow();
            assertTrue(held.fencingToken() > blockers.held.get(0).fencingToken());
            held.unlock();
        }
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void aLeaseRevokedWhileWaitingFailsTheWaitAtOnce(Recipe recipe) throws Exception {
        String name = recipe.name("revoked-waiter");
        try (Blockers blockers = new Blockers(recipe, name)) {
            Session s = client.newSession();
            CompletableFuture<LockHandle> wait = recipe.contender(s, name).lockAsync();
            awaitKeys(name, recipe.blockers + 1, Duration.ofSeconds(10));
            long start = System.nanoTime();
            revokeLease(s.leaseId());
            ExecutionException e = assertThrows(ExecutionException.class, () -> wait.get(5, TimeUnit.SECONDS));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(LeaseLostException.class, e.getCause());
            assertTrue(tookMs < 1_000, "failed after " + tookMs + " ms: the waiter's key delete ends the wait");
            blockers.release();
            assertThrows(LeaseLostException.class, () -> recipe.contender(s, name).tryLock());
            s.close();
        }
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void aLeaseRevokedWhileHoldingIsObservedAndGuardedWritesAreRefused(Recipe recipe) throws Exception {
        String name = recipe.name("revoked-holder");
        Session session = client.newSession(Duration.ofSeconds(6)); // keep-alive every 2 s
        LockHandle lock = recipe.contender(session, name).lock();
        assertTrue(client.txn().ifHeld(lock).put(name + "-data", "v1").commit(), "guarded write while held");
        revokeLease(session.leaseId());
        assertFalse(client.txn().ifHeld(lock).put(name + "-data", "v2").commit(), "refused by etcd at once");
        ExecutionException lost = assertThrows(ExecutionException.class,
                () -> session.lost().get(3, TimeUnit.SECONDS));
        assertInstanceOf(LeaseLostException.class, lost.getCause());
        assertFalse(lock.isHeld());
        assertThrows(LockNotHeldException.class, lock::unlock, "unlock of a lost lock deletes nothing");
        session.close();
        assertEquals(0, keys(name));
    }

    @ParameterizedTest
    @EnumSource(Recipe.class)
    void closingTheSessionEndsItsWaits(Recipe recipe) throws Exception {
        String name = recipe.name("close");
        try (Blockers blockers = new Blockers(recipe, name)) {
            Session s = client.newSession();
            CompletableFuture<LockHandle> waiting = recipe.contender(s, name).lockAsync();
            awaitKeys(name, recipe.blockers + 1, Duration.ofSeconds(10));
            s.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
            assertInstanceOf(ClientClosedException.class, e.getCause());
            assertThrows(ClientClosedException.class, () -> recipe.contender(s, name));
        }
        assertEquals(0, keys(name));
    }
}
