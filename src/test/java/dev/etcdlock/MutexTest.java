package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MutexTest extends OneEtcdOneClient {

    /** One holder's tenure: who, when (monotonic), with which token. */
    record Tenure(int worker, long from, long to, long token) {
    }


    /** Unprotected read-modify-write: concurrent holders would lose increments. */
    private static volatile long counter;

    /** Stays 0-2 ms between the read and the write, so that a holder coming in meanwhile shows, in both ways. */
    private static void criticalSection() {
        long read = counter;
        Intervals.stayBriefly();
        counter = read + 1;
    }

    private static void assertExclusive(List<Tenure> tenures, int expected) {
        assertEquals(expected, tenures.size());
        List<Tenure> byStart = new ArrayList<>(tenures);
        byStart.sort((a, b) -> Long.compare(a.from(), b.from()));
        for (int i = 1; i < byStart.size(); i++) {
            Tenure prev = byStart.get(i - 1);
            Tenure next = byStart.get(i);
            assertTrue(next.from() >= prev.to(), "overlap: " + prev + " and " + next);
            assertTrue(next.token() > prev.token(), "fencing tokens must grow: " + prev + " then " + next);
        }
    }

    @Test
    void eightClientsExcludeEachOther() throws Exception {
        String name = "/mutex-test/clients";
        int workers = 8;
        int rounds = 200;
        List<Tenure> tenures = java.util.Collections.synchronizedList(new ArrayList<>());
        long counterBefore = counter;
        List<EtcdLockClient> clients = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        java.net.URI metrics = java.net.URI.create(etcd.clientEndpoints().get(0) + "/metrics");
        double watchRequestsBefore = EtcdMetrics.read(metrics, "grpc_server_msg_received_total",
                "grpc_method=\"Watch\"");
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                EtcdLockClient c = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                clients.add(c);
                int worker = w;
                futures.add(pool.submit(() -> {
                    try (Session session = c.newSession(Duration.ofSeconds(10))) {
                        Mutex mutex = session.mutex(name);
                        for (int i = 0; i < rounds; i++) {
                            try (LockHandle lock = mutex.lock(Duration.ofSeconds(30))) {
                                long from = System.nanoTime();
                                criticalSection();
                                long to = System.nanoTime();
                                tenures.add(new Tenure(worker, from, to, lock.fencingToken()));
                            }
                        }
                    }
                    return null;
                }));
            }
            long start = System.nanoTime();
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("8 clients x %d acquisitions: %.0f acquisitions/s%n", rounds, workers * rounds / seconds);
        } finally {
            pool.shutdownNow();
            clients.forEach(EtcdLockClient::close);
        }
        assertExclusive(tenures, workers * rounds);
        assertEquals(workers * rounds, counter - counterBefore, "no increment lost in the critical section");
        assertEquals(0, keys(name), "no keys left under the lock name");
        // watch creates and cancels received by etcd: one shared watch per client, not one per wait
        double watchRequests = EtcdMetrics.read(metrics, "grpc_server_msg_received_total", "grpc_method=\"Watch\"")
                - watchRequestsBefore;
        assertTrue(watchRequests <= 2 * workers, watchRequests + " watch requests for " + workers * rounds
                + " acquisitions");
    }

    @Test
    void eightThreadsSharingOneSessionExcludeEachOther() throws Exception {
        String name = "/mutex-test/threads";
        int threads = 8;
        int rounds = 200;
        List<Tenure> tenures = java.util.Collections.synchronizedList(new ArrayList<>());
        long counterBefore = counter;
        AtomicInteger inside = new AtomicInteger();
        try (Session session = client.newSession(Duration.ofSeconds(10))) {
            Mutex mutex = session.mutex(name);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int worker = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        try (LockHandle lock = mutex.lock(Duration.ofSeconds(30))) {
                            assertEquals(1, inside.incrementAndGet(), "two threads inside at once");
                            long from = System.nanoTime();
                            criticalSection();
                            long to = System.nanoTime();
                            inside.decrementAndGet();
                            tenures.add(new Tenure(worker, from, to, lock.fencingToken()));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
            pool.shutdownNow();
        }
        assertExclusive(tenures, threads * rounds);
        assertEquals(threads * rounds, counter - counterBefore, "no increment lost in the critical section");
        assertEquals(0, keys(name));
    }

    @Test
    void tryLockNeverWaitsAndLeavesNothingWhenTaken() {
        String name = "/mutex-test/try";
        try (Session a = client.newSession(); Session b = client.newSession()) {
            Optional<LockHandle> first = a.mutex(name).tryLock();
            assertTrue(first.isPresent());
            assertTrue(b.mutex(name).tryLock().isEmpty(), "held by a");
            assertTrue(a.mutex(name).tryLock().isEmpty(), "not reentrant: held by this session's other handle");
            assertEquals(1, keys(name));
            first.get().unlock();
            Optional<LockHandle> second = b.mutex(name).tryLock();
            assertTrue(second.isPresent());
            assertTrue(second.get().fencingToken() > first.get().fencingToken());
            second.get().unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void timedOutWaitLeavesNoKey() {
        String name = "/mutex-test/timeout";
        try (Session a = client.newSession(); Session b = client.newSession();
                LockHandle held = a.mutex(name).lock()) {
            long start = System.nanoTime();
            LockTimeoutException e = assertThrows(LockTimeoutException.class,
                    () -> b.mutex(name).lock(Duration.ofMillis(300)));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // not before its time; how soon after is a matter for the benchmarks
            assertTrue(tookMs >= 300, "gave up after " + tookMs + " ms");
            assertTrue(e.getMessage().contains("nothing was left"), e.getMessage());
            assertEquals(1, keys(name), "only the holder's key");
            assertTrue(held.isHeld());
        }
        assertEquals(0, keys(name));
    }

    @Test
    void unlockTwiceIsAClearErrorAndCloseIsIdempotent() {
        try (Session s = client.newSession()) {
            LockHandle lock = s.mutex("/mutex-test/twice").lock();
            lock.unlock();
            LockNotHeldException e = assertThrows(LockNotHeldException.class, lock::unlock);
            assertTrue(e.getMessage().contains("already released"), e.getMessage());
            lock.close();
            assertFalse(lock.isHeld());
        }
    }

    /**
     * What each acquisition registers: a watch subscription while its waiter waits and one while it holds (on the
     * client's multiplexer), and callbacks for the lease's end. Half the rounds wait behind a rival, so that the
     * waiter's subscription is made too.
     */
    @Test
    void aLongLivedSessionDoesNotPileUpWatchesOrLeaseCallbacksPerAcquisition() throws Exception {
        String name = "/mutex-test/pile-up";
        int rounds = 200;
        try (Session s = client.newSession(); Session rival = client.newSession()) {
            Mutex mutex = s.mutex(name);
            Mutex rivals = rival.mutex(name);
            mutex.lock().unlock(); // the queue's shared etcd watch exists from here on, and lingers
            int subscriptionsBefore = Internals.subscriptions(client);
            int leaseCallbacksBefore = Internals.lease(s).done().getNumberOfDependents();
            double etcdWatchersBefore = etcdWatchers();
            for (int i = 0; i < rounds; i++) {
                if (i % 2 == 0) {
                    mutex.lock().unlock();
                    continue;
                }
                LockHandle held = rivals.lock(Duration.ofSeconds(5));
                CompletableFuture<LockHandle> waiting = mutex.lockAsync();
                awaitQueued(name, s);
                held.unlock();
                waiting.get(5, TimeUnit.SECONDS).unlock();
            }
            // a cancel is posted to the serial context; the count runs there after it
            assertEquals(subscriptionsBefore, Internals.subscriptions(client),
                    "watch subscriptions after " + rounds + " acquisitions");
            assertEquals(leaseCallbacksBefore, Internals.lease(s).done().getNumberOfDependents(),
                    "callbacks on the lease after " + rounds + " acquisitions");
            assertTrue(etcdWatchers() <= etcdWatchersBefore + 1, "etcd watchers: " + etcdWatchersBefore + " before, "
                    + etcdWatchers() + " after " + rounds + " acquisitions");
        }
        assertEquals(0, keys(name));
    }

    @Test
    void badNamesAndClosedSessionsFailFast() {
        Session s = client.newSession();
        assertThrows(IllegalArgumentException.class, () -> s.mutex(""));
        assertThrows(IllegalArgumentException.class, () -> s.mutex("/a\0b"));
        Mutex m = s.mutex("/mutex-test/closed");
        s.close();
        assertThrows(ClientClosedException.class, m::lock);
        assertThrows(ClientClosedException.class, () -> s.mutex("/x"));
        assertThrows(IllegalArgumentException.class, () -> client.newSession(Duration.ZERO));
        try (Session open = client.newSession(Duration.ofSeconds(10))) {
            Mutex mutex = open.mutex("/mutex-test/bad-timeouts");
            assertThrows(IllegalArgumentException.class, () -> mutex.lock(Duration.ZERO));
            assertThrows(IllegalArgumentException.class, () -> mutex.lock(Duration.ofSeconds(-1)));
            Duration left = open.remainingValidity();
            assertTrue(left.compareTo(Duration.ZERO) > 0 && left.compareTo(Duration.ofSeconds(10)) <= 0, left::toString);
        }
        assertEquals(Duration.ZERO, s.remainingValidity(), "closed");
    }
}
