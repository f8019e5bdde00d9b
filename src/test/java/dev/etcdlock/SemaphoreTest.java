package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.proto.KeyValue;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SemaphoreTest extends OneEtcdOneClient {

    @Test
    void tenClientsNeverHoldMoreThanThreePermits() throws Exception {
        String name = "/semaphore-test/ten";
        int clients = 10;
        int rounds = 30;
        Intervals stays = new Intervals();
        List<Long> tokens = Collections.synchronizedList(new ArrayList<>());
        List<EtcdLockClient> opened = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < clients; w++) {
                EtcdLockClient c = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                opened.add(c);
                String worker = "client " + w;
                futures.add(pool.submit(() -> {
                    try (Session session = c.newSession(Duration.ofSeconds(10))) {
                        Semaphore semaphore = session.semaphore(name, 3);
                        for (int i = 0; i < rounds; i++) {
                            try (LockHandle permit = semaphore.acquire(Duration.ofSeconds(30))) {
                                tokens.add(permit.fencingToken());
                                stays.hold(worker);
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
            System.out.printf("semaphore of 3, %d clients x %d: %.0f acquisitions/s%n", clients, rounds,
                    clients * rounds / ((System.nanoTime() - start) / 1e9));
        } finally {
            pool.shutdownNow();
            opened.forEach(EtcdLockClient::close);
        }
        assertEquals(clients * rounds, tokens.size());
        assertEquals(clients * rounds, tokens.stream().distinct().count(), "every permit has its own token");
        assertEquals(clients * rounds, stays.all().size());
        int most = stays.assertAtMostAtOnce(3);
        assertEquals(3, most, "3 holders at once happened: the permits were shared");
        assertEquals(0, keys(name), "no keys left under the name");
    }

    @Test
    void waitersGetPermitsInTheOrderTheyCame() throws Exception {
        String name = "/semaphore-test/fifo";
        List<Session> sessions = new ArrayList<>();
        List<Integer> order = new CopyOnWriteArrayList<>();
        List<CompletableFuture<LockHandle>> waits = new ArrayList<>();
        try (Session a = client.newSession(); Session b = client.newSession()) {
            LockHandle first = a.semaphore(name, 2).acquire();
            LockHandle second = b.semaphore(name, 2).acquire();
            for (int i = 0; i < 5; i++) {
                Session s = client.newSession();
                sessions.add(s);
                int waiter = i;
                waits.add(s.semaphore(name, 2).acquireAsync().whenComplete((h, t) -> order.add(waiter)));
                awaitKeys(name, i + 3, Duration.ofSeconds(10)); // enqueued before the next one starts
            }
            Thread.sleep(200);
            assertEquals(List.of(), order, "both permits are taken");
            first.unlock();
            LockHandle w0 = waits.get(0).get(5, TimeUnit.SECONDS);
            Thread.sleep(100);
            assertEquals(List.of(0), order, "one permit freed, one waiter in");
            second.unlock();
            LockHandle w1 = waits.get(1).get(5, TimeUnit.SECONDS);
            w1.unlock();
            waits.get(2).get(5, TimeUnit.SECONDS).unlock();
            w0.unlock();
            waits.get(3).get(5, TimeUnit.SECONDS).unlock();
            waits.get(4).get(5, TimeUnit.SECONDS).unlock();
        } finally {
            sessions.forEach(Session::close);
        }
        assertEquals(List.of(0, 1, 2, 3, 4), order);
        assertEquals(0, keys(name));
    }

    /** Redisson's semaphore loses a crashed holder's permit for good; here it comes back with the lease. */
    @Test
    void aCrashedHoldersPermitComesBackWhenItsLeaseExpires() throws Exception {
        String name = "/semaphore-test/crash";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                EtcdLockClient doomed = EtcdLockClient.connect(proxy.endpoint());
                Session a = client.newSession();
                Session b = client.newSession();
                Session waiter = client.newSession()) {
            Session crashing = doomed.newSession(Duration.ofSeconds(2));
            LockHandle lost = crashing.semaphore(name, 3).acquire();
            LockHandle heldA = a.semaphore(name, 3).acquire();
            LockHandle heldB = b.semaphore(name, 3).acquire();
            CompletableFuture<LockHandle> waiting = waiter.semaphore(name, 3).acquireAsync();
            awaitKeys(name, 4, Duration.ofSeconds(10));
            assertFalse(waiting.isDone(), "3 permits held");

            proxy.hang(); // the holder's process is gone as far as etcd can tell: no keep-alive, no unlock
            long hungAt = System.nanoTime();
            LockHandle recovered = waiting.get(10, TimeUnit.SECONDS);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - hungAt);
            System.out.println("the crashed holder's permit came back " + tookMs + " ms after it went silent");
            assertTrue(tookMs < 4_000, "within the 2 s TTL and a little, took " + tookMs + " ms");
            assertTrue(recovered.fencingToken() > lost.fencingToken());
            List<String> left = EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/");
            assertEquals(3, left.size(), "the crashed holder's key is gone: " + left);
            assertFalse(left.contains(lost.key()));
            recovered.unlock();
            heldA.unlock();
            heldB.unlock();
            proxy.close(); // the client's own close then fails fast instead of waiting on a hung member
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aDifferentCountIsAnErrorNotASilentOverride() throws Exception {
        String name = "/semaphore-test/count";
        try (Session three = client.newSession(); Session five = client.newSession();
                Session alsoFive = client.newSession()) {
            LockHandle held = three.semaphore(name, 3).acquire();
            List<KeyValue> stored = EtcdKeys.under(etcd.clientEndpoints(), name + "/");
            assertEquals("3", stored.get(0).getValue().toStringUtf8(), "the count is the holder key's value");

            Semaphore other = five.semaphore(name, 5);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> other.acquire(Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("has 3 permits") && e.getMessage().contains("asked for 5"),
                    e.getMessage());
            // another session: right after a failed call, this one's turn in the process may still be passing on
            assertThrows(IllegalStateException.class, () -> alsoFive.semaphore(name, 5).tryAcquire());
            ExecutionException async = assertThrows(ExecutionException.class,
                    () -> other.acquireAsync().get(5, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, async.getCause());
            assertEquals(1, keys(name), "the refused calls wrote nothing");
            assertTrue(held.isHeld());

            held.unlock();
            assertEquals(0, keys(name), "nothing stored once the last holder left");
            try (LockHandle now = other.acquire(Duration.ofSeconds(5))) {
                assertEquals("5", EtcdKeys.under(etcd.clientEndpoints(), name + "/").get(0).getValue()
                        .toStringUtf8(), "the next acquisition's count is the semaphore's");
                assertThrows(IllegalStateException.class, () -> three.semaphore(name, 3).tryAcquire());
            }
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aNameUsedByAMutexIsNotTakenForASemaphore() {
        String name = "/semaphore-test/mutex";
        try (Session m = client.newSession(); Session s = client.newSession();
                LockHandle lock = m.mutex(name).lock()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> s.semaphore(name, 2).acquire(Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("not a semaphore's"), e.getMessage());
            assertEquals(1, keys(name));
        }
        assertEquals(0, keys(name));
    }

    @Test
    void tryAcquireTakesAFreePermitAndOtherwiseLeavesNothing() {
        String name = "/semaphore-test/try";
        try (Session a = client.newSession(); Session b = client.newSession(); Session c = client.newSession()) {
            Optional<LockHandle> first = a.semaphore(name, 2).tryAcquire();
            Optional<LockHandle> second = b.semaphore(name, 2).tryAcquire();
            assertTrue(first.isPresent() && second.isPresent());
            assertTrue(c.semaphore(name, 2).tryAcquire().isEmpty(), "both permits taken");
            assertEquals(2, keys(name), "the refused tryAcquire left nothing");
            second.get().unlock();
            Optional<LockHandle> third = c.semaphore(name, 2).tryAcquire();
            assertTrue(third.isPresent());
            assertTrue(third.get().fencingToken() > second.get().fencingToken());
            third.get().unlock();
            first.get().unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aSessionHoldsOnePermitOfASemaphoreAtATime() throws Exception {
        String name = "/semaphore-test/one-per-session";
        try (Session s = client.newSession()) {
            Semaphore semaphore = s.semaphore(name, 3);
            LockHandle first = semaphore.acquire();
            assertTrue(semaphore.tryAcquire().isEmpty(), "the session's place is taken, although 2 permits are free");
            CompletableFuture<LockHandle> second = semaphore.acquireAsync(); // waits for the first, in the process
            Thread.sleep(200);
            assertFalse(second.isDone());
            assertEquals(1, keys(name));
            first.unlock();
            second.get(5, TimeUnit.SECONDS).unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void badArgumentsFailFast() {
        try (Session s = client.newSession()) {
            assertThrows(IllegalArgumentException.class, () -> s.semaphore("/semaphore-test/zero", 0));
            assertThrows(IllegalArgumentException.class, () -> s.semaphore("", 2));
            Semaphore semaphore = s.semaphore("/semaphore-test/args", 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> semaphore.acquire(Duration.ZERO));
            assertTrue(e.getMessage().contains("tryAcquire()"), e.getMessage());
            assertEquals(2, semaphore.permits());
            assertEquals("/semaphore-test/args", semaphore.name());
        }
    }
}
